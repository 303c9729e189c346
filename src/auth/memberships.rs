//! Offers of a membership: a school that adds an address which already has an account offers
//! it a place, and only the person, signed in, accepts or declines it. Until they accept, the
//! school sees the name it typed and nothing of the account.

use axum::{
    Router,
    extract::{Path, State},
    response::Redirect,
    routing::post,
};
use uuid::Uuid;

use super::session::CurrentUser;
use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    error::{AppError, Result},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::AcceptMembership::PATH, post(accept))
        .route(paths::DeclineMembership::PATH, post(decline))
}

async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(membership_id): Path<Uuid>,
) -> Result<Redirect> {
    // A session made through one school's provider answers no other school's offer.
    if user.only_school.is_some() {
        return Err(AppError::NotFound);
    }
    let mut tx = state.pool.begin().await?;
    let school = sqlx::query_scalar!(
        "update memberships set status = 'active', pending_name = null, joined_at = now()
         where id = $1 and user_id = $2 and status = 'pending'
         returning school_id",
        membership_id,
        user.id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    audit::record(
        &mut *tx,
        Some(school),
        Some(user.id),
        &Event::MembershipAccepted { membership_id },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/?accepted=1"))
}

/// Declining removes the offer: it never held anything but the school's typing.
async fn decline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(membership_id): Path<Uuid>,
) -> Result<Redirect> {
    // A session made through one school's provider answers no other school's offer.
    if user.only_school.is_some() {
        return Err(AppError::NotFound);
    }
    let mut tx = state.pool.begin().await?;
    let school = sqlx::query_scalar!(
        "delete from memberships where id = $1 and user_id = $2 and status = 'pending'
         returning school_id",
        membership_id,
        user.id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    audit::record(
        &mut *tx,
        Some(school),
        Some(user.id),
        &Event::MembershipDeclined { membership_id },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/?declined=1"))
}
