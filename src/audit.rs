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
    /// Written by the database's `erase_personal` alone, for the retention job: which
    /// personal fields of an agreement went, under which rule. It names no one.
    PersonalDataErased {
        #[serde(rename = "subject", skip_serializing)]
        agreement_id: Uuid,
        fields: Vec<String>,
        rule: String,
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
    /// How the portal shows the school changed: "the name", "the crest"…
    SchoolLookChanged {
        changed: Vec<String>,
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
            | Event::PrivacyNoticeChanged { .. }
            | Event::SchoolLookChanged { .. } => String::new(),
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
            | Event::PersonalDataErased {
                agreement_id: id, ..
            }
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

mod sentences;

#[cfg(test)]
mod tests;
