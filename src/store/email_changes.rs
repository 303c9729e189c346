//! Changing an account's email address, as stored: the account as the rules see it, the
//! change an SBM or admin makes, the note of how an account was activated, and each change
//! kept in `email_changes`. The person's own change, confirmed from the new address, is the
//! account page's (`auth::email_change`).

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::tokens;
use crate::{
    audit::{self, Event},
    clock,
    db::unique_violation,
    domain::statuses::EmailChangeHow,
    mail::{self, EmailChanged, first_name},
};

/// How long the link to confirm a new address works.
pub const CONFIRM_LIFETIME: Duration = Duration::hours(24);

/// What decides who may change an account's address.
pub struct Account {
    pub email: String,
    pub full_name: String,
    /// A password was ever set, or the person ever signed in.
    pub activated: bool,
    /// Every membership of theirs, in any school, holds the signer role at most.
    pub only_signer: bool,
    /// How many schools they belong to.
    pub schools: i64,
}

impl Account {
    /// Whether an SBM may correct the address without asking anyone: the person has never
    /// activated, so nobody's account is taken by it, and holds no role beyond signer.
    pub fn correctable(&self) -> bool {
        !self.activated && self.only_signer && self.schools <= 1
    }
}

pub async fn account(db: &mut PgConnection, user_id: Uuid) -> sqlx::Result<Account> {
    sqlx::query_as!(
        Account,
        r#"select u.email, u.full_name,
                  (u.activated_at is not null or u.password_hash is not null) as "activated!",
                  not exists (select 1 from memberships m
                              where m.user_id = u.id and not (m.roles <@ array['signer']::text[]))
                    as "only_signer!",
                  (select count(*) from memberships m where m.user_id = u.id) as "schools!"
           from users u where u.id = $1"#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// The address is already another account's.
/// What a change of address did.
#[derive(Debug, PartialEq, Eq)]
pub enum Switched<T> {
    /// Made: with the old address, or the change's id.
    Made(T),
    /// Another account already uses the new address; nothing changed.
    Taken,
}

pub const TAKEN: &str = "Another account already uses this email address";

pub async fn taken(db: &mut PgConnection, user_id: Uuid, email: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from users where lower(email) = lower($1) and id <> $2) as "taken!""#,
        email,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Moves the account to `new_email`, in the caller's transaction: the person's sessions end
/// and every link they were sent dies. Returns the old address; the caller records the change.
pub async fn switch(
    db: &mut PgConnection,
    user_id: Uuid,
    new_email: &str,
) -> anyhow::Result<Switched<String>> {
    if taken(db, user_id, new_email).await? {
        return Ok(Switched::Taken);
    }
    let old = sqlx::query_scalar!("select email from users where id = $1 for update", user_id)
        .fetch_one(&mut *db)
        .await?;
    let updated = sqlx::query!(
        "update users set email = $2, auth_epoch = auth_epoch + 1 where id = $1",
        user_id,
        new_email
    )
    .execute(&mut *db)
    .await;
    match updated {
        Err(err) if unique_violation(&err).as_deref() == Some("users_email_key") => {
            return Ok(Switched::Taken);
        }
        other => other?,
    };
    tokens::void_all(db, user_id).await?;
    Ok(Switched::Made(old))
}

/// Tells the old address what happened, so a change nobody expected is noticed.
pub async fn tell_old_address(
    db: &mut PgConnection,
    change_id: Uuid,
    old_email: &str,
    new_email: &str,
    full_name: &str,
    by: &str,
) -> anyhow::Result<()> {
    let when = clock::date_time(OffsetDateTime::now_utc());
    let message = EmailChanged {
        first_name: first_name(full_name),
        by,
        when: &when,
        new_email,
    }
    .render(
        old_email,
        "The email address of your AUP Portal account was changed".to_owned(),
    )?;
    mail::queue(db, None, &format!("email-changed:{change_id}"), &message).await?;
    Ok(())
}

/// What a manager asks for: the account, its new address, and who asks, in which school.
pub struct ManagerChange<'a> {
    pub user_id: Uuid,
    pub new_email: &'a str,
    pub how: EmailChangeHow,
    pub actor: Uuid,
    pub actor_name: &'a str,
    pub school_id: Uuid,
    pub school_name: &'a str,
    /// The membership whose page it was done from, for the audit event.
    pub membership_id: Uuid,
}

/// An SBM's correction, or an admin's change, applied at once in the caller's transaction.
/// A correction sends the invitation again, to the right address; an admin's change tells
/// the old address. The caller has checked that the actor may make it.
pub async fn change_by_manager(
    db: &mut PgConnection,
    change: &ManagerChange<'_>,
    base_url: &str,
) -> anyhow::Result<Switched<Uuid>> {
    let before = account(db, change.user_id).await?;
    let old = match switch(db, change.user_id, change.new_email).await? {
        Switched::Made(old) => old,
        Switched::Taken => return Ok(Switched::Taken),
    };
    let change_id = sqlx::query_scalar!(
        "insert into email_changes (user_id, old_email, new_email, how, changed_by, school_id, confirmed_at)
         values ($1, $2, $3, $4, $5, $6, now()) returning id",
        change.user_id,
        old,
        change.new_email,
        change.how.as_str(),
        change.actor,
        change.school_id
    )
    .fetch_one(&mut *db)
    .await?;
    audit::record(
        &mut *db,
        Some(change.school_id),
        Some(change.actor),
        &Event::EmailChanged {
            membership_id: Some(change.membership_id),
            email_change: change_id,
            how: change.how,
        },
    )
    .await?;
    match change.how {
        EmailChangeHow::Correction => {
            tokens::invite(db, change.user_id, change.school_id, base_url).await?
        }
        EmailChangeHow::Admin | EmailChangeHow::Own => {
            let by = format!(
                "by {}, an administrator of {}",
                change.actor_name, change.school_name
            );
            tell_old_address(
                db,
                change_id,
                &old,
                change.new_email,
                &before.full_name,
                &by,
            )
            .await?;
        }
    }
    Ok(Switched::Made(change_id))
}

/// "Activated after an email change by Priya Shah on 1 December 2026 at 9:05am": for a person
/// who first set a password after a manager corrected their address, since whoever chose the
/// address could have read the invitation. Or "Activated on … by a link handed over by …",
/// when their first password came from a link the SBM gave them in person.
pub async fn activation_note(db: &mut PgConnection, user_id: Uuid) -> sqlx::Result<Option<String>> {
    let handed = sqlx::query!(
        r#"select iss.full_name as by_name, e.at
           from account_tokens t
           join audit_events e on e.action = 'password_set' and e.subject = t.id::text
           join users iss on iss.id = t.issued_by
           where t.user_id = $1 and t.purpose = 'handover'
           order by e.at limit 1"#,
        user_id
    )
    .fetch_optional(&mut *db)
    .await?;
    if let Some(r) = handed {
        return Ok(Some(format!(
            "Activated on {} by a link handed over by {}",
            clock::date_time(r.at),
            r.by_name
        )));
    }
    let row = sqlx::query!(
        r#"select cb.full_name as by_name, ec.confirmed_at as "at!"
           from email_changes ec
           join users u on u.id = ec.user_id
           join users cb on cb.id = ec.changed_by
           where ec.user_id = $1 and ec.how = 'correction'
             and u.activated_at is not null and ec.confirmed_at <= u.activated_at
           order by ec.confirmed_at desc limit 1"#,
        user_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        format!(
            "Activated after an email change by {} on {}",
            r.by_name,
            clock::date_time(r.at)
        )
    }))
}
