//! The groups of people a policy applies to.

/// The groups a policy can apply to: (stored name, what people call them).
pub const GROUPS: [(&str, &str); 4] = [
    ("staff", "Staff"),
    ("governor", "Governors"),
    ("volunteer", "Volunteers"),
    (
        "external",
        "External people, such as contractors or an external DPO",
    ),
];

pub fn group_name(group: &str) -> &str {
    GROUPS
        .iter()
        .find(|(key, _)| *key == group)
        .map_or(group, |(_, name)| name)
}
