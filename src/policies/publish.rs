//! Publishing a draft: in one transaction, stamp who and when, fix the content hash,
//! supersede the version before it, audit it, and queue an email to everyone who must sign.

use sqlx::{PgConnection, PgPool};
use time::Date;
use uuid::Uuid;

use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    domain::render,
    mail::{self, VersionPublished},
};
use crate::{
    domain::groups::Group,
    store::versions::{StoredVersion, load},
};

/// Who must sign a version once it is published, by group: (group, count).
pub async fn audience_counts(
    db: &mut PgConnection,
    school_id: Uuid,
    version_id: Uuid,
) -> sqlx::Result<Vec<(Group, i64)>> {
    let rows = sqlx::query!(
        r#"select w.grp as "grp!: Group", count(*) as "count!" from must_sign w
           where w.school_id = $1 and w.version_id = $2
           group by w.grp order by w.grp"#,
        school_id,
        version_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.grp, r.count)).collect())
}

/// A reason a draft cannot be published yet: the draft's field to fix, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub message: String,
}

fn problem(field: &'static str, message: &str) -> Problem {
    Problem {
        field,
        message: message.to_owned(),
    }
}

/// The publish page's field for the date to sign by, and its message when it has passed.
pub const SIGN_BY: &str = "sign_by";
pub const SIGN_BY_IN_FUTURE: &str = "The date to sign by must be in the future";

/// Why a draft cannot be published yet; empty when it can.
pub fn problems(version: &StoredVersion, today: Date) -> Vec<Problem> {
    let mut problems = vec![];
    if !version.is_draft() {
        problems.push(problem("label", "This version has already been published."));
    }
    if version.content.body_md.trim().is_empty() {
        problems.push(problem("body_md", "The policy has no text yet."));
    }
    match version.content.next_review_due {
        None => problems.push(problem(
            "next_review_due",
            "Set the date of the next review.",
        )),
        Some(due) if due <= today => problems.push(problem(
            "next_review_due",
            "The date of the next review must be in the future.",
        )),
        Some(_) => {}
    }
    problems
}

pub struct Published {
    pub version_id: Uuid,
    pub label: String,
    pub notified: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("version not found")]
    NotFound,
    #[error("not ready to publish")]
    NotReady(Vec<Problem>),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Render(#[from] askama::Error),
}

/// What publishing asks: the content confirmed and the date to sign by, and who asks it.
pub struct Request<'a> {
    /// Publish only if the draft still has the content the DPO confirmed.
    pub confirmed_sha256: Option<&'a str>,
    /// Kept beside the version, never in it: it can be moved later.
    pub sign_by: Option<Date>,
    pub publisher: Option<Uuid>,
}

/// Publishes draft `version_id`, as `request` asks.
pub async fn publish(
    pool: &PgPool,
    school_id: Uuid,
    version_id: Uuid,
    request: Request<'_>,
    base_url: &str,
    today: Date,
) -> Result<Published, PublishError> {
    let Request {
        confirmed_sha256,
        sign_by,
        publisher,
    } = request;
    let mut tx = pool.begin().await?;
    // Lock the policy: two publishes at once, or an audience change, wait for each other.
    sqlx::query!(
        "select p.id from policies p
         where p.id = (select policy_id from policy_versions where id = $1 and school_id = $2)
         for update",
        version_id,
        school_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let version = load(&mut tx, school_id, version_id)
        .await?
        .ok_or(PublishError::NotFound)?;
    let mut problems = problems(&version, today);
    if let Some(confirmed) = confirmed_sha256
        && confirmed != version.content.sha256()
        && version.is_draft()
    {
        problems.push(problem(
            "label",
            "The draft has changed since you opened this page. Check it again, then publish.",
        ));
    }
    if sign_by.is_some_and(|date| date <= today) {
        problems.push(problem(SIGN_BY, SIGN_BY_IN_FUTURE));
    }
    if !problems.is_empty() {
        return Err(PublishError::NotReady(problems));
    }
    let hash = version.content.sha256();
    // Supersede first: the database allows one published version per policy at any moment.
    let superseded = sqlx::query_scalar!(
        "update policy_versions set status = 'superseded'
         where policy_id = $1 and school_id = $2 and status = 'published' returning id",
        version.policy_id,
        school_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query!(
        "update policy_versions
         set status = 'published', published_at = now(), published_by = $3, content_sha256 = $4, updated_at = now()
         where id = $1 and school_id = $2",
        version_id,
        school_id,
        publisher,
        hash
    )
    .execute(&mut *tx)
    .await?;
    if let Some(date) = sign_by {
        sqlx::query!(
            "insert into sign_by_dates (version_id, school_id, sign_by, set_by) values ($1, $2, $3, $4)",
            version_id,
            school_id,
            date,
            publisher
        )
        .execute(&mut *tx)
        .await?;
    }

    let recipients = sqlx::query!(
        r#"select w.membership_id as "membership_id!", u.email, u.full_name
           from must_sign w join users u on u.id = w.user_id
           where w.school_id = $1 and w.version_id = $2"#,
        school_id,
        version_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let school_slug = sqlx::query_scalar!("select slug from schools where id = $1", school_id)
        .fetch_one(&mut *tx)
        .await?;
    let sign_url = format!("{base_url}{}", paths::Sign::new(&school_slug, version_id));
    let sign_by_text = sign_by.map(render::long_date);
    for person in &recipients {
        let email = VersionPublished {
            first_name: mail::first_name(&person.full_name),
            school_name: &version.school_name,
            policy_name: &version.policy_name,
            label: &version.content.label,
            sign_by: sign_by_text.as_deref(),
            sign_url: &sign_url,
        }
        .render(
            &person.email,
            format!(
                "{}: please read and sign the {} ({})",
                version.school_name, version.policy_name, version.content.label
            ),
        )?;
        mail::queue(
            &mut tx,
            Some(school_id),
            &format!("published:{version_id}:{}", person.membership_id),
            &email,
        )
        .await?;
    }
    audit::record(
        &mut *tx,
        Some(school_id),
        publisher,
        &Event::VersionPublished {
            policy_id: version.policy_id,
            version_id,
            label: version.content.label.clone(),
            content_sha256: hash,
            superseded,
            notified: recipients.len(),
            audience: version.audience.clone(),
            sign_by: sign_by.map(|date| date.to_string()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Published {
        version_id,
        label: version.content.label,
        notified: recipients.len(),
    })
}
