//! The audit trail: who did what, when, in which school. Rows are append-only in the
//! database; details never hold names or email addresses.
//!
//! An event is a variant of [`Event`] with its fields. A row keeps the variant's name as
//! `action`, one field as `subject` (the thing it was done to) and the others as the JSON
//! `details`. Reading a row back gives the same variant, and [`Logged::sentence`] says it
//! in words from one exhaustive match.

use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::{
    groups::{Group, audience_text},
    roles::Role,
    statuses::{EmailChangeHow, TokenPurpose},
};

pub use crate::domain::sign_ins::{Doing, SignInStep, SignInWith};

/// Something that happened. A field renamed `subject` is kept in the row's subject
/// column, not in its details.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Event {
    // A person's own account.
    SignIn {
        with: SignInWith,
    },
    SignInFailed {
        at: Option<SignInStep>,
    },
    SignInRefusedLocked,
    /// A sign-in through the school's provider that the portal did not accept.
    SingleSignOnRefused {
        reason: String,
    },
    /// A provider account linked to this person's account.
    SingleSignOnLinked {
        issuer: String,
        by_email: bool,
    },
    AccountLocked,
    ReauthenticationFailed {
        doing: Doing,
    },
    ReauthenticationRefusedLocked {
        doing: Doing,
    },
    PasswordChanged,
    PasswordResetRequested,
    SignInLinkRequested,
    PasswordSet {
        #[serde(rename = "subject", skip_serializing)]
        token_id: Uuid,
        by: TokenPurpose,
    },
    SignedOutEverywhere,
    TwoFactorEnabled,
    EmailChangeRequested {
        email_change: Uuid,
    },
    EmailChanged {
        /// The membership whose page a manager changed it from; none for one's own.
        #[serde(rename = "subject", skip_serializing, default)]
        membership_id: Option<Uuid>,
        email_change: Uuid,
        how: EmailChangeHow,
    },
    MembershipAccepted {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
    },
    MembershipDeclined {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
    },
    AccessDenied {
        #[serde(rename = "subject", skip_serializing)]
        path: String,
    },
    // The school's admins.
    AdminCreated {
        #[serde(rename = "subject", skip_serializing)]
        user_id: Uuid,
    },
    SettingChanged {
        require_two_factor: bool,
    },
    SingleSignOnSetUp {
        provider: crate::domain::statuses::SsoProvider,
        issuer: String,
    },
    SingleSignOnRemoved,
    PasswordsSwitched {
        off: bool,
    },
    EmailRetried {
        #[serde(rename = "subject", skip_serializing)]
        email_id: Uuid,
    },
    // People and their evidence.
    PersonAdded {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
        roles: Vec<Role>,
        group: Group,
        pending: bool,
    },
    PersonEdited {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
    },
    RolesChanged {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
        from: Vec<Role>,
        to: Vec<Role>,
    },
    PersonLeft {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
        /// The leaving date, as 2026-08-31; none in events from before it was asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        left_on: Option<String>,
    },
    PersonReactivated {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
    },
    /// The SBM made a single-use invitation link to give the person in person.
    InvitationHandedOver {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
    },
    PersonInvited {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
    },
    PeopleImported {
        added: usize,
        changed: usize,
        unchanged: usize,
        /// Leavers the SBM ticked; imports before leavers were proposed have none.
        #[serde(default)]
        left: usize,
    },
    PaperSignatureRecorded {
        #[serde(rename = "subject", skip_serializing)]
        agreement_id: Uuid,
        version_id: Uuid,
        membership_id: Uuid,
        scan_id: Option<Uuid>,
        user_id: Uuid,
    },
    ScanDownloaded {
        #[serde(rename = "subject", skip_serializing)]
        scan_id: Uuid,
    },
    SignersChased {
        version_id: Uuid,
        reminded: usize,
        skipped: usize,
    },
    DashboardExported {
        #[serde(rename = "subject", skip_serializing)]
        version_id: Uuid,
        rows: usize,
    },
    EvidenceViewed {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
    },
    /// The audit log, as filtered, downloaded as a spreadsheet.
    AuditLogExported {
        rows: usize,
    },
    /// The people list, as filtered, downloaded as a spreadsheet.
    PeopleExported {
        rows: usize,
    },
    EvidenceExported {
        #[serde(rename = "subject", skip_serializing)]
        membership_id: Uuid,
        agreements: usize,
    },
    /// A signature from before agreements became their own audit record; the log shows
    /// online signatures from `agreements` as this event too.
    AgreementSigned {
        #[serde(rename = "subject", skip_serializing)]
        agreement_id: Uuid,
        version_id: Uuid,
    },
    // Policies, each event naming its policy in the subject.
    PolicyCreated {
        #[serde(rename = "subject", skip_serializing)]
        policy_name: String,
        policy_id: Uuid,
    },
    AudienceChanged {
        #[serde(rename = "subject", skip_serializing)]
        policy_name: String,
        policy_id: Uuid,
        audience: Vec<Group>,
    },
    VersionCreated {
        #[serde(rename = "subject", skip_serializing)]
        policy_name: String,
        policy_id: Uuid,
        version_id: Uuid,
        label: String,
        /// The label of the version it was copied from; none for a blank one.
        from: Option<String>,
    },
    /// The privacy notice for staff put in the school's words, or back to the default.
    PrivacyNoticeChanged {
        default: bool,
    },
    VersionImported {
        #[serde(rename = "subject", skip_serializing)]
        policy_name: String,
        policy_id: Uuid,
        version_id: Uuid,
        label: String,
    },
    VersionEdited {
        #[serde(rename = "subject", skip_serializing)]
        policy_name: String,
        policy_id: Uuid,
        version_id: Uuid,
        label: String,
    },
    VersionDeleted {
        #[serde(rename = "subject", skip_serializing)]
        policy_name: String,
        policy_id: Uuid,
        version_id: Uuid,
        label: String,
    },
    VersionPublished {
        policy_id: Uuid,
        version_id: Uuid,
        label: String,
        content_sha256: String,
        superseded: Option<Uuid>,
        notified: usize,
        audience: Vec<Group>,
        /// The date everyone was asked to sign by, as 2027-01-31, if one was set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sign_by: Option<String>,
    },
    /// The date a published version should be signed by, set or moved (as 2027-01-31).
    SignByDateSet {
        #[serde(rename = "subject", skip_serializing)]
        policy_name: String,
        policy_id: Uuid,
        version_id: Uuid,
        label: String,
        sign_by: String,
        previous: Option<String>,
    },
}

