//! The roles a person can hold in a school. A membership keeps them as a text array under a
//! CHECK constraint naming the same words; here they are a type (the derive also makes
//! `Vec<Role>` a `text[]`).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A role within one school.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type, Serialize, Deserialize,
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Signs the policies meant for their group.
    Signer,
    /// The school business manager: people and compliance.
    Sbm,
    /// The headteacher or SLT: sees compliance, changes nothing.
    Head,
    /// The data protection officer: writes and publishes policies.
    Dpo,
    /// Everything, and the portal's email.
    Admin,
}

impl Role {
    /// Every role, in the order the people form lists them.
    pub const ALL: [Role; 5] = [Role::Signer, Role::Sbm, Role::Head, Role::Dpo, Role::Admin];

    /// The word stored, and the form's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Signer => "signer",
            Role::Sbm => "sbm",
            Role::Head => "head",
            Role::Dpo => "dpo",
            Role::Admin => "admin",
        }
    }

    /// What the role lets a person do, as the people form explains it.
    pub fn description(self) -> &'static str {
        match self {
            Role::Signer => "Signs the policies for their group",
            Role::Sbm => "School business manager: people and compliance",
            Role::Head => "Headteacher or SLT: sees compliance, changes nothing",
            Role::Dpo => "Data protection officer: writes and publishes policies",
            Role::Admin => "Administrator: everything, and the portal's email",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Signer => "Signer",
            Role::Sbm => "School business manager",
            Role::Head => "Headteacher",
            Role::Dpo => "Data protection officer",
            Role::Admin => "Administrator",
        })
    }
}

impl FromStr for Role {
    type Err = ();

    /// The stored word (a form's value); anything else is not a role.
    fn from_str(word: &str) -> Result<Self, ()> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == word)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_reads_back_from_its_stored_word() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("owner".parse::<Role>(), Err(()));
    }
}
