//! The admin's mail page: whether email is set up, what is waiting, the emails that failed
//! for good (each with a button to try again), and a test email to send oneself.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    response::Redirect,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    auth::session::{Admins, RequireRole},
    clock,
    error::{AppError, Result},
    mail::sender,
    page::Nav,
    state::AppState,
};

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(paths::Mail::PATH, axum::routing::get(mail_page))
        .route(paths::RetryMail::PATH, axum::routing::post(retry))
        .route(paths::TestMail::PATH, axum::routing::post(send_test))
}

struct Failed {
    id: Uuid,
    to_address: String,
    subject: String,
    attempts: i32,
    last_error: String,
    created: String,
}

struct Waiting {
    to_address: String,
    subject: String,
    created: String,
}

/// The most waiting emails listed; the count says how many there are in all.
const WAITING_LISTED: i64 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "mail/admin.html")]
struct MailPage {
    nav: Nav,
    slug: String,
    configured: bool,
    pending: i64,
    sent: i64,
    waiting: Vec<Waiting>,
    failed: Vec<Failed>,
    /// Where a test email just went.
    tested: Option<String>,
}

#[derive(Deserialize)]
struct MailQuery {
    #[serde(default)]
    tested: Option<String>,
}

async fn mail_page(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    Query(query): Query<MailQuery>,
) -> Result<MailPage> {
    let counts = sqlx::query!(
        r#"select count(*) filter (where status = 'pending') as "pending!",
                  count(*) filter (where status = 'sent') as "sent!"
           from outbox where school_id = $1"#,
        admin.school.id
    )
    .fetch_one(&state.pool)
    .await?;
    let waiting = sqlx::query!(
        "select to_address, subject, created_at from outbox
         where status = 'pending' and school_id = $1
         order by created_at, id limit $2",
        admin.school.id,
        WAITING_LISTED
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|r| Waiting {
        to_address: r.to_address,
        subject: r.subject,
        created: clock::date_time(r.created_at),
    })
    .collect();
    let failed = sqlx::query!(
        "select id, to_address, subject, attempts, last_error, created_at from outbox
         where status = 'failed'
           and (school_id = $1
                -- Password resets belong to no school: shown to the schools of the person.
                or (school_id is null and lower(to_address) in
                      (select lower(u.email) from memberships m join users u on u.id = m.user_id
                       where m.school_id = $1)))
         order by created_at desc limit 200",
        admin.school.id
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|r| Failed {
        id: r.id,
        to_address: r.to_address,
        subject: r.subject,
        attempts: r.attempts,
        last_error: r.last_error.unwrap_or_default(),
        created: clock::date_time(r.created_at),
    })
    .collect();
    Ok(MailPage {
        nav: admin.nav(),
        slug: admin.school.slug.clone(),
        configured: state.settings.mail_configured,
        pending: counts.pending,
        sent: counts.sent,
        waiting,
        failed,
        tested: query.tested.map(|_| admin.user.email.clone()),
    })
}

/// Queues a test email to the admin's own address, as every other email is queued.
async fn send_test(State(state): State<AppState>, admin: RequireRole<Admins>) -> Result<Redirect> {
    let link = format!(
        "{}{}",
        state.settings.base_url,
        paths::Mail::new(&admin.school.slug)
    );
    let asked_at = clock::date_time(time::OffsetDateTime::now_utc());
    let email = crate::mail::TestEmail {
        first_name: crate::mail::first_name(&admin.user.full_name),
        school_name: &admin.school.name,
        asked_at: &asked_at,
        link: &link,
    }
    .render(&admin.user.email, "A test email from AUP Portal".to_owned())
    .map_err(|err| AppError::Other(err.into()))?;
    let mut conn = state.pool.acquire().await?;
    crate::mail::queue(
        &mut conn,
        Some(admin.school.id),
        &format!("test-email:{}", Uuid::new_v4()),
        &email,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "{}?tested=1",
        paths::Mail::new(&admin.school.slug)
    )))
}

async fn retry(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    Path((_slug, id)): Path<(String, Uuid)>,
) -> Result<Redirect> {
    if !sender::retry(&state.pool, admin.school.id, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &state.pool,
        Some(admin.school.id),
        Some(admin.user.id),
        &Event::EmailRetried { email_id: id },
    )
    .await?;
    Ok(Redirect::to(
        &paths::Mail::new(&admin.school.slug).to_string(),
    ))
}
