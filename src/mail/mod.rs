//! Email: each message is rendered from a pair of templates (text and HTML) and written to
//! the outbox in the same transaction as the change that caused it, so none is ever lost.

use askama::Template;
use sqlx::PgConnection;
use uuid::Uuid;

/// A rendered email, ready for the outbox.
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl OutgoingEmail {
    pub fn render(
        to: &str,
        subject: String,
        text: &impl Template,
        html: &impl Template,
    ) -> askama::Result<Self> {
        Ok(OutgoingEmail {
            to: to.to_owned(),
            subject,
            text: text.render()?,
            html: html.render()?,
        })
    }
}

/// Queues `email` unless one with the same `dedupe_key` was queued before; true if queued now.
pub async fn queue(
    db: &mut PgConnection,
    school_id: Option<Uuid>,
    dedupe_key: &str,
    email: &OutgoingEmail,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        "insert into outbox (school_id, dedupe_key, to_address, subject, body_text, body_html)
         values ($1, $2, $3, $4, $5, $6)
         on conflict on constraint outbox_dedupe_key_key do nothing",
        school_id,
        dedupe_key,
        email.to,
        email.subject,
        email.text,
        email.html
    )
    .execute(db)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Everything an email about a policy version says, in both of its parts.
pub struct VersionPublished<'a> {
    pub first_name: &'a str,
    pub school_name: &'a str,
    pub policy_name: &'a str,
    pub label: &'a str,
    pub sign_url: &'a str,
}

#[derive(Template)]
#[template(path = "email/version_published.txt")]
pub struct VersionPublishedText<'a> {
    pub email: &'a VersionPublished<'a>,
}

#[derive(Template)]
#[template(path = "email/version_published.html")]
pub struct VersionPublishedHtml<'a> {
    pub email: &'a VersionPublished<'a>,
}

impl VersionPublished<'_> {
    pub fn render(&self, to: &str) -> askama::Result<OutgoingEmail> {
        OutgoingEmail::render(
            to,
            format!(
                "{}: please read and sign the {} ({})",
                self.school_name, self.policy_name, self.label
            ),
            &VersionPublishedText { email: self },
            &VersionPublishedHtml { email: self },
        )
    }
}
