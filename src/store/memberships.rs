//! Offers of a membership to an existing account: telling the person, and the offers waiting
//! for their answer.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::paths;
use crate::{
    domain::groups::Group,
    mail::{self, MembershipOffer},
};

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
    let link = format!("{base_url}{}", paths::Schools::new());
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
    pub grp: Group,
    pub job_title: String,
}

pub async fn waiting(db: &sqlx::PgPool, user_id: Uuid) -> sqlx::Result<Vec<Offer>> {
    sqlx::query_as!(
        Offer,
        "select m.id as membership_id, s.name as school_name, m.grp as \"grp: Group\", m.job_title
         from memberships m join schools s on s.id = m.school_id
         where m.user_id = $1 and m.status = 'pending' order by s.name",
        user_id
    )
    .fetch_all(db)
    .await
}

/// Marks an active membership as left on `on`, in the caller's transaction: false if it is
/// not an active membership of the school. The person's sessions end, unless they still
/// belong to another school; this school's pages are closed to them at once by the
/// membership check.
pub async fn mark_left(
    db: &mut PgConnection,
    school_id: Uuid,
    membership_id: Uuid,
    on: time::Date,
) -> sqlx::Result<bool> {
    let marked = sqlx::query_scalar!(
        "update memberships set status = 'left', left_on = $3
         where id = $1 and school_id = $2 and status = 'active'
         returning user_id",
        membership_id,
        school_id,
        on
    )
    .fetch_optional(&mut *db)
    .await?;
    let Some(user_id) = marked else {
        return Ok(false);
    };
    sqlx::query!(
        "update users set auth_epoch = auth_epoch + 1 where id = $1
         and not exists (select 1 from memberships where user_id = $1 and status = 'active')",
        user_id
    )
    .execute(&mut *db)
    .await?;
    Ok(true)
}
