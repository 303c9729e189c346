//! Handing an invitation over in person, for staff without a working email: the SBM makes a
//! single-use link, good for 24 hours, to print or show. Only for someone whose only role is
//! signer; audited with the SBM as actor; and the person's evidence later names who handed
//! it over. Making one ends the links sent by email before.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, State},
    response::{IntoResponse, Response},
    routing::get,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    person_records::{Person, load_person},
    roles::outranks,
};
use crate::audit::Event;
use crate::paths;
use crate::store::tokens::{HANDOVER_LIFETIME, issue_by, void_password_links};
use crate::{
    audit,
    auth::session::{Member, PeopleManagers, RequireRole},
    clock,
    domain::statuses::TokenPurpose,
    error::{AppError, Result},
    page::Nav,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::HandOver::PATH, get(check).post(hand_over))
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/hand_over.html")]
struct HandOverPage {
    nav: Nav,
    slug: String,
    person: Person,
    /// The link, once made: shown on this page only, never again.
    link: Option<String>,
    expires: String,
}

/// The person, if the manager may hand them a link: 404 for anyone who may not have one.
async fn eligible(state: &AppState, manager: &Member, membership_id: Uuid) -> Result<Person> {
    let person = load_person(&state.pool, manager, membership_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let passwords_off = sqlx::query_scalar!(
        "select passwords_off from schools where id = $1",
        manager.school.id
    )
    .fetch_one(&state.pool)
    .await?;
    if !person.may_be_handed_a_link() || outranks(manager, &person.roles) || passwords_off {
        return Err(AppError::NotFound);
    }
    Ok(person)
}

/// What handing over means, before the link is made.
async fn check(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<HandOverPage> {
    let person = eligible(&state, &manager, membership_id).await?;
    Ok(HandOverPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        person,
        link: None,
        expires: String::new(),
    })
}

/// Makes the link and shows it, once: the page is not stored (`no-store`, as every page).
async fn hand_over(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<Response> {
    let person = eligible(&state, &manager, membership_id).await?;
    let mut tx = state.pool.begin().await?;
    void_password_links(&mut tx, person.user_id).await?;
    let (_, secret) = issue_by(
        &mut tx,
        person.user_id,
        TokenPurpose::Handover,
        HANDOVER_LIFETIME,
        Some(manager.user.id),
    )
    .await?;
    audit::record(
        &mut *tx,
        Some(manager.school.id),
        Some(manager.user.id),
        &Event::InvitationHandedOver { membership_id },
    )
    .await?;
    tx.commit().await?;
    Ok(HandOverPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        person,
        link: Some(format!(
            "{}{}",
            state.settings.base_url,
            paths::SetPassword::new(&secret)
        )),
        expires: clock::date_time(OffsetDateTime::now_utc() + HANDOVER_LIFETIME),
    }
    .into_response())
}
