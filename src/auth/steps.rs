//! The steps of a sign-in: the first (a password, or the school's provider) and the second
//! (a code, a recovery code, or a new authenticator's first code), and how the audit log
//! names the pair.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::SignInWith;

/// How a person proved who they are before any code.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum First {
    #[default]
    Password,
    /// Through the school's provider: the session then opens that school only.
    SchoolAccount,
    /// With a link emailed to the person.
    EmailLink,
}

/// The second step, if any.
#[derive(Clone, Copy)]
pub(super) enum Second {
    Code,
    RecoveryCode,
    NewCode,
}

impl First {
    pub(super) fn with(self, second: Option<Second>) -> SignInWith {
        match (self, second) {
            (First::Password, None) => SignInWith::Password,
            (First::Password, Some(Second::Code)) => SignInWith::PasswordAndCode,
            (First::Password, Some(Second::RecoveryCode)) => SignInWith::PasswordAndRecoveryCode,
            (First::Password, Some(Second::NewCode)) => SignInWith::PasswordAndNewCode,
            (First::SchoolAccount, None) => SignInWith::SchoolAccount,
            (First::SchoolAccount, Some(Second::Code)) => SignInWith::SchoolAccountAndCode,
            (First::SchoolAccount, Some(Second::RecoveryCode)) => {
                SignInWith::SchoolAccountAndRecoveryCode
            }
            (First::SchoolAccount, Some(Second::NewCode)) => SignInWith::SchoolAccountAndNewCode,
            (First::EmailLink, None) => SignInWith::EmailLink,
            (First::EmailLink, Some(Second::Code)) => SignInWith::EmailLinkAndCode,
            (First::EmailLink, Some(Second::RecoveryCode)) => SignInWith::EmailLinkAndRecoveryCode,
            (First::EmailLink, Some(Second::NewCode)) => SignInWith::EmailLinkAndNewCode,
        }
    }
}

/// A right first step: who, and what the second step must be.
pub struct FirstStep {
    pub user_id: Uuid,
    pub auth_epoch: i32,
    pub has_second_factor: bool,
    pub second_factor_required: bool,
    pub first: First,
    pub school: Option<Uuid>,
    /// Said instead of the plain first step when no code follows (a provider's own
    /// multi-factor, which the school trusts).
    pub with: Option<SignInWith>,
}
