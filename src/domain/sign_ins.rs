//! The words the audit log keeps about signing in: how a person signed in, what they were
//! doing when asked for their password again, and the step that failed.

use serde::{Deserialize, Serialize};

/// How a person signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInWith {
    #[serde(rename = "password")]
    Password,
    #[serde(rename = "password and code")]
    PasswordAndCode,
    #[serde(rename = "password and recovery code")]
    PasswordAndRecoveryCode,
    /// The first code from an authenticator app being set up at sign-in.
    #[serde(rename = "password and new code")]
    PasswordAndNewCode,
    /// Through the school's own provider (Microsoft, Google or another), with nothing more.
    #[serde(rename = "school account")]
    SchoolAccount,
    /// Through a provider whose multi-factor the school trusts in place of a code.
    #[serde(rename = "school account with its multi-factor")]
    SchoolAccountWithItsMultiFactor,
    #[serde(rename = "school account and code")]
    SchoolAccountAndCode,
    #[serde(rename = "school account and recovery code")]
    SchoolAccountAndRecoveryCode,
    #[serde(rename = "school account and new code")]
    SchoolAccountAndNewCode,
    /// With a single-use link emailed to the person.
    #[serde(rename = "email link")]
    EmailLink,
    #[serde(rename = "email link and code")]
    EmailLinkAndCode,
    #[serde(rename = "email link and recovery code")]
    EmailLinkAndRecoveryCode,
    #[serde(rename = "email link and new code")]
    EmailLinkAndNewCode,
}

/// What a person was doing when asked for their password again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Doing {
    Password,
    TwoFactor,
    Email,
    Settings,
    Roles,
    LinkAccount,
}

/// The step of a sign-in that failed, past the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInStep {
    Code,
}
