//! The admin's mail page: whether email is set up, what is waiting, and the emails that
//! failed for good, each with a button to try again.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    response::Redirect,
};
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
}

struct Failed {
    id: Uuid,
    to_address: String,
    subject: String,
    attempts: i32,
    last_error: String,
    created: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "mail/admin.html")]
struct MailPage {
    nav: Nav,
    slug: String,
    configured: bool,
    pending: i64,
    sent: i64,
    failed: Vec<Failed>,
}

async fn mail_page(State(state): State<AppState>, admin: RequireRole<Admins>) -> Result<MailPage> {
    let counts = sqlx::query!(
        r#"select count(*) filter (where status = 'pending') as "pending!",
                  count(*) filter (where status = 'sent') as "sent!"
           from outbox where school_id = $1"#,
        admin.school.id
    )
    .fetch_one(&state.pool)
    .await?;
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
        failed,
    })
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
