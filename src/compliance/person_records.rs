//! A person of the school as stored: adding one, and loading one by membership.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit::Event;
use crate::{
    audit,
    auth::session::Member,
    db::unique_violation,
    domain::{
        groups::Group,
        names::Name,
        roles::Role,
        statuses::{MembershipStatus, StaffType},
    },
    store::tokens,
};

/// Adds a person to the school (a new account, or a person already known from another
/// school) and queues their invitation if they have no password yet. Returns the membership.
pub struct NewPerson<'a> {
    pub name: &'a Name,
    pub email: &'a str,
    pub grp: Group,
    pub job_title: &'a str,
    pub roles: &'a [Role],
}

/// What `add_person` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    /// The new membership.
    Member(Uuid),
    /// The person is on the school's list already; nothing changed.
    AlreadyListed,
}

pub async fn add_person(
    db: &mut PgConnection,
    school_id: Uuid,
    actor: Option<Uuid>,
    person: &NewPerson<'_>,
    base_url: &str,
) -> anyhow::Result<Added> {
    let NewPerson {
        name,
        email,
        grp,
        job_title,
        roles,
    } = *person;
    let user = sqlx::query!(
        "select id, password_hash is not null as \"has_password!\" from users where lower(email) = lower($1)",
        email
    )
    .fetch_optional(&mut *db)
    .await?;
    // An address that already has an account gets an offer the person accepts: the school
    // learns nothing of the account (its name, its history) until they do.
    let (user_id, has_password, offered) = match user {
        Some(u) => (u.id, u.has_password, true),
        None => (
            crate::store::people::create_account(db, email, name, None).await?,
            false,
            false,
        ),
    };
    let membership = sqlx::query_scalar!(
        "insert into memberships (user_id, school_id, grp, job_title, roles, status, pending_name, joined_at)
         values ($1, $2, $3, $4, $5,
                 case when $6 then 'pending' else 'active' end,
                 case when $6 then $7 end,
                 case when $6 then null else now() end)
         returning id",
        user_id,
        school_id,
        grp as Group,
        job_title,
        roles as &[Role],
        offered,
        name.shown()
    )
    .fetch_one(&mut *db)
    .await;
    let membership_id = match membership {
        Ok(id) => id,
        Err(err) if unique_violation(&err).as_deref() == Some("memberships_user_school_key") => {
            return Ok(Added::AlreadyListed);
        }
        Err(err) => return Err(err.into()),
    };
    if offered {
        crate::store::memberships::offer(db, membership_id, base_url).await?;
    }
    if !has_password {
        tokens::invite(db, user_id, school_id, base_url).await?;
    }
    audit::record(
        &mut *db,
        Some(school_id),
        actor,
        &Event::PersonAdded {
            membership_id,
            roles: roles.to_vec(),
            group: grp,
            pending: offered,
        },
    )
    .await?;
    Ok(Added::Member(membership_id))
}

pub(super) struct Person {
    pub membership_id: Uuid,
    pub user_id: Uuid,
    /// The name pages show.
    pub full_name: String,
    pub name: Name,
    pub email: String,
    pub grp: Group,
    pub job_title: String,
    pub roles: Vec<Role>,
    pub status: MembershipStatus,
    pub left_on: Option<time::Date>,
    pub has_password: bool,
    /// The MIS's person ID, from an import.
    pub mis_id: Option<String>,
    pub staff_type: Option<StaffType>,
}

impl Person {
    /// Whether an invitation may be handed to them in person: only to someone active who has
    /// never set a password and whose only role is signer, since whoever holds the link
    /// holds the account.
    pub fn may_be_handed_a_link(&self) -> bool {
        self.status == MembershipStatus::Active
            && !self.has_password
            && self.roles == [Role::Signer]
    }
}

/// The person of this membership, if it is one of the member's school.
pub(super) async fn load_person(
    db: &sqlx::PgPool,
    member: &Member,
    membership_id: Uuid,
) -> sqlx::Result<Option<Person>> {
    let row = sqlx::query!(
        r#"select m.id as membership_id, u.id as user_id, m.pending_name,
                  coalesce(m.pending_name, u.full_name) as "full_name!",
                  u.legal_forename, u.preferred_forename, u.surname, u.signing_name,
                  u.email, m.grp as "grp: Group", m.job_title,
                  m.roles as "roles: Vec<Role>",
                  m.status as "status: MembershipStatus", m.left_on, u.password_hash is not null as "has_password!",
                  m.mis_id, m.staff_type as "staff_type: StaffType"
           from memberships m join users u on u.id = m.user_id
           where m.id = $1 and m.school_id = $2"#,
        membership_id,
        member.school.id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| Person {
        membership_id: row.membership_id,
        user_id: row.user_id,
        full_name: row.full_name,
        // While an offer waits, the school knows only the name it typed.
        name: match row.pending_name {
            Some(pending) => Name::from_full(&pending),
            None => Name {
                legal_forename: row.legal_forename,
                preferred_forename: row.preferred_forename,
                surname: row.surname,
                signing_name: row.signing_name,
            },
        },
        email: row.email,
        grp: row.grp,
        job_title: row.job_title,
        roles: row.roles,
        status: row.status,
        left_on: row.left_on,
        has_password: row.has_password,
        mis_id: row.mis_id,
        staff_type: row.staff_type,
    }))
}
