//! The words the database stores for a version's status, a membership's status, how an
//! agreement was made and what a link is for, as types (what a seal covers is
//! `seal::SealKind`). Each is stored as text under a CHECK constraint that lists the same
//! words; `Display` gives the word a person reads on every page and in every export.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a policy version is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    /// Being written; signers never see it.
    Draft,
    /// The version in force: its audience must sign it.
    Published,
    /// Replaced by a newer published version; its agreements are kept.
    Superseded,
}

impl fmt::Display for VersionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VersionStatus::Draft => "Draft",
            VersionStatus::Published => "Published",
            VersionStatus::Superseded => "Replaced",
        })
    }
}

/// A person's place in a school.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    Active,
    /// Left the school: their history is kept, and they are no longer counted or chased.
    Left,
    /// Offered to an existing account, waiting for the person to accept.
    Pending,
}

impl fmt::Display for MembershipStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MembershipStatus::Active => "Active",
            MembershipStatus::Left => "Left",
            MembershipStatus::Pending => "Waiting for them to accept",
        })
    }
}

/// How an agreement was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AgreementMethod {
    /// Signed in the portal.
    Online,
    /// Signed on the paper form and recorded by the school.
    Paper,
}

impl fmt::Display for AgreementMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AgreementMethod::Online => "Online",
            AgreementMethod::Paper => "Paper form",
        })
    }
}

/// What a single-use link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    /// A new person sets their first password.
    Invite,
    /// A person who forgot their password sets a new one.
    Reset,
    /// A person confirms their new email address.
    EmailChange,
    /// A person without a password or a school account signs in by email.
    SignIn,
    /// A new person sets their first password from a link the SBM handed over in person.
    Handover,
}

impl TokenPurpose {
    /// The word stored, and the one the audit event records.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Invite => "invite",
            TokenPurpose::Reset => "reset",
            TokenPurpose::EmailChange => "email_change",
            TokenPurpose::SignIn => "sign_in",
            TokenPurpose::Handover => "handover",
        }
    }
}

impl fmt::Display for TokenPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenPurpose::Invite => "Invitation",
            TokenPurpose::Reset => "Password reset",
            TokenPurpose::EmailChange => "Email change",
            TokenPurpose::SignIn => "Sign-in link",
            TokenPurpose::Handover => "Invitation handed over in person",
        })
    }
}

/// Who changed an address, as `email_changes.how` and its audit event record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailChangeHow {
    /// An SBM or admin fixed the address of a signer who had never activated.
    #[serde(rename = "correction")]
    Correction,
    /// An admin, after re-entering their own password.
    #[serde(rename = "admin")]
    Admin,
    /// The person, confirmed from the new address.
    #[serde(rename = "self")]
    Own,
}

impl EmailChangeHow {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailChangeHow::Correction => "correction",
            EmailChangeHow::Admin => "admin",
            EmailChangeHow::Own => "self",
        }
    }
}

/// Whose single sign-on a school uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SsoProvider {
    /// Microsoft Entra ID (Microsoft 365), one tenant.
    Microsoft,
    /// Google Workspace, one domain.
    Google,
    /// Any other OpenID provider, by its issuer: a local authority's or a consortium's.
    Oidc,
}

impl SsoProvider {
    pub const ALL: [SsoProvider; 3] = [
        SsoProvider::Microsoft,
        SsoProvider::Google,
        SsoProvider::Oidc,
    ];

    /// The word in forms and on the command line.
    pub fn word(self) -> &'static str {
        match self {
            SsoProvider::Microsoft => "microsoft",
            SsoProvider::Google => "google",
            SsoProvider::Oidc => "oidc",
        }
    }

    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.word() == word)
    }

    /// The sign-in button's words.
    pub fn button(self) -> &'static str {
        match self {
            SsoProvider::Microsoft => "Sign in with Microsoft",
            SsoProvider::Google => "Sign in with Google",
            SsoProvider::Oidc => "Sign in with your school account",
        }
    }

    /// What the account is called, in "Link my … account".
    pub fn account(self) -> &'static str {
        match self {
            SsoProvider::Microsoft => "Microsoft",
            SsoProvider::Google => "Google",
            SsoProvider::Oidc => "school",
        }
    }
}

impl fmt::Display for SsoProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SsoProvider::Microsoft => "Microsoft Entra ID (Microsoft 365)",
            SsoProvider::Google => "Google Workspace",
            SsoProvider::Oidc => "Another OpenID provider",
        })
    }
}

/// Whether a member of staff teaches, as the MIS says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StaffType {
    Teaching,
    Support,
}

impl StaffType {
    /// What MIS exports write: "Teaching", "Support", "Non-teaching", "T", "S", or a
    /// School Data Sync role such as "teacher" or "aide".
    pub fn from_mis(text: &str) -> Option<StaffType> {
        let text = text.trim().to_lowercase().replace(['-', '_'], " ");
        match text.as_str() {
            "t" | "teaching" | "teacher" | "teaching staff" | "principal" | "substitute"
            | "instructor" | "lecturer" => Some(StaffType::Teaching),
            "s" | "support" | "support staff" | "non teaching" | "non teaching staff" | "aide"
            | "teacherassistant" | "staff" | "officestaff" | "administrator" | "itadmin"
            | "nurse" | "paraprofessional" | "other" => Some(StaffType::Support),
            _ => None,
        }
    }
}

impl fmt::Display for StaffType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StaffType::Teaching => "Teaching",
            StaffType::Support => "Support",
        })
    }
}