impl Event {
    /// What the row's subject column holds: the thing the event was done to.
    fn subject(&self) -> String {
        match self {
            Event::SignIn { .. }
            | Event::SignInFailed { .. }
            | Event::SignInRefusedLocked
            | Event::SingleSignOnRefused { .. }
            | Event::SingleSignOnLinked { .. }
            | Event::SingleSignOnSetUp { .. }
            | Event::SingleSignOnRemoved
            | Event::PasswordsSwitched { .. }
            | Event::AccountLocked
            | Event::ReauthenticationFailed { .. }
            | Event::ReauthenticationRefusedLocked { .. }
            | Event::PasswordChanged
            | Event::PasswordResetRequested
            | Event::SignInLinkRequested
            | Event::SignedOutEverywhere
            | Event::TwoFactorEnabled
            | Event::EmailChangeRequested { .. }
            | Event::PeopleImported { .. }
            | Event::AuditLogExported { .. }
            | Event::PeopleExported { .. }
            | Event::PrivacyNoticeChanged { .. } => String::new(),
            Event::EmailChanged { membership_id, .. } => {
                membership_id.map(|id| id.to_string()).unwrap_or_default()
            }
            Event::SettingChanged { .. } => "require_two_factor".to_owned(),
            Event::PasswordSet { token_id: id, .. }
            | Event::MembershipAccepted { membership_id: id }
            | Event::MembershipDeclined { membership_id: id }
            | Event::AdminCreated { user_id: id }
            | Event::EmailRetried { email_id: id }
            | Event::PersonAdded {
                membership_id: id, ..
            }
            | Event::PersonEdited { membership_id: id }
            | Event::RolesChanged {
                membership_id: id, ..
            }
            | Event::PersonLeft {
                membership_id: id, ..
            }
            | Event::PersonReactivated { membership_id: id }
            | Event::PersonInvited { membership_id: id }
            | Event::InvitationHandedOver { membership_id: id }
            | Event::PaperSignatureRecorded {
                agreement_id: id, ..
            }
            | Event::ScanDownloaded { scan_id: id }
            | Event::SignersChased { version_id: id, .. }
            | Event::DashboardExported { version_id: id, .. }
            | Event::EvidenceViewed { membership_id: id }
            | Event::EvidenceExported {
                membership_id: id, ..
            }
            | Event::AgreementSigned {
                agreement_id: id, ..
            }
            | Event::VersionPublished { version_id: id, .. } => id.to_string(),
            Event::AccessDenied { path } => path.clone(),
            Event::PolicyCreated { policy_name, .. }
            | Event::AudienceChanged { policy_name, .. }
            | Event::VersionCreated { policy_name, .. }
            | Event::VersionImported { policy_name, .. }
            | Event::VersionEdited { policy_name, .. }
            | Event::VersionDeleted { policy_name, .. }
            | Event::SignByDateSet { policy_name, .. } => policy_name.clone(),
        }
    }

