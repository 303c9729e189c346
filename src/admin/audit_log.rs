//! The audit log, for the school's admins: filtered by what happened, who did it and when,
//! 50 to a page, and downloadable as CSV with the same filters.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::paths;
use crate::{
    audit::{self, Event, Logged},
    auth::session::{Admins, RequireRole},
    clock,
    domain::dates::DateParts,
    error::Result,
    page::{FieldErrors, Nav},
    pagination::{Pagination, Requested},
    spreadsheet::{csv_response, iso_uk},
    state::AppState,
};

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(paths::AuditLog::PATH, axum::routing::get(audit_log))
        .route(paths::AuditLogCsv::PATH, axum::routing::get(audit_csv))
}

struct EventRow {
    at: String,
    who: String,
    action: String,
    subject: String,
    details: String,
}

/// Someone the log can be filtered to: any member, past or present, who has accepted.
struct PersonChoice {
    id: Uuid,
    full_name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    nav: Nav,
    slug: String,
    query: AuditQuery,
    /// The filters as given, for the download link.
    query_string: String,
    errors: FieldErrors,
    actions: Vec<String>,
    people: Vec<PersonChoice>,
    events: Vec<EventRow>,
    pagination: Pagination,
}

impl AuditPage {
    fn person_selected(&self, id: &Uuid) -> bool {
        self.query.person.trim() == id.to_string()
    }
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    action: String,
    /// The account of the person who did it.
    #[serde(default)]
    person: String,
    #[serde(default)]
    from_day: String,
    #[serde(default)]
    from_month: String,
    #[serde(default)]
    from_year: String,
    #[serde(default)]
    to_day: String,
    #[serde(default)]
    to_month: String,
    #[serde(default)]
    to_year: String,
}

/// The filters that can be applied; a date that cannot be read is an error and no filter.
struct Filters {
    action: Option<String>,
    person: Option<Uuid>,
    /// From the start of the first day to the end of the last, in UK time.
    since: Option<OffsetDateTime>,
    before: Option<OffsetDateTime>,
}

impl AuditQuery {
    fn filters(&self) -> (Filters, FieldErrors) {
        let mut errors = FieldErrors::default();
        let mut date = |field: &str, what: &str, day: &str, month: &str, year: &str| {
            if [day, month, year].iter().all(|p| p.trim().is_empty()) {
                return None;
            }
            match (DateParts { day, month, year }).date(what) {
                Ok(date) => Some(date),
                Err(message) => {
                    errors.add(field, message);
                    None
                }
            }
        };
        let from = date(
            "from",
            "the first day",
            &self.from_day,
            &self.from_month,
            &self.from_year,
        );
        let to = date(
            "to",
            "the last day",
            &self.to_day,
            &self.to_month,
            &self.to_year,
        );
        let (from, to) = match (from, to) {
            (Some(from), Some(to)) if to < from => {
                errors.add(
                    "to",
                    "The last day must be the same as or after the first day",
                );
                (Some(from), None)
            }
            dates => dates,
        };
        let filters = Filters {
            action: (!self.action.is_empty()).then(|| self.action.clone()),
            // Chosen from a list: anything else is no choice.
            person: Uuid::parse_str(self.person.trim()).ok(),
            since: from.map(clock::uk_midnight),
            before: to.and_then(Date::next_day).map(clock::uk_midnight),
        };
        (filters, errors)
    }
}

struct Row {
    total: i64,
    at: OffsetDateTime,
    action: String,
    subject: String,
    details: serde_json::Value,
    who: Option<String>,
}

impl Row {
    fn who(&self) -> String {
        self.who
            .clone()
            .unwrap_or_else(|| "Someone unknown, or the portal".to_owned())
    }

    fn what(&self) -> String {
        Logged::read(&self.action, &self.subject, &self.details).to_string()
    }

    fn details(&self) -> String {
        if self.details == serde_json::json!({}) {
            String::new()
        } else {
            self.details.to_string()
        }
    }
}

