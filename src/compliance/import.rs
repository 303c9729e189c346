//! Importing a staff list: what the rows would do to the school's list (add, change, leave
//! alone, and the leavers the file can speak for), and doing it. The pages are
//! `import_pages`; `aup-portal import-staff` uses the same steps.
//!
//! A person is matched by the MIS's stable person ID first, then by email. A full export is
//! a snapshot only of the memberships it can speak for: those carrying an MIS ID from this
//! school, in the groups the file has. Governors, volunteers and an external DPO are never
//! in a staff export, and are never proposed as leavers by it.

use std::collections::HashSet;

use sqlx::PgConnection;
use time::Date;
use uuid::Uuid;

use super::person_records::{Added, NewPerson, add_person};
use super::staff_file::{self, Table};
use super::staff_mapping;
pub use super::staff_mapping::{BadRow, Mapping, Row};
use crate::audit::Event;
use crate::store::email_changes;
use crate::{
    audit,
    domain::groups::Group,
    domain::names::Name,
    domain::roles::Role,
    domain::statuses::{MembershipStatus, StaffType},
};

/// The file as the import works from it: UTF-8 CSV text, and for School Data Sync the
/// roles file beside the users file.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub csv: String,
    pub roles: Option<String>,
}

/// The table of a source, or why it cannot be read: with School Data Sync's roles joined.
pub fn table(source: &Source) -> Result<(Table, Option<String>), String> {
    let mut table = staff_file::table(&source.csv, staff_mapping::known_header)?;
    let note = match &source.roles {
        None => None,
        Some(roles) => {
            let roles = staff_file::table(roles, |h| h == "userSourcedId" || h == "role")?;
            let left_out = staff_mapping::join_sds_roles(&mut table, &roles)?;
            (left_out > 0).then(|| {
                format!(
                    "{left_out} {} in users.csv not staff (students, guardians, or no role in roles.csv): left out.",
                    if left_out == 1 { "person is" } else { "people are" }
                )
            })
        }
    };
    Ok((table, note))
}

/// What an MIS-reported change of address comes to under the rules for changing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewEmail {
    /// The person has never activated and only signs policies: the address is corrected,
    /// and the invitation sent again to it.
    Correct(String),
    /// Not this import's to change: why, said next to the row.
    Refused(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Add,
    /// What changes, said for the preview, and the address the MIS now has, if it differs.
    Change {
        membership_id: Uuid,
        user_id: Uuid,
        what: Vec<String>,
        email: Option<NewEmail>,
    },
    Unchanged,
    /// Not on the list, and their employment ended before the import: not added.
    LeftBefore,
}

pub struct Planned {
    pub row: Row,
    pub outcome: Outcome,
}

/// A membership the file says has ended: a row with an end date that has passed, or an
/// MIS-matched member of the file's groups whom the file no longer has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaver {
    pub membership_id: Uuid,
    pub name: String,
    pub email: String,
    pub on: Date,
    /// The row that says so, if one does.
    pub line: Option<usize>,
}

pub struct Plan {
    pub planned: Vec<Planned>,
    pub leavers: Vec<Leaver>,
    /// The rows that could not be read, and those that cannot be placed, by line.
    pub bad: Vec<BadRow>,
}

struct Existing {
    id: Uuid,
    user_id: Uuid,
    email: String,
    full_name: String,
    name: Name,
    pending_name: Option<String>,
    grp: Group,
    job_title: String,
    status: MembershipStatus,
    mis_id: Option<String>,
    staff_type: Option<StaffType>,
}