    /// The row as stored: action, subject and details.
    pub fn row(&self) -> sqlx::Result<Row> {
        let mut details = serde_json::to_value(self).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let action = details
            .as_object_mut()
            .and_then(|fields| fields.remove("action"))
            .and_then(|action| action.as_str().map(str::to_owned))
            .ok_or_else(|| sqlx::Error::Encode("an audit event without its action".into()))?;
        Ok(Row {
            action,
            subject: self.subject(),
            details,
        })
    }

    /// The event in words, as the audit log and a policy's history show it.
    fn sentence(&self) -> String {
        match self {
            Event::SignIn { with } => match with {
                SignInWith::Password => "Signed in with a password".to_owned(),
                SignInWith::PasswordAndCode => {
                    "Signed in with a password and a code from an authenticator app".to_owned()
                }
                SignInWith::PasswordAndRecoveryCode => {
                    "Signed in with a password and a recovery code".to_owned()
                }
                SignInWith::PasswordAndNewCode => {
                    "Signed in, setting up two-step sign-in on the way".to_owned()
                }
                SignInWith::SchoolAccount => "Signed in with the school's account".to_owned(),
                SignInWith::SchoolAccountWithItsMultiFactor => {
                    "Signed in with the school's account and its multi-factor sign-in".to_owned()
                }
                SignInWith::SchoolAccountAndCode => {
                    "Signed in with the school's account and a code from an authenticator app"
                        .to_owned()
                }
                SignInWith::SchoolAccountAndRecoveryCode => {
                    "Signed in with the school's account and a recovery code".to_owned()
                }
                SignInWith::EmailLink => "Signed in with a link sent by email".to_owned(),
                SignInWith::EmailLinkAndCode => {
                    "Signed in with a link sent by email and a code from an authenticator app"
                        .to_owned()
                }
                SignInWith::EmailLinkAndRecoveryCode => {
                    "Signed in with a link sent by email and a recovery code".to_owned()
                }
                SignInWith::EmailLinkAndNewCode => {
                    "Signed in with a link sent by email, setting up two-step sign-in on the way"
                        .to_owned()
                }
                SignInWith::SchoolAccountAndNewCode => {
                    "Signed in with the school's account, setting up two-step sign-in on the way"
                        .to_owned()
                }
            },
            Event::SingleSignOnRefused { reason } => {
                format!("Was refused sign-in with the school's account: {reason}")
            }
            Event::SingleSignOnLinked { by_email, .. } => if *by_email {
                "Linked their school account, found by its email address"
            } else {
                "Linked their school account from a signed-in session"
            }
            .to_owned(),
            Event::SingleSignOnSetUp { provider, .. } => {
                format!("Set up single sign-on with {provider}")
            }
            Event::SingleSignOnRemoved => "Switched single sign-on off".to_owned(),
            Event::PasswordsSwitched { off: true } => {
                "Switched passwords off: people sign in with the school's account or an emailed link"
                    .to_owned()
            }
            Event::PasswordsSwitched { off: false } => "Switched passwords back on".to_owned(),
            Event::SignInFailed { at: None } => "Failed to sign in".to_owned(),
            Event::SignInFailed {
                at: Some(SignInStep::Code),
            } => "Failed to sign in: the code was wrong".to_owned(),
            Event::SignInRefusedLocked => "Was refused sign-in: the account was locked".to_owned(),
            Event::AccountLocked => "The account was locked after repeated failures".to_owned(),
            Event::ReauthenticationFailed { doing } => {
                format!("Gave a wrong password when {}", doing_words(*doing))
            }
            Event::ReauthenticationRefusedLocked { doing } => format!(
                "Was refused when {}: the account was locked",
                doing_words(*doing)
            ),
            Event::PasswordChanged => "Changed their password".to_owned(),
            Event::PasswordResetRequested => "Asked for a link to reset their password".to_owned(),
            Event::SignInLinkRequested => "Asked for a sign-in link by email".to_owned(),
            Event::PasswordSet { by, .. } => match by {
                TokenPurpose::Invite => "Set a password from their invitation".to_owned(),
                TokenPurpose::Reset => "Set a new password from a reset link".to_owned(),
                TokenPurpose::EmailChange => "Set a password from an email change link".to_owned(),
                TokenPurpose::SignIn => "Set a password from a sign-in link".to_owned(),
                TokenPurpose::Handover => {
                    "Set a password from an invitation handed over in person".to_owned()
                }
            },
            Event::SignedOutEverywhere => "Signed out on every device".to_owned(),
            Event::TwoFactorEnabled => "Set up two-step sign-in".to_owned(),
            Event::EmailChangeRequested { .. } => "Asked to change their email address".to_owned(),
            Event::EmailChanged { how, .. } => match how {
                EmailChangeHow::Own => "Confirmed their new email address".to_owned(),
                EmailChangeHow::Correction => {
                    "Corrected the email address of someone who had not yet signed in".to_owned()
                }
                EmailChangeHow::Admin => "Changed a person's email address".to_owned(),
            },
            Event::MembershipAccepted { .. } => "Accepted the offer to join the school".to_owned(),
            Event::MembershipDeclined { .. } => "Declined the offer to join the school".to_owned(),
            Event::AccessDenied { .. } => "Was refused a page".to_owned(),
            Event::AdminCreated { .. } => "An admin was added from the command line".to_owned(),
            Event::SettingChanged {
                require_two_factor: true,
            } => "Made two-step sign-in a requirement for everyone".to_owned(),
            Event::SettingChanged {
                require_two_factor: false,
            } => "Made two-step sign-in a choice for each person".to_owned(),
            Event::EmailRetried { .. } => "Sent a failed email again".to_owned(),
            Event::PersonAdded {
                roles,
                group,
                pending,
                ..
            } => format!(
                "Added a person to {group}, as {}{}",
                role_words(roles),
                if *pending {
                    ", waiting for them to accept"
                } else {
                    ""
                }
            ),
            Event::PersonEdited { .. } => "Edited a person's details".to_owned(),
            Event::RolesChanged { from, to, .. } => format!(
                "Changed a person's roles from {} to {}",
                role_words(from),
                role_words(to)
            ),
            Event::PersonLeft { left_on, .. } => match left_on.as_deref().and_then(in_words) {
                Some(on) => format!("Marked a person as left on {on}"),
                None => "Marked a person as left".to_owned(),
            },
            Event::PersonReactivated { .. } => "Brought back a person who had left".to_owned(),
            Event::PersonInvited { .. } => "Sent a person their invitation again".to_owned(),
            Event::InvitationHandedOver { .. } => {
                "Made an invitation link to hand to a person".to_owned()
            }
            Event::PeopleImported {
                added,
                changed,
                unchanged,
                left,
            } => {
                let mut text = format!(
                    "Imported people: {added} added, {changed} changed, {unchanged} unchanged"
                );
                if *left > 0 {
                    text.push_str(&format!(", {left} marked as left"));
                }
                text
            }
            Event::PaperSignatureRecorded { scan_id, .. } => match scan_id {
                Some(_) => "Recorded a paper signature, with its scan".to_owned(),
                None => "Recorded a paper signature".to_owned(),
            },
            Event::ScanDownloaded { .. } => "Downloaded the scan of a paper form".to_owned(),
            Event::SignersChased {
                reminded, skipped, ..
            } => format!(
                "Reminded {} to sign{}",
                people(*reminded),
                match skipped {
                    0 => String::new(),
                    n => format!(", leaving out {} reminded today already", people(*n)),
                }
            ),
            Event::DashboardExported { rows, .. } => {
                format!("Exported the dashboard: {}", people(*rows))
            }
            Event::EvidenceViewed { .. } => "Viewed a person's evidence".to_owned(),
            Event::PeopleExported { rows } => {
                format!("Exported the list of people: {}", people(*rows))
            }
            Event::AuditLogExported { rows } => format!(
                "Exported the audit log: {rows} event{}",
                if *rows == 1 { "" } else { "s" }
            ),
            Event::EvidenceExported { agreements, .. } => format!(
                "Exported a person's evidence: {agreements} signature{}",
                if *agreements == 1 { "" } else { "s" }
            ),
            Event::AgreementSigned { .. } => "Signed a policy online".to_owned(),
            Event::PolicyCreated { .. } => "Created the policy".to_owned(),
            Event::AudienceChanged { audience, .. } => {
                format!("Changed who must sign it to: {}", audience_text(audience))
            }
            Event::VersionCreated { label, from, .. } => match from {
                Some(from) => format!("Started version {label} from {from}"),
                None => format!("Started a blank version {label}"),
            },
            Event::VersionImported { label, .. } => {
                format!("Imported version {label} from pasted text")
            }
            Event::PrivacyNoticeChanged { default: true } => {
                "Put the privacy notice back to the default wording".to_owned()
            }
            Event::PrivacyNoticeChanged { default: false } => {
                "Changed the wording of the privacy notice".to_owned()
            }
            Event::VersionEdited { label, .. } => format!("Edited the draft {label}"),
            Event::VersionDeleted { label, .. } => format!("Deleted the draft {label}"),
            Event::VersionPublished {
                label,
                notified,
                sign_by,
                ..
            } => {
                let by = sign_by.as_deref().and_then(in_words);
                let by = by.map(|on| format!(" by {on}")).unwrap_or_default();
                format!("Published version {label} and asked {} to sign it{by}", people(*notified))
            }
            Event::SignByDateSet {
                label,
                sign_by,
                previous,
                ..
            } => {
                let long = |text: &str| in_words(text).unwrap_or_else(|| text.to_owned());
                let to = long(sign_by);
                match previous {
                    Some(from) => format!(
                        "Moved the date to sign version {label} by from {} to {to}",
                        long(from)
                    ),
                    None => format!("Asked for version {label} to be signed by {to}"),
                }
            }
        }
    }
}

