//! Policy versions as stored: loading one, what a published one says (kept in memory), and
//! creating a published version or a draft.

use std::sync::{Arc, LazyLock};

use quick_cache::{Weighter, sync::Cache};
use sqlx::{PgConnection, PgPool, types::Json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{
    content::{Acknowledgement, VersionContent},
    groups::Group,
    render,
    statuses::VersionStatus,
    version_view::VersionView,
};

/// A version as stored, any status.
pub struct StoredVersion {
    pub id: Uuid,
    pub policy_id: Uuid,
    pub policy_name: String,
    pub audience: Vec<Group>,
    pub school_name: String,
    pub status: VersionStatus,
    pub content: VersionContent,
    pub content_sha256: Option<String>,
    pub published_at: Option<OffsetDateTime>,
    /// The statement editor's id for each item of the text, in order (see `domain::outline`).
    pub block_ids: Vec<String>,
}

impl StoredVersion {
    /// As a signer sees it. A draft's hash is what it would be if published now.
    pub async fn view(&self) -> VersionView {
        VersionView {
            id: self.id,
            policy_name: self.policy_name.clone(),
            school_name: self.school_name.clone(),
            label: self.content.label.clone(),
            title: self.content.title.clone(),
            body_html: render::policy_html(&self.content.body_md).await,
            acknowledgements: self.content.acknowledgements.clone(),
            signature_fields: self.content.signature_fields.clone(),
            reviewed_on: self.content.reviewed_on,
            next_review_due: self.content.next_review_due,
            reviewed_by: self.content.reviewed_by.clone(),
            content_sha256: self
                .content_sha256
                .clone()
                .unwrap_or_else(|| self.content.sha256()),
        }
    }

    pub fn is_draft(&self) -> bool {
        self.status == VersionStatus::Draft
    }
}

/// Version `version_id` of this school, whatever its status.
pub async fn load(
    db: &mut PgConnection,
    school_id: Uuid,
    version_id: Uuid,
) -> sqlx::Result<Option<StoredVersion>> {
    let row = sqlx::query!(
        r#"select v.id, v.policy_id, p.name as policy_name, p.audience as "audience: Vec<Group>",
                  s.name as school_name,
                  v.status as "status: VersionStatus",
                  v.label, v.title, v.body_md,
                  v.acknowledgements as "acknowledgements: Json<Vec<Acknowledgement>>",
                  v.signature_fields, v.reviewed_on, v.next_review_due, v.reviewed_by,
                  v.content_sha256, v.published_at, v.block_ids
           from policy_versions v
           join policies p on p.id = v.policy_id and p.school_id = v.school_id
           join schools s on s.id = v.school_id
           where v.id = $1 and v.school_id = $2"#,
        version_id,
        school_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| StoredVersion {
        id: r.id,
        policy_id: r.policy_id,
        policy_name: r.policy_name,
        audience: r.audience,
        school_name: r.school_name,
        status: r.status,
        content: VersionContent {
            label: r.label,
            title: r.title,
            body_md: r.body_md,
            acknowledgements: r.acknowledgements.0,
            signature_fields: r.signature_fields,
            reviewed_on: r.reviewed_on,
            next_review_due: r.next_review_due,
            reviewed_by: r.reviewed_by,
        },
        content_sha256: r.content_sha256,
        published_at: r.published_at,
        block_ids: r.block_ids,
    }))
}

/// What a published version says. The guard trigger refuses any change to it once published,
/// so each portal keeps it in memory by version id and never needs to ask again.
pub struct Published {
    pub content: VersionContent,
    pub content_sha256: String,
    pub body_html: Arc<str>,
}

impl Published {
    /// As a signer sees it, under the policy's and school's names as they are now.
    pub fn view(&self, id: Uuid, policy_name: String, school_name: String) -> VersionView {
        let content = &self.content;
        VersionView {
            id,
            policy_name,
            school_name,
            label: content.label.clone(),
            title: content.title.clone(),
            body_html: self.body_html.clone(),
            acknowledgements: content.acknowledgements.clone(),
            signature_fields: content.signature_fields.clone(),
            reviewed_on: content.reviewed_on,
            next_review_due: content.next_review_due,
            reviewed_by: content.reviewed_by.clone(),
            content_sha256: self.content_sha256.clone(),
        }
    }
}

