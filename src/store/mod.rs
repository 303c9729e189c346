//! The SQL of the table families more than one page needs, below the features and the state.

pub mod agreements;
pub mod email_changes;
pub mod look;
pub mod memberships;
pub mod people;
pub mod reminders;
pub mod sso;
pub mod tokens;
pub mod versions;
