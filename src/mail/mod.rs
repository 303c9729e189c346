//! Email: each message is rendered from a pair of templates (text and HTML) and written to
//! the outbox in the same transaction as the change that caused it, so none is ever lost.

pub mod address;
pub mod sender;
pub mod smtp;

use askama::Template;
use sqlx::PgConnection;
use uuid::Uuid;

/// How an email greets a person: the first word of their full name.
pub fn first_name(full_name: &str) -> &str {
    full_name.split_whitespace().next().unwrap_or(full_name)
}

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

/// Declares an email: its data, and its text and HTML templates rendered from that data.
macro_rules! email {
    ($(#[$doc:meta])* $name:ident, $text:ident = $text_path:literal, $html:ident = $html_path:literal,
     { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        pub struct $name<'a> {
            $(pub $field: $ty,)*
        }

        #[derive(Template)]
        #[template(path = $text_path)]
        struct $text<'a> {
            email: &'a $name<'a>,
        }

        #[derive(Template)]
        #[template(path = $html_path)]
        struct $html<'a> {
            email: &'a $name<'a>,
        }

        impl $name<'_> {
            pub fn render(&self, to: &str, subject: String) -> askama::Result<OutgoingEmail> {
                OutgoingEmail::render(to, subject, &$text { email: self }, &$html { email: self })
            }
        }
    };
}

email!(
    /// To everyone in a policy's audience when a version is published.
    VersionPublished,
    VersionPublishedText = "email/version_published.txt",
    VersionPublishedHtml = "email/version_published.html",
    { first_name: &'a str, school_name: &'a str, policy_name: &'a str, label: &'a str,
      sign_by: Option<&'a str>, sign_url: &'a str }
);

email!(
    /// To the DPOs and SBMs when a policy's review is due soon or overdue.
    ReviewDue,
    ReviewDueText = "email/review_due.txt",
    ReviewDueHtml = "email/review_due.html",
    { first_name: &'a str, school_name: &'a str, policy_name: &'a str, label: &'a str, due: &'a str,
      overdue: bool, link: &'a str }
);

email!(
    /// To someone who still owes a signature; with a new link to create a password if they
    /// have never set one, or their school's own sign-in.
    SignReminder,
    SignReminderText = "email/sign_reminder.txt",
    SignReminderHtml = "email/sign_reminder.html",
    { first_name: &'a str, school_name: &'a str, policy_name: &'a str, label: &'a str,
      published_on: &'a str, sign_by: Option<&'a str>, sign_by_passed: bool, sign_url: &'a str, password_url: Option<&'a str>,
      password_expires: &'a str, school_sign_in: Option<&'a str>, account: &'a str }
);

email!(
    /// To a signer, straight after signing.
    Receipt,
    ReceiptText = "email/receipt.txt",
    ReceiptHtml = "email/receipt.html",
    { first_name: &'a str, school_name: &'a str, policy_name: &'a str, label: &'a str, signed_at: &'a str,
      content_sha256: &'a str, receipt_url: &'a str, reference: &'a str }
);

email!(
    /// A new person's link to set their password.
    Invitation,
    InvitationText = "email/invitation.txt",
    InvitationHtml = "email/invitation.html",
    { first_name: &'a str, school_name: &'a str, link: &'a str, expires: &'a str }
);

email!(
    /// A link to choose a new password.
    PasswordReset,
    PasswordResetText = "email/password_reset.txt",
    PasswordResetHtml = "email/password_reset.html",
    { first_name: &'a str, school_name: &'a str, link: &'a str }
);

email!(
    /// To a school's admins, before (and after) single sign-on's client secret runs out.
    SsoSecretExpiring,
    SsoSecretExpiringText = "email/sso_secret_expiring.txt",
    SsoSecretExpiringHtml = "email/sso_secret_expiring.html",
    { first_name: &'a str, school_name: &'a str, expires: &'a str, expired: bool, link: &'a str }
);

email!(
    /// To an admin who pressed "Send a test email", to see that email works.
    TestEmail,
    TestEmailText = "email/test_email.txt",
    TestEmailHtml = "email/test_email.html",
    { first_name: &'a str, school_name: &'a str, asked_at: &'a str, link: &'a str }
);

email!(
    /// A single-use sign-in link, for people without a password or a school account.
    SignInLink,
    SignInLinkText = "email/sign_in_link.txt",
    SignInLinkHtml = "email/sign_in_link.html",
    { first_name: &'a str, school_name: &'a str, link: &'a str }
);

email!(
    /// To the old address, once an account's email address has changed.
    EmailChanged,
    EmailChangedText = "email/email_changed.txt",
    EmailChangedHtml = "email/email_changed.html",
    { first_name: &'a str, by: &'a str, when: &'a str, new_email: &'a str }
);

email!(
    /// To the new address a person asked for, to confirm it is theirs.
    EmailConfirm,
    EmailConfirmText = "email/email_confirm.txt",
    EmailConfirmHtml = "email/email_confirm.html",
    { first_name: &'a str, link: &'a str, expires: &'a str }
);

email!(
    /// To a person who already has an account, when a school adds their address.
    MembershipOffer,
    MembershipOfferText = "email/membership_offer.txt",
    MembershipOfferHtml = "email/membership_offer.html",
    { school_name: &'a str, link: &'a str }
);

email!(
    /// To each school's DPOs and admins, once a day if anything was sealed: the chain heads.
    ChainHeads,
    ChainHeadsText = "email/chain_heads.txt",
    ChainHeadsHtml = "email/chain_heads.html",
    { lines: &'a str }
);