/// Weighs a kept version by the bytes of its text and HTML, so the texts of many schools
/// fit in a bounded amount of memory.
#[derive(Clone)]
struct TextBytes;

impl Weighter<(Uuid, Uuid), Arc<Published>> for TextBytes {
    fn weight(&self, _key: &(Uuid, Uuid), kept: &Arc<Published>) -> u64 {
        (kept.content.body_md.len() + kept.body_html.len() + 1024) as u64
    }
}

/// Published versions by (school, version): at most 32 MiB of policy text.
static PUBLISHED: LazyLock<Cache<(Uuid, Uuid), Arc<Published>, TextBytes>> =
    LazyLock::new(|| Cache::with_weighter(1024, 32 << 20, TextBytes));

/// What version `version_id` of this school says, once it has been published (it may since
/// have been superseded). None for a draft or a version of another school.
pub async fn published_content(
    pool: &PgPool,
    school_id: Uuid,
    version_id: Uuid,
) -> sqlx::Result<Option<Arc<Published>>> {
    let key = (school_id, version_id);
    if let Some(kept) = PUBLISHED.get(&key) {
        return Ok(Some(kept));
    }
    let mut conn = pool.acquire().await?;
    let Some(stored) = load(&mut conn, school_id, version_id)
        .await?
        .filter(|v| !v.is_draft())
    else {
        return Ok(None);
    };
    let Some(content_sha256) = stored.content_sha256 else {
        return Ok(None);
    };
    let kept = Arc::new(Published {
        body_html: render::policy_html(&stored.content.body_md).await,
        content: stored.content,
        content_sha256,
    });
    PUBLISHED.insert(key, kept.clone());
    Ok(Some(kept))
}

/// Creates a policy with `content` as its published version, stamping the content hash.
/// The demo and `import-policy --publish` use it; the DPO's pages publish drafts.
pub async fn create_published(
    db: &mut PgConnection,
    school_id: Uuid,
    name: &str,
    audience: &[Group],
    content: &VersionContent,
    published_by: Option<Uuid>,
) -> sqlx::Result<Uuid> {
    let policy_id = sqlx::query_scalar!(
        "insert into policies (school_id, name, audience) values ($1, $2, $3) returning id",
        school_id,
        name,
        audience as &[Group]
    )
    .fetch_one(&mut *db)
    .await?;
    sqlx::query_scalar!(
        r#"insert into policy_versions
             (policy_id, school_id, label, title, body_md, acknowledgements, signature_fields,
              reviewed_on, next_review_due, reviewed_by, status, published_at, published_by, content_sha256)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'published', now(), $11, $12)
           returning id"#,
        policy_id,
        school_id,
        content.label,
        content.title,
        content.body_md,
        Json(&content.acknowledgements) as _,
        &content.signature_fields,
        content.reviewed_on,
        content.next_review_due,
        content.reviewed_by,
        published_by,
        content.sha256()
    )
    .fetch_one(&mut *db)
    .await
}

/// What `insert_draft` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewDraft {
    Inserted(Uuid),
    /// The policy has a draft already (a policy has one at a time): this one.
    Exists(Uuid),
}

/// A new draft of a policy locked by `lock_policy`, unless it has one already. `block_ids`
/// are the editor's ids of the text's items, carried over from the version it copies.
pub async fn insert_draft(
    db: &mut PgConnection,
    school_id: Uuid,
    policy_id: Uuid,
    content: &VersionContent,
    block_ids: &[String],
) -> sqlx::Result<NewDraft> {
    let existing = sqlx::query_scalar!(
        "select id from policy_versions where policy_id = $1 and status = 'draft'",
        policy_id
    )
    .fetch_optional(&mut *db)
    .await?;
    if let Some(existing) = existing {
        return Ok(NewDraft::Exists(existing));
    }
    let inserted = sqlx::query_scalar!(
        r#"insert into policy_versions
             (policy_id, school_id, label, title, body_md, acknowledgements, signature_fields,
              reviewed_on, next_review_due, reviewed_by, block_ids)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           returning id"#,
        policy_id,
        school_id,
        content.label,
        content.title,
        content.body_md,
        Json(&content.acknowledgements) as _,
        &content.signature_fields,
        content.reviewed_on,
        content.next_review_due,
        content.reviewed_by,
        block_ids,
    )
    .fetch_one(&mut *db)
    .await?;
    Ok(NewDraft::Inserted(inserted))
}
