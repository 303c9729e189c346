//! Policies and their yearly versions: what a version holds, how it is rendered, and
//! the shipped samples. Publishing stamps the content hash that agreements refer to.

pub mod content;
pub mod diff;
pub mod editor;
pub mod import;
pub mod publish;
pub mod render;
pub mod samples;

use std::sync::{Arc, LazyLock};

use quick_cache::{Weighter, sync::Cache};
use sqlx::{PgConnection, PgPool, types::Json};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use content::{Acknowledgement, SIGNATURE_FIELDS, VersionContent};

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

/// A version as a signer sees it, ready for the templates.
pub struct VersionView {
    pub id: Uuid,
    pub policy_name: String,
    pub school_name: String,
    pub label: String,
    pub title: String,
    pub body_html: std::sync::Arc<str>,
    pub acknowledgements: Vec<Acknowledgement>,
    pub signature_fields: Vec<String>,
    pub reviewed_on: Option<Date>,
    pub next_review_due: Option<Date>,
    pub reviewed_by: String,
    pub content_sha256: String,
}

impl VersionView {
    /// The facts the paper forms print in their header table; none when the version has no review facts.
    pub fn header_facts(&self) -> Vec<(&'static str, String)> {
        if self.reviewed_on.is_none()
            && self.next_review_due.is_none()
            && self.reviewed_by.is_empty()
        {
            return vec![];
        }
        let mut facts = vec![("Name of school", self.school_name.clone())];
        if let Some(date) = self.reviewed_on {
            facts.push(("AUP review date", render::month_year(date)));
        }
        if let Some(date) = self.next_review_due {
            facts.push(("Date of next review", render::month_year(date)));
        }
        if !self.reviewed_by.is_empty() {
            facts.push(("Who reviewed this AUP?", self.reviewed_by.clone()));
        }
        facts
    }

    /// The signature block's lines, in the paper form's order.
    pub fn signature_block(&self) -> Vec<(&'static str, &'static str)> {
        SIGNATURE_FIELDS
            .iter()
            .filter(|(key, _)| self.signature_fields.iter().any(|f| f == key))
            .copied()
            .collect()
    }

    pub fn asks_role(&self) -> bool {
        self.signature_fields.iter().any(|f| f == "role")
    }
}

/// A version as stored, any status.
pub struct StoredVersion {
    pub id: Uuid,
    pub policy_id: Uuid,
    pub policy_name: String,
    pub audience: Vec<String>,
    pub school_name: String,
    pub status: String,
    pub content: VersionContent,
    pub content_sha256: Option<String>,
    pub published_at: Option<OffsetDateTime>,
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
        self.status == "draft"
    }
}

/// Version `version_id` of this school, whatever its status.
pub async fn load(
    db: &mut PgConnection,
    school_id: Uuid,
    version_id: Uuid,
) -> sqlx::Result<Option<StoredVersion>> {
    let row = sqlx::query!(
        r#"select v.id, v.policy_id, p.name as policy_name, p.audience, s.name as school_name, v.status,
                  v.label, v.title, v.body_md,
                  v.acknowledgements as "acknowledgements: Json<Vec<Acknowledgement>>",
                  v.signature_fields, v.reviewed_on, v.next_review_due, v.reviewed_by,
                  v.content_sha256, v.published_at
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
    audience: &[&str],
    content: &VersionContent,
    published_by: Option<Uuid>,
) -> sqlx::Result<Uuid> {
    let audience: Vec<String> = audience.iter().map(|g| (*g).to_owned()).collect();
    let policy_id = sqlx::query_scalar!(
        "insert into policies (school_id, name, audience) values ($1, $2, $3) returning id",
        school_id,
        name,
        &audience
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
