//! The roles a person can hold in a school, and which of them a manager may give.

use uuid::Uuid;

use crate::auth::session::Member;

pub const ROLES: [(&str, &str); 5] = [
    ("signer", "Signs the policies for their group"),
    ("sbm", "School business manager: people and compliance"),
    (
        "head",
        "Headteacher or SLT: sees compliance, changes nothing",
    ),
    (
        "dpo",
        "Data protection officer: writes and publishes policies",
    ),
    ("admin", "Administrator: everything, and the portal's email"),
];

/// The roles a manager may give or take away: an admin any, an SBM none with more power
/// than their own.
fn grantable(manager: &Member) -> &'static [&'static str] {
    if manager.has_role("admin") {
        &["signer", "sbm", "head", "dpo", "admin"]
    } else {
        &["signer", "head", "sbm"]
    }
}

/// A person has more power than the manager when they hold a role the manager cannot give:
/// then the manager may not edit them, mark them as left or bring them back (an SBM cannot
/// touch the DPO or the admin).
pub(super) fn outranks(manager: &Member, roles: &[String]) -> bool {
    let may = grantable(manager);
    roles.iter().any(|role| !may.contains(&role.as_str()))
}

/// The roles a person ends up with: what the manager ticked of the roles they may grant, and
/// the person's other roles unchanged. Nobody changes their own roles.
pub(super) fn resulting_roles(
    manager: &Member,
    membership_id: Option<Uuid>,
    ticked: &[String],
    current: &[String],
) -> Vec<String> {
    if membership_id == Some(manager.membership_id) {
        return current.to_vec();
    }
    let may = grantable(manager);
    ROLES
        .iter()
        .map(|(key, _)| *key)
        .filter(|key| {
            if may.contains(key) {
                ticked.iter().any(|r| r == key)
            } else {
                current.iter().any(|r| r == key)
            }
        })
        .map(str::to_owned)
        .collect()
}

/// Roles that reach the whole school's personal data or its policies: giving or taking one
/// away needs the manager's password again.
const GUARDED_ROLES: [&str; 3] = ["admin", "dpo", "head"];

/// Whether going from `before` to `after` gives or takes away a guarded role.
pub(super) fn guarded_change(before: &[String], after: &[String]) -> bool {
    GUARDED_ROLES
        .iter()
        .any(|role| before.iter().any(|r| r == role) != after.iter().any(|r| r == role))
}
