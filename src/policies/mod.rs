//! Policies and their yearly versions: what a version holds, how it is rendered, and
//! the shipped samples. Publishing stamps the content hash that agreements refer to.

pub mod content;
pub mod import;
pub mod render;
pub mod samples;

use sqlx::{PgConnection, types::Json};
use time::Date;
use uuid::Uuid;

use content::{Acknowledgement, SIGNATURE_FIELDS, VersionContent};

/// A version as a signer sees it, ready for the templates.
pub struct VersionView {
    pub id: Uuid,
    pub policy_name: String,
    pub school_name: String,
    pub label: String,
    pub title: String,
    pub body_html: String,
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

/// The published version `version_id` of a policy whose audience includes `grp`, in this school.
pub async fn published_for_group(
    db: &mut PgConnection,
    school_id: Uuid,
    version_id: Uuid,
    grp: &str,
) -> sqlx::Result<Option<VersionView>> {
    let row = sqlx::query!(
        r#"select v.id, p.name as policy_name, s.name as school_name, v.label, v.title, v.body_md,
                  v.acknowledgements as "acknowledgements: Json<Vec<Acknowledgement>>",
                  v.signature_fields, v.reviewed_on, v.next_review_due, v.reviewed_by,
                  v.content_sha256 as "content_sha256!"
           from policy_versions v
           join policies p on p.id = v.policy_id and p.school_id = v.school_id
           join schools s on s.id = v.school_id
           where v.id = $1 and v.school_id = $2 and v.status = 'published' and $3 = any(p.audience)"#,
        version_id,
        school_id,
        grp
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| VersionView {
        id: r.id,
        policy_name: r.policy_name,
        school_name: r.school_name,
        label: r.label,
        title: r.title,
        body_html: render::markdown_to_html(&r.body_md),
        acknowledgements: r.acknowledgements.0,
        signature_fields: r.signature_fields,
        reviewed_on: r.reviewed_on,
        next_review_due: r.next_review_due,
        reviewed_by: r.reviewed_by,
        content_sha256: r.content_sha256,
    }))
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
