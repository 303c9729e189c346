//! What the DPO's pages share: who may use them, the policy as they load and lock it, the
//! limits of a draft, and the audit details of a policy or version.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    auth::session::{Member, PolicyEditors, RequireRole},
    domain::groups::{Group, audience_text},
    error::{AppError, Result},
    store::versions::{StoredVersion, load},
};

pub(super) type Editor = RequireRole<PolicyEditors>;

pub(super) const MAX_BODY: usize = 200_000;
pub(super) const MAX_ACKNOWLEDGEMENTS: usize = 20;
pub(super) const BLANK_ACKNOWLEDGEMENT_ROWS: usize = 3;

pub(super) struct Policy {
    pub(super) id: Uuid,
    pub(super) name: String,
    pub(super) audience: Vec<Group>,
}

impl Policy {
    pub(super) fn audience_text(&self) -> String {
        audience_text(&self.audience)
    }
}

/// The policy, locked until the transaction ends: one draft is started at a time.
pub(super) async fn lock_policy(
    db: &mut PgConnection,
    school_id: Uuid,
    policy_id: Uuid,
) -> Result<Policy> {
    sqlx::query_as!(
        Policy,
        r#"select id, name, audience as "audience: Vec<Group>" from policies
           where id = $1 and school_id = $2 for update"#,
        policy_id,
        school_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

pub(super) async fn load_policy(
    db: &mut PgConnection,
    school_id: Uuid,
    policy_id: Uuid,
) -> Result<Policy> {
    sqlx::query_as!(
        Policy,
        r#"select id, name, audience as "audience: Vec<Group>" from policies
           where id = $1 and school_id = $2"#,
        policy_id,
        school_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

pub(super) async fn load_draft(
    db: &mut PgConnection,
    member: &Member,
    version_id: Uuid,
) -> Result<StoredVersion> {
    // Locked for the rest of the transaction, so a save or delete cannot cross a publish.
    sqlx::query!(
        "select id from policy_versions where id = $1 and school_id = $2 for update",
        version_id,
        member.school.id
    )
    .fetch_optional(&mut *db)
    .await?;
    load(db, member.school.id, version_id)
        .await?
        .filter(StoredVersion::is_draft)
        .ok_or(AppError::NotFound)
}

/// Text for a query string, percent-encoded.
pub(super) fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
