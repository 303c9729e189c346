//! Offers of a membership: a school that adds an address which already has an account offers
//! it a place, and only the person, signed in, accepts or declines it. Until they accept, the
//! school sees the name it typed and nothing of the account.

use axum::{
    Router,
    extract::{Path, State},
    response::Redirect,
    routing::post,
};
use sqlx::PgConnection;
use uuid::Uuid;

use super::session::CurrentUser;
use crate::{
    audit,
    error::{AppError, Result},
    mail::{self, MembershipOffer},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/memberships/{membership_id}/accept", post(accept))
        .route("/memberships/{membership_id}/decline", post(decline))
}

/// Tells the person a school has offered them a place, in the caller's transaction.
pub async fn offer(
    db: &mut PgConnection,
    membership_id: Uuid,
    base_url: &str,
) -> anyhow::Result<()> {
    let offer = sqlx::query!(
        "select u.email, s.name as school_name from memberships m
         join users u on u.id = m.user_id join schools s on s.id = m.school_id
         where m.id = $1",
        membership_id
    )
    .fetch_one(&mut *db)
    .await?;
    let link = format!("{base_url}/");
    let message = MembershipOffer {
        school_name: &offer.school_name,
        link: &link,
    }
    .render(
        &offer.email,
        format!("{} has added you to AUP Portal", offer.school_name),
    )?;
    mail::queue(
        db,
        None,
        &format!("membership-offer:{membership_id}"),
        &message,
    )
    .await?;
    Ok(())
}

/// An offer waiting for the signed-in person's answer.
pub struct Offer {
    pub membership_id: Uuid,
    pub school_name: String,
    pub grp: String,
    pub job_title: String,
}

pub async fn waiting(db: &sqlx::PgPool, user_id: Uuid) -> sqlx::Result<Vec<Offer>> {
    sqlx::query_as!(
        Offer,
        "select m.id as membership_id, s.name as school_name, m.grp, m.job_title
         from memberships m join schools s on s.id = m.school_id
         where m.user_id = $1 and m.status = 'pending' order by s.name",
        user_id
    )
    .fetch_all(db)
    .await
}

async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(membership_id): Path<Uuid>,
) -> Result<Redirect> {
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
        "membership_accepted",
        &membership_id.to_string(),
        None,
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
        "membership_declined",
        &membership_id.to_string(),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/?declined=1"))
}
