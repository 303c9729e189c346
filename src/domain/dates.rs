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

/// A date as typed in the GOV.UK date input: a day, a month (a number or its name) and a
/// year, each in a box of its own.
pub struct DateParts<'a> {
    pub day: &'a str,
    pub month: &'a str,
    pub year: &'a str,
}

impl DateParts<'_> {
    /// The date, or a message in the GOV.UK pattern's words for `what` ("the leaving date").
    pub fn date(&self, what: &str) -> Result<Date, String> {
        let (day, month, year) = (self.day.trim(), self.month.trim(), self.year.trim());
        let missing: Vec<&str> = [("day", day), ("month", month), ("year", year)]
            .into_iter()
            .filter(|(_, part)| part.is_empty())
            .map(|(name, _)| name)
            .collect();
        let what_cap = {
            let mut letters = what.chars();
            letters
                .next()
                .map(|first| first.to_uppercase().chain(letters).collect::<String>())
                .unwrap_or_default()
        };
        match missing.as_slice() {
            [] => {}
            [_, _, _] => return Err(format!("Enter {what}")),
            [one] => return Err(format!("{what_cap} must include a {one}")),
            [first, second] => {
                return Err(format!("{what_cap} must include a {first} and {second}"));
            }
            _ => {}
        }
        if year.len() != 4 || !year.chars().all(|c| c.is_ascii_digit()) {
            return Err("Year must include 4 numbers".to_owned());
        }
        let month = month
            .parse::<u8>()
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .or_else(|| month_from_name(month));
        let date = match (day.parse::<u8>(), month, year.parse::<i32>()) {
            (Ok(day), Some(month), Ok(year)) => Date::from_calendar_date(year, month, day).ok(),
            _ => None,
        };
        date.filter(|d| crate::input::YEARS.contains(&d.year()))
            .ok_or_else(|| format!("{what_cap} must be a real date"))
    }
}

/// The three boxes of a date input as a form holds them: typed, or filled from a date.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DateBoxes {
    pub day: String,
    pub month: String,
    pub year: String,
}

impl DateBoxes {
    /// The boxes filled with `date`, or empty.
    pub fn of(date: Option<Date>) -> DateBoxes {
        date.map(|d| DateBoxes {
            day: d.day().to_string(),
            month: u8::from(d.month()).to_string(),
            year: d.year().to_string(),
        })
        .unwrap_or_default()
    }

    pub fn typed(day: &str, month: &str, year: &str) -> DateBoxes {
        DateBoxes {
            day: day.to_owned(),
            month: month.to_owned(),
            year: year.to_owned(),
        }
    }

    /// For a date that may be left out: None when all three boxes are empty, else the date
    /// or the GOV.UK pattern's message for `what`.
    pub fn optional(&self, what: &str) -> Result<Option<Date>, String> {
        if [&self.day, &self.month, &self.year]
            .iter()
            .all(|part| part.trim().is_empty())
        {
            return Ok(None);
        }
        DateParts {
            day: &self.day,
            month: &self.month,
            year: &self.year,
        }
        .date(what)
        .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_date_in_three_boxes_is_read_or_refused_in_the_gov_uk_words() {
        let parts = |day, month, year| DateParts { day, month, year }.date("the leaving date");
        assert_eq!(parts("31", "8", "2026"), Ok(date!(2026 - 08 - 31)));
        assert_eq!(parts(" 1 ", "Sept", "2026"), Ok(date!(2026 - 09 - 01)));
        assert_eq!(parts("", "", ""), Err("Enter the leaving date".to_owned()));
        assert_eq!(
            parts("31", "", "2026"),
            Err("The leaving date must include a month".to_owned())
        );
        assert_eq!(
            parts("", "", "2026"),
            Err("The leaving date must include a day and month".to_owned())
        );
        assert_eq!(
            parts("31", "2", "2026"),
            Err("The leaving date must be a real date".to_owned())
        );
        assert_eq!(
            parts("1", "2", "26"),
            Err("Year must include 4 numbers".to_owned())
        );
        assert_eq!(
            parts("1", "2", "1850"),
            Err("The leaving date must be a real date".to_owned())
        );
    }

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
