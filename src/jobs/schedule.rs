//! When someone who owes a signature is reminded: a first reminder some days after they came
//! to owe it, then weekly; with a sign-by date, also 3 days and 1 day before it and on the
//! day. Never more than the cap, and the weekly ones give way to the sign-by ones still to
//! come, so the cap never swallows the reminders that matter most.

use time::{Date, Duration};

/// How signer reminders are spaced.
#[derive(Clone, Copy, Debug)]
pub struct ReminderPolicy {
    /// Days after publishing before the first reminder.
    pub first_after_days: i64,
    /// Reminders per person and version, at most.
    pub cap: i64,
}

impl Default for ReminderPolicy {
    fn default() -> Self {
        ReminderPolicy {
            first_after_days: 7,
            cap: 4,
        }
    }
}

/// The days before the sign-by date on which everyone still owing is reminded.
const BEFORE_SIGN_BY: [i64; 3] = [3, 1, 0];

/// A signature owed, as the schedule needs it.
pub struct Owing {
    /// The day the person came to owe it: the day it was published, or they joined.
    pub since: Date,
    pub sign_by: Option<Date>,
    /// Scheduled reminders sent so far for this version.
    pub sent: i64,
}

/// The reminder due, if one is.
#[derive(Debug, PartialEq, Eq)]
pub enum Due {
    /// The weekly reminder: 0 for the first.
    Weekly(i64),
    /// `days` before the sign-by date (0: on the day).
    SignBy { sign_by: Date, days: i64 },
}

impl Due {
    /// What makes it once only, after the version and membership in the dedupe key. The
    /// weekly ones keep the number they always had.
    pub fn key(&self) -> String {
        match self {
            Due::Weekly(number) => number.to_string(),
            Due::SignBy { sign_by, days } => format!("by-{sign_by}-{days}"),
        }
    }
}

/// The reminder due on `today`: the latest of the schedule's days up to today. Its dedupe
/// key makes it go once, and a day missed is caught up the next.
pub fn due(owing: &Owing, today: Date, policy: ReminderPolicy) -> Option<Due> {
    if owing.sent >= policy.cap {
        return None;
    }
    // The sign-by reminders: only after the day the person came to owe it, when the
    // published email (or the invitation) has just told them.
    let sign_by_days: Vec<(Date, i64)> = owing
        .sign_by
        .map(|sign_by| {
            BEFORE_SIGN_BY
                .iter()
                .map(|days| (sign_by - Duration::days(*days), *days))
                .filter(|(day, _)| *day > owing.since)
                .collect()
        })
        .unwrap_or_default();
    let still_to_come = sign_by_days.iter().filter(|(day, _)| *day > today).count();
    let sign_by_due = sign_by_days
        .iter()
        .filter(|(day, _)| *day <= today)
        .max_by_key(|(day, _)| *day)
        .zip(owing.sign_by)
        .map(|((day, days), sign_by)| {
            (
                *day,
                Due::SignBy {
                    sign_by,
                    days: *days,
                },
            )
        });
    let first = owing.since + Duration::days(policy.first_after_days);
    let weekly_due = (today >= first)
        .then(|| {
            let number = (today - first).whole_days() / 7;
            (first + Duration::weeks(number), Due::Weekly(number))
        })
        // Not in the last days before the sign-by date, which have reminders of their own,
        // and only while the cap leaves room for those still to come.
        .filter(|(day, _)| {
            owing.sign_by.is_none_or(|sign_by| {
                *day < sign_by - Duration::days(BEFORE_SIGN_BY[0]) || *day > sign_by
            })
        })
        .filter(|_| owing.sent + (still_to_come as i64) < policy.cap);
    match (weekly_due, sign_by_due) {
        (Some((weekly_day, weekly)), Some((sign_by_day, _))) if weekly_day > sign_by_day => {
            Some(weekly)
        }
        (_, Some((_, sign_by))) => Some(sign_by),
        (weekly, None) => weekly.map(|(_, due)| due),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const POLICY: ReminderPolicy = ReminderPolicy {
        first_after_days: 7,
        cap: 4,
    };
    const PUBLISHED: Date = date!(2026 - 09 - 01);

    /// The days from publishing on which a reminder goes, if each is sent when due.
    fn days_sent(sign_by: Option<Date>, policy: ReminderPolicy, until: i64) -> Vec<i64> {
        let mut sent = vec![];
        let mut keys = vec![];
        for offset in 0..=until {
            let today = PUBLISHED + Duration::days(offset);
            let owing = Owing {
                since: PUBLISHED,
                sign_by,
                sent: sent.len() as i64,
            };
            if let Some(due) = due(&owing, today, policy)
                && !keys.contains(&due.key())
            {
                keys.push(due.key());
                sent.push(offset);
            }
        }
        sent
    }

    #[test]
    fn without_a_sign_by_date_reminders_go_weekly_up_to_the_cap() {
        assert_eq!(days_sent(None, POLICY, 90), vec![7, 14, 21, 28]);
    }

    #[test]
    fn a_sign_by_date_brings_reminders_3_days_and_1_day_before_and_on_the_day() {
        let sign_by = Some(PUBLISHED + Duration::days(30));
        // The weekly ones give way to the three before the date, within the cap of four.
        assert_eq!(days_sent(sign_by, POLICY, 90), vec![7, 27, 29, 30]);
        let roomy = ReminderPolicy { cap: 8, ..POLICY };
        // No weekly reminder on day 28, inside the last three days; weekly again once overdue.
        assert_eq!(
            days_sent(sign_by, roomy, 90),
            vec![7, 14, 21, 27, 29, 30, 35, 42]
        );
    }

    #[test]
    fn a_close_sign_by_date_is_reminded_before_the_first_week_is_out() {
        let sign_by = Some(PUBLISHED + Duration::days(4));
        assert_eq!(days_sent(sign_by, POLICY, 30), vec![1, 3, 4, 7]);
        // Published on the day itself: nothing the same day, then weekly.
        assert_eq!(days_sent(Some(PUBLISHED), POLICY, 30), vec![7, 14, 21, 28]);
    }

    #[test]
    fn a_day_missed_is_caught_up_once_and_the_cap_holds() {
        let owing = Owing {
            since: PUBLISHED,
            sign_by: Some(PUBLISHED + Duration::days(30)),
            sent: 1,
        };
        // The job did not run on day 27: on day 28 the "3 days before" goes instead.
        assert_eq!(
            due(&owing, PUBLISHED + Duration::days(28), POLICY),
            Some(Due::SignBy {
                sign_by: PUBLISHED + Duration::days(30),
                days: 3
            })
        );
        let capped = Owing { sent: 4, ..owing };
        assert_eq!(due(&capped, PUBLISHED + Duration::days(30), POLICY), None);
        let none = ReminderPolicy { cap: 0, ..POLICY };
        assert_eq!(days_sent(None, none, 60), Vec::<i64>::new());
    }
}
