//! The dates people write: review dates in a policy's header, dates typed in a form.

use time::{Date, Month};

/// "November 2024", "Nov 2024", "1 November 2024", "2024-11-01" or "01/11/2024".
pub fn parse_review_date(text: &str) -> Option<Date> {
    parse_any_date(text).filter(|date| crate::input::YEARS.contains(&date.year()))
}

/// A date in any of the forms people write, whatever its year.
pub fn parse_any_date(text: &str) -> Option<Date> {
    let text = text.trim().trim_end_matches('.');
    if let Ok(date) = Date::parse(text, &time::format_description::well_known::Iso8601::DATE) {
        return Some(date);
    }
    let numbers: Vec<&str> = text.split('/').collect();
    if let [d, m, y] = numbers.as_slice() {
        let month = Month::try_from(m.trim().parse::<u8>().ok()?).ok()?;
        return Date::from_calendar_date(y.trim().parse().ok()?, month, d.trim().parse().ok()?)
            .ok();
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let (day, month, year) = match words.as_slice() {
        [month, year] => (1, *month, *year),
        [day, month, year] => (
            day.trim_end_matches(|c: char| c.is_alphabetic())
                .parse()
                .ok()?,
            *month,
            *year,
        ),
        _ => return None,
    };
    let month = month_from_name(month)?;
    Date::from_calendar_date(year.parse().ok()?, month, day).ok()
}

fn month_from_name(name: &str) -> Option<Month> {
    let name = name.to_lowercase();
    let months = [
        Month::January,
        Month::February,
        Month::March,
        Month::April,
        Month::May,
        Month::June,
        Month::July,
        Month::August,
        Month::September,
        Month::October,
        Month::November,
        Month::December,
    ];
    months
        .into_iter()
        .find(|m| name.len() >= 3 && m.to_string().to_lowercase().starts_with(&name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn review_dates_are_read_as_schools_write_them() {
        assert_eq!(
            parse_review_date("November 2024"),
            Some(date!(2024 - 11 - 01))
        );
        assert_eq!(parse_review_date("Nov 2025"), Some(date!(2025 - 11 - 01)));
        assert_eq!(
            parse_review_date("3rd March 2026"),
            Some(date!(2026 - 03 - 03))
        );
        assert_eq!(parse_review_date("2026-09-01"), Some(date!(2026 - 09 - 01)));
        assert_eq!(parse_review_date("01/09/2026"), Some(date!(2026 - 09 - 01)));
        assert_eq!(parse_review_date("soon"), None);
    }
}
