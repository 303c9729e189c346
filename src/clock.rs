//! Showing times to people: stored in UTC, shown in UK time in the way GOV.UK writes them.
//! UK civil time is GMT, or BST from 01:00 UTC on the last Sunday of March to 01:00 UTC on
//! the last Sunday of October (the Summer Time Order 2002), so one zone needs no tz database.

use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

fn last_sunday(year: i32, month: Month) -> Date {
    let mut day = Date::from_calendar_date(year, month, month.length(year)).unwrap_or(Date::MIN);
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day().unwrap_or(Date::MIN);
    }
    day
}

/// The moment in UK civil time.
pub fn uk(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    let year = at.year();
    let starts = last_sunday(year, Month::March).midnight().assume_utc() + time::Duration::hours(1);
    let ends = last_sunday(year, Month::October).midnight().assume_utc() + time::Duration::hours(1);
    let offset = if at >= starts && at < ends {
        UtcOffset::from_hms(1, 0, 0).unwrap_or(UtcOffset::UTC)
    } else {
        UtcOffset::UTC
    };
    at.to_offset(offset)
}

/// The moment a day starts in UK civil time.
pub fn uk_midnight(date: Date) -> OffsetDateTime {
    // The clocks change at 01:00 UTC, so midnight's offset is that of 00:00 UTC on the day.
    date.midnight()
        .assume_offset(uk(date.midnight().assume_utc()).offset())
}

/// The time the session rules (idle timeout, absolute lifetime, the refresh of the idle timer)
/// go by: the system's, or, for tests of time, a clock that moves only when told.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<std::sync::Arc<std::sync::atomic::AtomicI64>>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Clock(None)
    }

    /// A clock standing at the system's time now, which moves only by `advance`.
    pub fn manual() -> Self {
        Clock(Some(std::sync::Arc::new(
            std::sync::atomic::AtomicI64::new(OffsetDateTime::now_utc().unix_timestamp()),
        )))
    }

    /// Seconds since 1970, UTC.
    pub fn unix_now(&self) -> i64 {
        match &self.0 {
            None => OffsetDateTime::now_utc().unix_timestamp(),
            Some(at) => at.load(std::sync::atomic::Ordering::SeqCst),
        }
    }

    /// Moves a manual clock on; the system's cannot be moved.
    pub fn advance(&self, by: time::Duration) {
        if let Some(at) = &self.0 {
            at.fetch_add(by.whole_seconds(), std::sync::atomic::Ordering::SeqCst);
        }
    }
}

pub fn today_uk() -> Date {
    uk(OffsetDateTime::now_utc()).date()
}

/// "23 November 2026 at 2:05pm" in UK time.
pub fn date_time(at: OffsetDateTime) -> String {
    let local = uk(at);
    let (hour, minute) = (local.hour(), local.minute());
    let h12 = match hour % 12 {
        0 => 12,
        h => h,
    };
    let half = if hour < 12 { "am" } else { "pm" };
    format!(
        "{} {} {} at {h12}:{minute:02}{half}",
        local.day(),
        local.month(),
        local.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn uk_time_follows_british_summer_time() {
        assert_eq!(
            date_time(datetime!(2026-01-15 13:05 UTC)),
            "15 January 2026 at 1:05pm"
        );
        assert_eq!(
            date_time(datetime!(2026-07-01 23:30 UTC)),
            "2 July 2026 at 12:30am"
        );
        // 2026: BST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(
            date_time(datetime!(2026-03-29 00:59 UTC)),
            "29 March 2026 at 12:59am"
        );
        assert_eq!(
            date_time(datetime!(2026-03-29 01:00 UTC)),
            "29 March 2026 at 2:00am"
        );
        assert_eq!(
            date_time(datetime!(2026-10-25 00:59 UTC)),
            "25 October 2026 at 1:59am"
        );
        assert_eq!(
            date_time(datetime!(2026-10-25 01:00 UTC)),
            "25 October 2026 at 1:00am"
        );
    }

    #[test]
    fn a_uk_day_starts_at_its_own_midnight() {
        use time::macros::date;
        assert_eq!(
            uk_midnight(date!(2026 - 01 - 15)),
            datetime!(2026-01-15 00:00 UTC)
        );
        assert_eq!(
            uk_midnight(date!(2026 - 07 - 01)),
            datetime!(2026-06-30 23:00 UTC)
        );
        // The days the clocks change: midnight is before the change on both.
        assert_eq!(
            uk_midnight(date!(2026 - 03 - 29)),
            datetime!(2026-03-29 00:00 UTC)
        );
        assert_eq!(
            uk_midnight(date!(2026 - 10 - 25)),
            datetime!(2026-10-24 23:00 UTC)
        );
    }
}
