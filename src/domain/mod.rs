//! Types and rules with no HTTP and no SQL: a policy version's content and its hash, how
//! it is rendered and compared, the shipped samples, the groups, the dates people write.

pub mod colour;
pub mod content;
pub mod dates;
pub mod diff;
pub mod groups;
pub mod names;
pub mod outline;
pub mod render;
pub mod roles;
pub mod samples;
pub mod sign_ins;
pub mod statuses;
pub mod version_view;
