//! A reminder to sign, queued with what the person needs to get in: someone who has never
//! set a password gets a fresh link to create one (voiding any sent before), and in a school
//! that signs in through its own provider, the link to that sign-in instead. The SBM's
//! chase and the weekly job both queue through here, each in its caller's transaction.

use sqlx::{Connection, PgConnection};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::tokens::{INVITATION_LIFETIME, issue};
use crate::paths;
use crate::{
    clock,
    domain::{
        render,
        statuses::{SsoProvider, TokenPurpose},
    },
    mail::{self, OutgoingEmail, SignReminder},
};

/// The version a reminder is about.
pub struct Owed<'a> {
    pub version_id: Uuid,
    pub policy_name: &'a str,
    pub label: &'a str,
    pub published_on: Date,
    pub sign_by: Option<Date>,
    /// The date to sign by has passed, on the day the reminder is for.
    pub overdue: bool,
}

/// Who sent it: the daily job, or the SBM who pressed the button.
#[derive(Clone, Copy)]
pub enum SentBy {
    Schedule,
    Chase(Uuid),
}

/// What the check page shows in place of a person's new token: each gets their own.
const PREVIEW_TOKEN: &str = "a-new-link-for-each-person";

struct Person {
    user_id: Uuid,
    email: String,
    full_name: String,
    never_set_password: bool,
    slug: String,
    school_name: String,
    provider: Option<SsoProvider>,
}

async fn person(
    db: &mut PgConnection,
    school_id: Uuid,
    membership_id: Uuid,
) -> sqlx::Result<Option<Person>> {
    sqlx::query_as!(
        Person,
        r#"select u.id as user_id, u.email, u.full_name,
                  u.password_hash is null as "never_set_password!",
                  s.slug, s.name as school_name, o.provider as "provider?: SsoProvider"
           from memberships m
           join users u on u.id = m.user_id
           join schools s on s.id = m.school_id
           left join school_sso o on o.school_id = s.id
           where m.id = $1 and m.school_id = $2"#,
        membership_id,
        school_id
    )
    .fetch_optional(db)
    .await
}

/// How the person gets in, if a reminder must say: a new password link, or the school's
/// own sign-in. `token` is the new link's secret, once issued.
enum Access<'a> {
    Plain,
    CreatePassword { token: &'a str },
    SchoolAccount(SsoProvider),
}

fn access<'a>(person: &Person, token: &'a str) -> Access<'a> {
    match person.provider {
        Some(provider) if person.never_set_password => Access::SchoolAccount(provider),
        None if person.never_set_password => Access::CreatePassword { token },
        _ => Access::Plain,
    }
}

fn render(
    base_url: &str,
    person: &Person,
    owed: &Owed,
    access: Access,
) -> askama::Result<OutgoingEmail> {
    let sign_url = format!(
        "{base_url}{}",
        paths::Sign::new(&person.slug, owed.version_id)
    );
    let published_on = render::long_date(owed.published_on);
    let sign_by = owed.sign_by.map(render::long_date);
    let (password_url, expires) = match access {
        Access::CreatePassword { token } => (
            Some(format!("{base_url}{}", paths::SetPassword::new(token))),
            clock::date_time(OffsetDateTime::now_utc() + INVITATION_LIFETIME),
        ),
        _ => (None, String::new()),
    };
    let (school_sign_in, account) = match access {
        Access::SchoolAccount(provider) => (
            Some(format!(
                "{base_url}{}",
                paths::SchoolSignIn::new(&person.slug)
            )),
            provider.account(),
        ),
        _ => (None, ""),
    };
    SignReminder {
        first_name: mail::first_name(&person.full_name),
        school_name: &person.school_name,
        policy_name: owed.policy_name,
        label: owed.label,
        published_on: &published_on,
        sign_by: sign_by.as_deref(),
        sign_by_passed: owed.overdue,
        sign_url: &sign_url,
        password_url: password_url.as_deref(),
        password_expires: &expires,
        school_sign_in: school_sign_in.as_deref(),
        account,
    }
    .render(
        &person.email,
        format!(
            "{}: reminder to sign the {} ({})",
            person.school_name, owed.policy_name, owed.label
        ),
    )
}

/// The reminder the person would get, as the check page shows it: a new password link is
/// shown by a placeholder, and nothing is issued. `None` if they are not in the school.
pub async fn preview(
    db: &mut PgConnection,
    base_url: &str,
    school_id: Uuid,
    membership_id: Uuid,
    owed: &Owed<'_>,
) -> anyhow::Result<Option<OutgoingEmail>> {
    let Some(person) = person(db, school_id, membership_id).await? else {
        return Ok(None);
    };
    Ok(Some(render(
        base_url,
        &person,
        owed,
        access(&person, PREVIEW_TOKEN),
    )?))
}

/// Queues the person's reminder under `dedupe_key`, and records it, unless one was queued
/// under that key before; true if queued now. A new password link voids the person's open
/// invitation and reset links, except those of today's other reminders, and is only issued
/// if the email is queued.
pub async fn queue(
    db: &mut PgConnection,
    base_url: &str,
    school_id: Uuid,
    membership_id: Uuid,
    owed: &Owed<'_>,
    dedupe_key: &str,
    sent_by: SentBy,
) -> anyhow::Result<bool> {
    let Some(person) = person(db, school_id, membership_id).await? else {
        return Ok(false);
    };
    // A savepoint: if another worker queued this reminder first, the links stay as they were.
    let mut step = db.begin().await?;
    let mut token = String::new();
    let mut token_id = None;
    if let Access::CreatePassword { .. } = access(&person, "") {
        // Earlier links stop working; the other reminders of today (one per policy) keep theirs.
        sqlx::query!(
            "update account_tokens t set used_at = now()
             where t.user_id = $1 and t.used_at is null and t.purpose in ('invite', 'reset')
               and not exists (select 1 from reminders r where r.token_id = t.id
                                 and (r.reminded_at at time zone 'Europe/London')::date = $2)",
            person.user_id,
            clock::today_uk()
        )
        .execute(&mut *step)
        .await?;
        let (id, secret) = issue(
            &mut step,
            person.user_id,
            TokenPurpose::Invite,
            INVITATION_LIFETIME,
        )
        .await?;
        token_id = Some(id);
        token = secret;
    }
    let email = render(base_url, &person, owed, access(&person, &token))?;
    if !mail::queue(&mut step, Some(school_id), dedupe_key, &email).await? {
        step.rollback().await?;
        return Ok(false);
    }
    let (kind, by) = match sent_by {
        SentBy::Schedule => ("scheduled", None),
        SentBy::Chase(user_id) => ("chase", Some(user_id)),
    };
    sqlx::query!(
        "insert into reminders (school_id, membership_id, version_id, kind, sent_by, token_id)
         values ($1, $2, $3, $4, $5, $6)",
        school_id,
        membership_id,
        owed.version_id,
        kind,
        by,
        token_id
    )
    .execute(&mut *step)
    .await?;
    step.commit().await?;
    Ok(true)
}
