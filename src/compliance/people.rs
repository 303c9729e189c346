//! The school's people: the list, with search and filters; the router of the people pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Query, RawQuery, State},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{person, person_form, roles};
use crate::paths;
use crate::{
    auth::session::{Member, PeopleManagers, RequireRole},
    domain::groups::Group,
    domain::roles::Role,
    domain::statuses::MembershipStatus,
    error::Result,
    page::{FieldErrors, Nav},
    pagination::{Pagination, Requested, kept},
    state::AppState,
};

pub fn router(limit: crate::web::AttemptLimit) -> Router<AppState> {
    // These forms may check the manager's password: under the per-address limit.
    let checked = Router::new()
        .route(
            paths::NewPerson::PATH,
            get(person_form::new_form).post(person_form::create),
        )
        .route(
            paths::EditPerson::PATH,
            get(person_form::edit_form).post(person_form::save),
        )
        .route_layer(limit);
    Router::new()
        .merge(checked)
        .route(paths::People::PATH, get(list))
        .route(paths::Person::PATH, get(person::show))
        .route(paths::Reactivate::PATH, post(person::reactivate))
        .route(paths::Invite::PATH, post(person::invite))
}

/// The list's filters: what its page links and downloads keep.
const FILTERS: &[&str] = &["q", "group", "job_title", "status", "policy", "signed"];

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    job_title: String,
    #[serde(default)]
    status: String,
    /// A published version; with `signed`, only those who have ("yes") or have not ("no").
    pub policy: Option<Uuid>,
    #[serde(default)]
    signed: String,
    imported: Option<String>,
    added: Option<usize>,
    changed: Option<usize>,
    left: Option<usize>,
    /// How many of those ticked were just marked as left.
    marked_left: Option<usize>,
}

pub(super) struct PersonRow {
    /// How many match the filters, on every page.
    pub total: i64,
    pub membership_id: Uuid,
    pub full_name: String,
    pub email: String,
    pub grp: Group,
    pub job_title: String,
    pub status: MembershipStatus,
    pub roles: Vec<Role>,
    pub signed: Option<bool>,
}

struct VersionChoice {
    id: Uuid,
    name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/people.html")]
pub(super) struct ListPage {
    nav: Nav,
    slug: String,
    query: ListQuery,
    /// The filters as given, for the address the ticked people are sent to.
    query_string: String,
    /// The filters alone, for the downloads.
    filters: String,
    manager_membership: Uuid,
    grantable: &'static [Role],
    /// A choice of people to mark as left that could not be taken (none ticked).
    errors: FieldErrors,
    people: Vec<PersonRow>,
    pagination: Pagination,
    job_titles: Vec<String>,
    versions: Vec<VersionChoice>,
}

impl ListPage {
    fn groups(&self) -> Vec<(&'static str, String)> {
        Group::ALL
            .into_iter()
            .map(|group| (group.as_str(), group.to_string()))
            .collect()
    }

    fn selected(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "group" => &self.query.group,
            "job_title" => &self.query.job_title,
            "status" => &self.query.status,
            "signed" => &self.query.signed,
            _ => return false,
        };
        current == value
    }

    /// Whether the manager may tick this person to mark as left: active, not themselves,
    /// and holding no role the manager cannot give.
    fn may_leave(&self, person: &PersonRow) -> bool {
        person.status == MembershipStatus::Active
            && person.membership_id != self.manager_membership
            && person
                .roles
                .iter()
                .all(|role| self.grantable.contains(role))
    }

    /// The first person with a tick box: the error "select someone" leads to it.
    fn first_leavable(&self) -> Option<Uuid> {
        self.people
            .iter()
            .find(|p| self.may_leave(p))
            .map(|p| p.membership_id)
    }

    fn policy_selected(&self, id: &Uuid) -> bool {
        self.query.policy.as_ref() == Some(id)
    }
}

async fn list(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    RawQuery(raw): RawQuery,
    Query(query): Query<ListQuery>,
) -> Result<ListPage> {
    list_page(&state, &manager, raw, query, FieldErrors::default()).await
}

