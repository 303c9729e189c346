//! Which roles a manager may give, and which changes of role need their password again.

use uuid::Uuid;

use crate::{auth::session::Member, domain::roles::Role};

/// The roles a manager may give or take away: an admin any, an SBM none with more power
/// than their own.
pub(super) fn grantable(manager: &Member) -> &'static [Role] {
    if manager.has_role(Role::Admin) {
        &Role::ALL
    } else {
        &[Role::Signer, Role::Head, Role::Sbm]
    }
}

/// A person has more power than the manager when they hold a role the manager cannot give:
/// then the manager may not edit them, mark them as left or bring them back (an SBM cannot
/// touch the DPO or the admin).
pub(super) fn outranks(manager: &Member, roles: &[Role]) -> bool {
    let may = grantable(manager);
    roles.iter().any(|role| !may.contains(role))
}

/// The roles a person ends up with: what the manager ticked of the roles they may grant, and
/// the person's other roles unchanged. Nobody changes their own roles.
pub(super) fn resulting_roles(
    manager: &Member,
    membership_id: Option<Uuid>,
    ticked: &[Role],
    current: &[Role],
) -> Vec<Role> {
    if membership_id == Some(manager.membership_id) {
        return current.to_vec();
    }
    let may = grantable(manager);
    Role::ALL
        .into_iter()
        .filter(|role| {
            if may.contains(role) {
                ticked.contains(role)
            } else {
                current.contains(role)
            }
        })
        .collect()
}

/// Roles that reach the whole school's personal data or its policies: giving or taking one
/// away needs the manager's password again.
const GUARDED_ROLES: [Role; 3] = [Role::Admin, Role::Dpo, Role::Head];

/// Whether going from `before` to `after` gives or takes away a guarded role.
pub(super) fn guarded_change(before: &[Role], after: &[Role]) -> bool {
    GUARDED_ROLES
        .iter()
        .any(|role| before.contains(role) != after.contains(role))
}
