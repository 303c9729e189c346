//! The audit trail: who did what, when, in which school. Rows are append-only in the
//! database; details never hold names or email addresses.

use sqlx::PgExecutor;
use uuid::Uuid;

pub async fn record(
    db: impl PgExecutor<'_>,
    school_id: Option<Uuid>,
    actor: Option<Uuid>,
    action: &str,
    subject: &str,
    details: Option<serde_json::Value>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into audit_events (school_id, actor_user_id, action, subject, details)
         values ($1, $2, $3, $4, $5)",
        school_id,
        actor,
        action,
        subject,
        details.unwrap_or_else(|| serde_json::json!({}))
    )
    .execute(db)
    .await?;
    Ok(())
}

// ---- The audit log, for the school's admins ----

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Query, State},
    routing::get,
};
use serde::Deserialize;

use crate::{
    auth::session::{Admins, RequireRole},
    clock,
    error::Result,
    page::Nav,
    startup::AppState,
};

pub fn router(limit: crate::web::AttemptLimit) -> Router<AppState> {
    Router::new()
        .route(
            "/s/{slug}/admin/settings",
            get(settings_page).post(save_settings),
        )
        // Saving may check the admin's password: under the per-address limit.
        .route_layer(limit)
        .route("/s/{slug}/admin/audit", get(audit_log))
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
    Query(query): Query<AuditQuery>,
) -> Result<AuditPage> {
    let action = (!query.action.is_empty()).then(|| query.action.clone());
    let rows = sqlx::query!(
        r#"select x.at as "at!", x.action as "action!", x.subject as "subject!",
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
           order by x.at desc, x.seq desc
           limit 500"#,
        admin.school.id,
        action
    )
    .fetch_all(&state.pool)
    .await?;
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
        events: rows
            .into_iter()
            .map(|r| EventRow {
                at: clock::date_time(r.at),
                who: r
                    .who
                    .unwrap_or_else(|| "Someone unknown, or the portal".to_owned()),
                action: r.action.replace('_', " "),
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

// ---- The school's settings, for its admins ----

#[derive(Template, WebTemplate)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    nav: Nav,
    slug: String,
    require_two_factor: bool,
    saved: bool,
    errors: crate::page::FieldErrors,
}

#[derive(Deserialize)]
struct SettingsQuery {
    saved: Option<String>,
}

async fn settings_page(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    Query(query): Query<SettingsQuery>,
) -> Result<SettingsPage> {
    let require_two_factor = sqlx::query_scalar!(
        "select require_two_factor from schools where id = $1",
        admin.school.id
    )
    .fetch_one(&state.pool)
    .await?;
    Ok(SettingsPage {
        nav: admin.nav(),
        slug: admin.school.slug.clone(),
        require_two_factor,
        saved: query.saved.is_some(),
        errors: crate::page::FieldErrors::default(),
    })
}

#[derive(Deserialize)]
struct SettingsForm {
    require_two_factor: Option<String>,
    #[serde(default)]
    password: String,
}

async fn save_settings(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    axum::Form(form): axum::Form<SettingsForm>,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    let require = form.require_two_factor.is_some();
    let was = sqlx::query_scalar!(
        "select require_two_factor from schools where id = $1",
        admin.school.id
    )
    .fetch_one(&state.pool)
    .await?;
    // Turning the second factor off weakens every account that reaches personal data: the
    // admin proves it is them first.
    if was
        && !require
        && let Some(message) =
            crate::auth::reauth::check(&state.pool, admin.user.id, &form.password, "settings")
                .await?
                .refusal(
                    "Enter your password to turn the requirement off",
                    "Your password is not right",
                )
    {
        let mut errors = crate::page::FieldErrors::default();
        errors.add("password", message);
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            SettingsPage {
                nav: admin.nav(),
                slug: admin.school.slug.clone(),
                require_two_factor: require,
                saved: false,
                errors,
            },
        )
            .into_response());
    }
    let mut tx = state.pool.begin().await?;
    sqlx::query!(
        "update schools set require_two_factor = $2 where id = $1",
        admin.school.id,
        require
    )
    .execute(&mut *tx)
    .await?;
    record(
        &mut *tx,
        Some(admin.school.id),
        Some(admin.user.id),
        "setting_changed",
        "require_two_factor",
        Some(serde_json::json!({ "require_two_factor": require })),
    )
    .await?;
    tx.commit().await?;
    Ok(
        axum::response::Redirect::to(&format!("/s/{}/admin/settings?saved=1", admin.school.slug))
            .into_response(),
    )
}