/// A date stored as 2027-01-31, as a sentence says it: "31 January 2027".
fn in_words(stored: &str) -> Option<String> {
    crate::domain::dates::parse_any_date(stored).map(crate::domain::render::long_date)
}

/// An event as every page says it: its sentence.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence())
    }
}

/// A stored row as every page says it.
impl fmt::Display for Logged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence())
    }
}

fn doing_words(doing: Doing) -> &'static str {
    match doing {
        Doing::Password => "changing their password",
        Doing::TwoFactor => "setting up two-step sign-in",
        Doing::Email => "changing an email address",
        Doing::Settings => "changing the school's settings",
        Doing::Roles => "changing a person's roles",
        Doing::LinkAccount => "linking their school account",
    }
}

fn role_words(roles: &[Role]) -> String {
    if roles.is_empty() {
        return "no role".to_owned();
    }
    roles
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn people(count: usize) -> String {
    match count {
        1 => "1 person".to_owned(),
        n => format!("{n} people"),
    }
}

/// An event as a row holds it.
pub struct Row {
    pub action: String,
    pub subject: String,
    pub details: serde_json::Value,
}

/// A row read back: an event this portal knows, or one it does not (written by an older
/// or newer version, or by hand), shown by its action's words.
#[derive(Debug, PartialEq)]
pub enum Logged {
    Known(Event),
    Unknown(String),
}

impl Logged {
    pub fn read(action: &str, subject: &str, details: &serde_json::Value) -> Logged {
        let mut fields = match details {
            serde_json::Value::Object(fields) => fields.clone(),
            _ => serde_json::Map::new(),
        };
        fields.insert("action".to_owned(), action.into());
        if !subject.is_empty() {
            fields.insert("subject".to_owned(), subject.into());
        }
        match serde_json::from_value(serde_json::Value::Object(fields)) {
            Ok(event) => Logged::Known(event),
            Err(_) => Logged::Unknown(action.to_owned()),
        }
    }

    pub fn sentence(&self) -> String {
        match self {
            Logged::Known(event) => event.sentence(),
            Logged::Unknown(action) => {
                let words = action.replace('_', " ");
                let mut letters = words.chars();
                match letters.next() {
                    Some(first) => first.to_uppercase().chain(letters).collect(),
                    None => "Something unnamed".to_owned(),
                }
            }
        }
    }
}

pub async fn record(
    db: impl PgExecutor<'_>,
    school_id: Option<Uuid>,
    actor: Option<Uuid>,
    event: &Event,
) -> sqlx::Result<()> {
    let row = event.row()?;
    sqlx::query!(
        "insert into audit_events (school_id, actor_user_id, action, subject, details)
         values ($1, $2, $3, $4, $5)",
        school_id,
        actor,
        row.action,
        row.subject,
        row.details
    )
    .execute(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
