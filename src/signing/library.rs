//! The policy library: every policy for the person's group, to read again whenever they
//! like, with its current text and the exact version they signed. Nothing is signed here.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    auth::session::Member,
    clock,
    // The document partial can show changes, which the library never does.
    domain::diff::{Change, WordChange},
    domain::{statuses::VersionStatus, version_view::VersionView},
    error::{AppError, Result},
    page::Nav,
    sign_page::ChangesSince,
    state::AppState,
    store::versions,
};

struct Entry {
    policy_name: String,
    current_id: Uuid,
    current_label: String,
    published_at: Option<OffsetDateTime>,
    /// The version of this policy the person signed last, and their agreement.
    signed_id: Option<Uuid>,
    signed_label: Option<String>,
    agreement_id: Option<Uuid>,
    signed_at: Option<OffsetDateTime>,
    /// Whether the current version is theirs to sign.
    asked: bool,
}

impl Entry {
    fn published_on(&self) -> String {
        self.published_at
            .map(|at| crate::domain::render::long_date(clock::uk(at).date()))
            .unwrap_or_default()
    }

    fn signed_on(&self) -> String {
        self.signed_at.map(clock::date_time).unwrap_or_default()
    }

    fn signed_current(&self) -> bool {
        self.signed_id == Some(self.current_id)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "signing/library.html")]
pub(super) struct LibraryPage {
    nav: Nav,
    slug: String,
    group: String,
    entries: Vec<Entry>,
}

/// The policies whose audience is the person's group, and any other they have signed.
pub(super) async fn library(State(state): State<AppState>, member: Member) -> Result<LibraryPage> {
    let entries = sqlx::query_as!(
        Entry,
        r#"select p.name as policy_name, v.id as current_id, v.label as current_label, v.published_at,
                  last.version_id as "signed_id?", sv.label as "signed_label?",
                  last.id as "agreement_id?", last.signed_at as "signed_at?",
                  exists (select 1 from must_sign w
                          where w.version_id = v.id and w.membership_id = $2) as "asked!"
           from policies p
           join policy_versions v on v.policy_id = p.id and v.school_id = p.school_id
                                 and v.status = 'published'
           left join lateral (
               select a.id, a.version_id, a.signed_at from agreements a
               join policy_versions av on av.id = a.version_id and av.school_id = a.school_id
               where a.membership_id = $2 and av.policy_id = p.id
               order by a.signed_at desc limit 1) last on true
           left join policy_versions sv on sv.id = last.version_id
           where p.school_id = $1 and ($3 = any(p.audience) or last.id is not null)
           order by lower(p.name)"#,
        member.school.id,
        member.membership_id,
        member.grp.as_str()
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(LibraryPage {
        nav: member.nav(),
        slug: member.school.slug.clone(),
        group: member.grp.to_string().to_lowercase(),
        entries,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "signing/library_version.html")]
pub(super) struct VersionPage {
    nav: Nav,
    slug: String,
    version: VersionView,
    /// Always none: the document partial shows changes only on the sign page.
    changes_since: Option<ChangesSince>,
    current: bool,
    /// Their agreement to this version, and when.
    signed: Option<(Uuid, String)>,
    /// The current version, when this one has been replaced.
    replaced_by: Option<(Uuid, String)>,
    /// The current version is theirs to sign and they have not.
    to_sign: bool,
}

/// One version, to read: the current version of a policy for the person's group, or a
/// version they signed. Anything else (a draft, another group's policy, an old version
/// they never signed) is not found.
pub(super) async fn read(
    State(state): State<AppState>,
    member: Member,
    Path((_slug, version_id)): Path<(String, Uuid)>,
) -> Result<VersionPage> {
    let mut conn = state.pool.acquire().await?;
    let version = versions::load(&mut conn, member.school.id, version_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let agreement = sqlx::query!(
        "select id, signed_at from agreements
         where version_id = $1 and membership_id = $2 and school_id = $3",
        version.id,
        member.membership_id,
        member.school.id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let current = version.status == VersionStatus::Published;
    let readable = match version.status {
        VersionStatus::Published => version.audience.contains(&member.grp) || agreement.is_some(),
        VersionStatus::Superseded => agreement.is_some(),
        VersionStatus::Draft => false,
    };
    if !readable {
        return Err(AppError::NotFound);
    }
    let replaced_by = if current {
        None
    } else {
        sqlx::query!(
            "select id, label from policy_versions
             where policy_id = $1 and school_id = $2 and status = 'published'",
            version.policy_id,
            member.school.id
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|v| (v.id, v.label))
    };
    let to_sign = current
        && agreement.is_none()
        && sqlx::query_scalar!(
            r#"select exists (select 1 from must_sign where version_id = $1 and membership_id = $2) as "asked!""#,
            version.id,
            member.membership_id
        )
        .fetch_one(&mut *conn)
        .await?;
    Ok(VersionPage {
        nav: member.nav(),
        slug: member.school.slug.clone(),
        version: version.view().await,
        changes_since: None,
        current,
        signed: agreement.map(|a| (a.id, clock::date_time(a.signed_at))),
        replaced_by,
        to_sign,
    })
}