/// The school's events, the sign-ins (and failed ones) of its members, and its online
/// signatures, which are their own audit record in `agreements`: newest first, `limit` of them
/// from `offset` (all of them with no limit). Signatures from before that, which also have an
/// `agreement_signed` event, are shown once.
async fn events(
    state: &AppState,
    school_id: Uuid,
    filters: &Filters,
    limit: Option<i64>,
    offset: i64,
) -> Result<Vec<Row>> {
    Ok(sqlx::query_as!(
        Row,
        r#"select count(*) over () as "total!", x.at as "at!", x.action as "action!",
                  x.subject as "subject!", x.details as "details!", u.full_name as "who?"
           from (select e.at, e.action, e.subject, e.details, e.actor_user_id as actor,
                        e.id as seq
                 from audit_events e
                 where (e.school_id = $1
                        -- A member's own sign-ins and password changes, from the day they
                        -- joined: not before, and not while an offer waits for its answer.
                        or (e.school_id is null and exists
                              (select 1 from memberships m
                               where m.school_id = $1 and m.user_id = e.actor_user_id
                                 and m.joined_at <= e.at)))
                   and e.action <> 'agreement_signed'
                   and ($2::text is null or e.action = $2)
                 union all
                 select a.recorded_at, 'agreement_signed', a.id::text,
                        jsonb_build_object('version_id', a.version_id), m.user_id, 0
                 from memberships m join agreements a on a.membership_id = m.id
                 where m.school_id = $1 and a.method = 'online'
                   and ($2::text is null or $2 = 'agreement_signed')) x
           left join users u on u.id = x.actor
           where ($5::uuid is null or x.actor = $5)
             and ($6::timestamptz is null or x.at >= $6)
             and ($7::timestamptz is null or x.at < $7)
           order by x.at desc, x.seq desc, x.subject desc
           limit $3 offset $4"#,
        school_id,
        filters.action,
        limit,
        offset,
        filters.person,
        filters.since,
        filters.before,
    )
    .fetch_all(&state.pool)
    .await?)
}

async fn audit_log(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    RawQuery(raw): RawQuery,
    Query(query): Query<AuditQuery>,
) -> Result<Response> {
    let (filters, errors) = query.filters();
    // A page beyond the end (the address was typed, or kept from a longer list) is the first.
    let mut page = Requested::from_query(raw.as_deref());
    let rows = loop {
        let rows = events(
            &state,
            admin.school.id,
            &filters,
            Some(Requested::limit_i64()),
            page.offset_i64(),
        )
        .await?;
        if rows.is_empty() && page != Requested::first() {
            page = Requested::first();
            continue;
        }
        break rows;
    };
    let total = rows
        .first()
        .map_or(0, |r| usize::try_from(r.total).unwrap_or(0));
    let actions = sqlx::query_scalar!(
        r#"select distinct action as "action!" from audit_events e
           where e.school_id = $1
              or (e.school_id is null and exists (select 1 from memberships m
                   where m.school_id = $1 and m.user_id = e.actor_user_id and m.joined_at <= e.at))
           union
           select 'agreement_signed' where exists
             (select 1 from memberships m join agreements a on a.membership_id = m.id
              where m.school_id = $1 and a.method = 'online')
           order by 1"#,
        admin.school.id
    )
    .fetch_all(&state.pool)
    .await?;
    let people = sqlx::query_as!(
        PersonChoice,
        r#"select u.id, u.full_name from memberships m join users u on u.id = m.user_id
           -- Not an offer waiting for its answer: the account's own name is not the school's
           -- to know until it is accepted, and the log shows nothing of it before then.
           where m.school_id = $1 and m.status <> 'pending'
           order by lower(u.surname), lower(u.full_name), u.email"#,
        admin.school.id
    )
    .fetch_all(&state.pool)
    .await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AuditPage {
        nav: admin.nav(),
        slug: admin.school.slug.clone(),
        pagination: Pagination::new(
            &paths::AuditLog::new(&admin.school.slug).to_string(),
            raw.as_deref(),
            &[
                "action",
                "person",
                "from_day",
                "from_month",
                "from_year",
                "to_day",
                "to_month",
                "to_year",
            ],
            page,
            total,
        ),
        query_string: raw.unwrap_or_default(),
        query,
        errors,
        actions,
        people,
        events: rows
            .iter()
            .map(|r| EventRow {
                at: clock::date_time(r.at),
                who: r.who(),
                action: r.what(),
                subject: r.subject.clone(),
                details: r.details(),
            })
            .collect(),
    };
    Ok((status, page).into_response())
}

/// The log as filtered, every page of it, as CSV. The download is itself audited.
async fn audit_csv(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    Query(query): Query<AuditQuery>,
) -> Result<Response> {
    let (filters, errors) = query.filters();
    if !errors.is_empty() {
        // Only a link built from a rejected filter gets here: the page says what is wrong.
        return Ok(axum::response::Redirect::to(
            &paths::AuditLog::new(&admin.school.slug).to_string(),
        )
        .into_response());
    }
    let rows = events(&state, admin.school.id, &filters, None, 0).await?;
    let mut table = vec![
        ["When", "Who", "What", "Action", "Subject", "Details"]
            .map(String::from)
            .to_vec(),
    ];
    for r in &rows {
        table.push(vec![
            iso_uk(r.at),
            r.who(),
            r.what(),
            r.action.clone(),
            r.subject.clone(),
            r.details(),
        ]);
    }
    audit::record(
        &state.pool,
        Some(admin.school.id),
        Some(admin.user.id),
        &Event::AuditLogExported { rows: rows.len() },
    )
    .await?;
    csv_response(&format!("{}-audit-log.csv", admin.school.slug), table)
}