/// What importing the rows would do to this school's list. `mis_ids_given` says the file
/// has an MIS ID column, so it can speak for memberships matched by one; `bad` are the
/// rows that could not be read, whose people are not proposed as leavers either; the plan
/// adds to them the rows it cannot place.
pub async fn plan(
    db: &mut PgConnection,
    school_id: Uuid,
    rows: Vec<Row>,
    mut bad: Vec<BadRow>,
    mis_ids_given: bool,
    today: Date,
) -> anyhow::Result<Plan> {
    let existing: Vec<Existing> = sqlx::query!(
        r#"select m.id, u.id as user_id, u.email, coalesce(m.pending_name, u.full_name) as "full_name!",
                  u.legal_forename, u.preferred_forename, u.surname, u.signing_name, m.pending_name,
                  m.grp as "grp: Group", m.job_title, m.status as "status: MembershipStatus",
                  m.mis_id, m.staff_type as "staff_type: StaffType"
           from memberships m join users u on u.id = m.user_id
           where m.school_id = $1"#,
        school_id
    )
    .fetch_all(&mut *db)
    .await?
    .into_iter()
    .map(|e| Existing {
        id: e.id,
        user_id: e.user_id,
        email: e.email,
        full_name: e.full_name,
        name: Name {
            legal_forename: e.legal_forename,
            preferred_forename: e.preferred_forename,
            surname: e.surname,
            signing_name: e.signing_name,
        },
        pending_name: e.pending_name,
        grp: e.grp,
        job_title: e.job_title,
        status: e.status,
        mis_id: e.mis_id,
        staff_type: e.staff_type,
    })
    .collect();
    let mut planned = vec![];
    let mut leavers = vec![];
    let mut matched: HashSet<Uuid> = HashSet::new();
    for row in rows {
        let by_id = row
            .mis_id
            .as_ref()
            .and_then(|id| existing.iter().find(|e| e.mis_id.as_ref() == Some(id)));
        // Then by address: the same account, whose MIS ID may have changed (a SIMS staff
        // code is the person's initials, and changes with their name).
        let by_email = existing
            .iter()
            .find(|e| e.email.eq_ignore_ascii_case(&row.email));
        // The MIS ID is one person's and the address another's (IDs swapped, or the wrong
        // column taken for one): changing either could give one account the other's name.
        if let (Some(id_holder), Some(address_holder)) = (by_id, by_email)
            && id_holder.id != address_holder.id
        {
            matched.extend([id_holder.id, address_holder.id]);
            bad.push(BadRow {
                line: row.line,
                reason: format!(
                    "its MIS ID is {}'s on the list, but {} is {}'s: correct the file or the list, then import again",
                    id_holder.full_name, row.email, address_holder.full_name
                ),
                mis_id: row.mis_id.clone(),
            });
            continue;
        }
        let found = by_id.or(by_email);
        let Some(e) = found else {
            let outcome = if row.ends.is_some_and(|on| on <= today) {
                Outcome::LeftBefore
            } else {
                Outcome::Add
            };
            planned.push(Planned { row, outcome });
            continue;
        };
        matched.insert(e.id);
        let row = Row {
            name: e.name.updated_to(row.name),
            ..row
        };
        if let Some(on) = row.ends.filter(|on| *on <= today)
            && e.status == MembershipStatus::Active
        {
            leavers.push(Leaver {
                membership_id: e.id,
                name: e.full_name.clone(),
                email: e.email.clone(),
                on,
                line: Some(row.line),
            });
        }
        let what = changes(e, &row);
        let email = if e.email.eq_ignore_ascii_case(&row.email) {
            None
        } else {
            Some(new_email(db, e, &row.email).await?)
        };
        let outcome = if what.is_empty() && email.is_none() {
            Outcome::Unchanged
        } else {
            Outcome::Change {
                membership_id: e.id,
                user_id: e.user_id,
                what,
                email,
            }
        };
        planned.push(Planned { row, outcome });
    }
    if mis_ids_given {
        let groups: HashSet<Group> = planned.iter().map(|p| p.row.grp).collect();
        let unread: HashSet<&str> = bad.iter().filter_map(|b| b.mis_id.as_deref()).collect();
        leavers.extend(
            existing
                .iter()
                .filter(|e| {
                    e.status == MembershipStatus::Active
                        && groups.contains(&e.grp)
                        && !matched.contains(&e.id)
                        && e.mis_id.as_deref().is_some_and(|id| !unread.contains(id))
                })
                .map(|e| Leaver {
                    membership_id: e.id,
                    name: e.full_name.clone(),
                    email: e.email.clone(),
                    on: today,
                    line: None,
                }),
        );
    }
    bad.sort_by_key(|b| b.line);
    Ok(Plan {
        planned,
        leavers,
        bad,
    })
}

/// What differs between a member and their row, for the preview.
fn changes(e: &Existing, row: &Row) -> Vec<String> {
    let mut what = vec![];
    let renamed = match &e.pending_name {
        Some(pending) => *pending != row.name.shown(),
        None if row.name_in_parts => e.name != row.name,
        None => e.full_name != row.name.shown(),
    };
    if renamed {
        what.push(format!("name from {}", e.full_name));
    }
    if e.grp != row.grp {
        what.push(format!("group from {}", e.grp));
    }
    if e.job_title != row.job_title {
        what.push(format!(
            "job title from {}",
            if e.job_title.is_empty() {
                "none"
            } else {
                &e.job_title
            }
        ));
    }
    if row.mis_id.is_some() && e.mis_id != row.mis_id {
        what.push(match &e.mis_id {
            None => "MIS person ID recorded".to_owned(),
            Some(old) => format!("MIS person ID from {old}"),
        });
    }
    if row.staff_type.is_some() && e.staff_type != row.staff_type {
        what.push(format!(
            "{} staff",
            row.staff_type.map(|t| t.to_string()).unwrap_or_default()
        ));
    }
    if e.status == MembershipStatus::Left && row.ends.is_none() {
        what.push("back from having left".to_owned());
    }
    what
}

