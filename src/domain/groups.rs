//! The groups of people a policy applies to. A membership's group and a policy's audience
//! are stored as text under CHECK constraints naming the same words; here they are a type.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// The group a person signs policies as.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type, Serialize, Deserialize,
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Staff,
    Governor,
    Volunteer,
    /// Contractors, an external DPO and the like.
    External,
}

impl Group {
    /// Every group, in the order the forms list them.
    pub const ALL: [Group; 4] = [
        Group::Staff,
        Group::Governor,
        Group::Volunteer,
        Group::External,
    ];

    /// The word stored, and the forms' value.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Staff => "staff",
            Group::Governor => "governor",
            Group::Volunteer => "volunteer",
            Group::External => "external",
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Group::Staff => "Staff",
            Group::Governor => "Governors",
            Group::Volunteer => "Volunteers",
            Group::External => "External people, such as contractors or an external DPO",
        })
    }
}

impl FromStr for Group {
    type Err = ();

    /// The stored word (a form's value); anything else is not a group.
    fn from_str(word: &str) -> Result<Self, ()> {
        Group::ALL
            .into_iter()
            .find(|group| group.as_str() == word)
            .ok_or(())
    }
}

/// The groups of a policy's audience, as people call them: "Staff, Governors".
pub fn audience_text(audience: &[Group]) -> String {
    audience
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_group_reads_back_from_its_stored_word() {
        for group in Group::ALL {
            assert_eq!(group.as_str().parse::<Group>(), Ok(group));
        }
        assert_eq!("parent".parse::<Group>(), Err(()));
    }
}
