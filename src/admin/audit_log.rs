//! The audit log, for the school's admins.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawQuery, State};
use serde::Deserialize;

use crate::paths;
use crate::{
    audit::Logged,
    auth::session::{Admins, RequireRole},
    clock,
    error::Result,
    page::Nav,
    pagination::{Pagination, Requested},
    state::AppState,
};

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(paths::AuditLog::PATH, axum::routing::get(audit_log))
}

struct EventRow {
    at: String,
    who: String,
    action: String,
    subject: String,
    details: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    nav: Nav,
    slug: String,
    action: String,
    actions: Vec<String>,
    events: Vec<EventRow>,
    pagination: Pagination,
}

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    action: String,
}

/// The school's events, the sign-ins (and failed ones) of its members, and its online
/// signatures, which are their own audit record in `agreements`: newest first. Signatures from
/// before that, which also have an `agreement_signed` event, are shown once.
async fn audit_log(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    RawQuery(raw): RawQuery,
    Query(query): Query<AuditQuery>,
) -> Result<AuditPage> {
    let action = (!query.action.is_empty()).then(|| query.action.clone());
    // A page beyond the end (the address was typed, or kept from a longer list) is the first.
    let mut page = Requested::from_query(raw.as_deref());
    let rows = loop {
        let rows = sqlx::query!(
        r#"select count(*) over () as "total!", x.at as "at!", x.action as "action!", x.subject as "subject!",
                  x.details as "details!", u.full_name as "who?"
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
           order by x.at desc, x.seq desc, x.subject desc
           limit $3 offset $4"#,
        admin.school.id,
        action,
        Requested::limit_i64(),
        page.offset_i64()
    )
    .fetch_all(&state.pool)
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
    Ok(AuditPage {
        nav: admin.nav(),
        slug: admin.school.slug.clone(),
        action: query.action,
        actions,
        pagination: Pagination::new(
            &paths::AuditLog::new(&admin.school.slug).to_string(),
            raw.as_deref(),
            &["action"],
            page,
            total,
        ),
        events: rows
            .into_iter()
            .map(|r| EventRow {
                at: clock::date_time(r.at),
                who: r
                    .who
                    .unwrap_or_else(|| "Someone unknown, or the portal".to_owned()),
                action: Logged::read(&r.action, &r.subject, &r.details).to_string(),
                subject: r.subject,
                details: if r.details == serde_json::json!({}) {
                    String::new()
                } else {
                    r.details.to_string()
                },
            })
            .collect(),
    })
}