/// An MIS-reported change of address, under the rules a manager's change follows.
async fn new_email(db: &mut PgConnection, e: &Existing, email: &str) -> anyhow::Result<NewEmail> {
    let account = email_changes::account(db, e.user_id).await?;
    Ok(if !account.correctable() {
        NewEmail::Refused(format!(
            "The MIS now has {email}, but the import does not change it. {}.",
            super::person_form::email_lock(&account).unwrap_or_default()
        ))
    } else if email_changes::taken(db, e.user_id, email).await? {
        NewEmail::Refused(format!(
            "The MIS now has {email}, but another account already uses it, so the import does not change it."
        ))
    } else {
        NewEmail::Correct(email.to_owned())
    })
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub left: usize,
}

/// Who is importing: the manager, for the audit log and for an address correction, which
/// names them; None on the command line, where addresses are not corrected.
pub struct Importer<'a> {
    pub user_id: Uuid,
    pub name: &'a str,
    pub school_name: &'a str,
}

/// Applies a plan in the caller's transaction: new people are invited, and of the leavers
/// only those in `leaving` are marked as left.
pub async fn apply(
    tx: &mut PgConnection,
    school_id: Uuid,
    importer: Option<&Importer<'_>>,
    plan: &Plan,
    leaving: &[Uuid],
    base_url: &str,
) -> anyhow::Result<Applied> {
    let mut applied = Applied::default();
    let signer = [Role::Signer];
    let actor = importer.map(|i| i.user_id);
    for item in &plan.planned {
        let row = &item.row;
        match &item.outcome {
            Outcome::Add => {
                let person = NewPerson {
                    name: &row.name,
                    email: &row.email,
                    grp: row.grp,
                    job_title: &row.job_title,
                    roles: &signer,
                };
                if let Added::Member(membership_id) =
                    add_person(tx, school_id, actor, &person, base_url).await?
                {
                    sqlx::query!(
                        "update memberships set mis_id = $2, staff_type = $3 where id = $1",
                        membership_id,
                        row.mis_id,
                        row.staff_type as Option<StaffType>
                    )
                    .execute(&mut *tx)
                    .await?;
                    applied.added += 1;
                }
            }
            Outcome::Change {
                membership_id,
                user_id,
                email,
                ..
            } => {
                change(tx, school_id, (*membership_id, *user_id), row).await?;
                if let (Some(NewEmail::Correct(new_email)), Some(importer)) = (email, importer) {
                    email_changes::change_by_manager(
                        tx,
                        &email_changes::ManagerChange {
                            user_id: *user_id,
                            new_email,
                            how: crate::domain::statuses::EmailChangeHow::Correction,
                            actor: importer.user_id,
                            actor_name: importer.name,
                            school_id,
                            school_name: importer.school_name,
                            membership_id: *membership_id,
                        },
                        base_url,
                    )
                    .await?;
                }
                applied.changed += 1;
            }
            Outcome::Unchanged | Outcome::LeftBefore => applied.unchanged += 1,
        }
    }
    for leaver in plan
        .leavers
        .iter()
        .filter(|l| leaving.contains(&l.membership_id))
    {
        if crate::store::memberships::mark_left(tx, school_id, leaver.membership_id, leaver.on)
            .await?
        {
            audit::record(
                &mut *tx,
                Some(school_id),
                actor,
                &Event::PersonLeft {
                    membership_id: leaver.membership_id,
                    left_on: Some(leaver.on.to_string()),
                },
            )
            .await?;
            applied.left += 1;
        }
    }
    audit::record(
        &mut *tx,
        Some(school_id),
        actor,
        &Event::PeopleImported {
            added: applied.added,
            changed: applied.changed,
            unchanged: applied.unchanged,
            left: applied.left,
        },
    )
    .await?;
    Ok(applied)
}

/// A matched member takes their row's details. The name is shared with any other school
/// the person belongs to: left alone then. An offer not yet accepted keeps the school's
/// own name, and stays an offer.
async fn change(
    tx: &mut PgConnection,
    school_id: Uuid,
    (membership_id, user_id): (Uuid, Uuid),
    row: &Row,
) -> anyhow::Result<()> {
    let sole = sqlx::query_scalar!(
        r#"select (m.status <> 'pending'
                   and (select count(*) from memberships o where o.user_id = m.user_id) = 1) as "sole!"
           from memberships m where m.id = $1"#,
        membership_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if sole {
        crate::store::people::rename(tx, user_id, &row.name).await?;
    }
    sqlx::query!(
        "update memberships set grp = $3, job_title = $4,
             status = case when status = 'pending' then 'pending'
                           when $8 then status else 'active' end,
             pending_name = case when status = 'pending' then $5 end,
             left_on = case when status = 'left' and $8 then left_on end,
             mis_id = coalesce($6, mis_id), staff_type = coalesce($7, staff_type)
         where id = $1 and school_id = $2",
        membership_id,
        school_id,
        row.grp as Group,
        row.job_title,
        row.name.shown(),
        row.mis_id,
        row.staff_type as Option<StaffType>,
        row.ends.is_some()
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