/// The people matching the filters in `query`, in surname order: `limit` of them from
/// `offset`, or all of them with no limit. Each row says how many match in all.
pub(super) async fn matching(
    state: &AppState,
    school_id: Uuid,
    query: &ListQuery,
    limit: Option<i64>,
    offset: i64,
) -> Result<Vec<PersonRow>> {
    let pattern = format!(
        "%{}%",
        query
            .q
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let empty_to_none = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let signed_filter = match query.signed.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    Ok(sqlx::query_as!(
        PersonRow,
        r#"select count(*) over () as "total!", m.id as membership_id, coalesce(m.pending_name, u.full_name) as "full_name!",
                  u.email, m.grp as "grp: Group", m.job_title,
                  m.status as "status: MembershipStatus", m.roles as "roles: Vec<Role>",
                  -- Signed, outstanding (asked to sign, by the policy's audience, and not
                  -- signed), or neither: the dashboard counts the same way.
                  case when $7::uuid is null then null
                       when exists (select 1 from agreements a where a.membership_id = m.id and a.version_id = $7) then true
                       when exists (select 1 from must_sign w where w.membership_id = m.id and w.version_id = $7) then false
                  end as signed
           from memberships m join users u on u.id = m.user_id
           where m.school_id = $1
             and ($2 = '%%' or coalesce(m.pending_name, u.full_name) ilike $2 or u.email ilike $2)
             and ($3::text is null or m.grp = $3)
             and ($4::text is null or m.job_title = $4)
             and ($5::text is null or m.status = $5)
             and ($6::bool is null or $7::uuid is null
                  or ($6 and exists (select 1 from agreements a where a.membership_id = m.id and a.version_id = $7))
                  or (not $6 and exists (select 1 from must_sign w where w.membership_id = m.id and w.version_id = $7)
                      and not exists (select 1 from agreements a where a.membership_id = m.id and a.version_id = $7)))
           -- In surname order; an offer not yet accepted by the name the school typed, as
           -- the account's own is not the school's to know.
           order by m.status = 'pending', case when m.pending_name is null then lower(u.surname) end,
                    lower(coalesce(m.pending_name, u.full_name)), u.email, m.id
           limit $8 offset $9"#,
        school_id,
        pattern,
        empty_to_none(&query.group),
        empty_to_none(&query.job_title),
        empty_to_none(&query.status),
        signed_filter,
        query.policy,
        limit,
        offset
    )
    .fetch_all(&state.pool)
    .await?)
}

/// The people matching the filters in `query` (as given in `raw`), a page of them.
pub(super) async fn list_page(
    state: &AppState,
    manager: &Member,
    raw: Option<String>,
    query: ListQuery,
    errors: FieldErrors,
) -> Result<ListPage> {
    // A page beyond the end (the list has shrunk since, or the address was typed) is the first.
    let mut page = Requested::from_query(raw.as_deref());
    let people = loop {
        let people = matching(
            state,
            manager.school.id,
            &query,
            Some(Requested::limit_i64()),
            page.offset_i64(),
        )
        .await?;
        if people.is_empty() && page != Requested::first() {
            page = Requested::first();
            continue;
        }
        break people;
    };
    let total = people
        .first()
        .map_or(0, |p| usize::try_from(p.total).unwrap_or(0));
    let pagination = Pagination::new(
        &paths::People::new(&manager.school.slug).to_string(),
        raw.as_deref(),
        FILTERS,
        page,
        total,
    );
    let job_titles = sqlx::query_scalar!(
        "select distinct job_title from memberships where school_id = $1 and job_title <> '' order by job_title",
        manager.school.id
    )
    .fetch_all(&state.pool)
    .await?;
    let versions = sqlx::query_as!(
        VersionChoice,
        r#"select v.id, p.name || ' ' || v.label as "name!" from policy_versions v
           join policies p on p.id = v.policy_id where v.school_id = $1 and v.status = 'published'
           order by p.name"#,
        manager.school.id
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(ListPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        filters: kept(raw.as_deref(), FILTERS),
        query_string: raw.unwrap_or_default(),
        manager_membership: manager.membership_id,
        grantable: roles::grantable(manager),
        errors,
        query,
        people,
        pagination,
        job_titles,
        versions,
    })
}
