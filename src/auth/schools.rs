//! The page that sends a signed-in person to their school, or lets them choose one.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::session::CurrentUser;
use crate::paths;
use crate::store::memberships;
use crate::{error::Result, page::Nav, state::AppState};

#[derive(Template, WebTemplate)]
#[template(path = "auth/schools.html")]
struct SchoolsPage {
    nav: Nav,
    schools: Vec<SchoolLink>,
    offers: Vec<memberships::Offer>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub(super) struct SchoolsQuery {
    accepted: Option<String>,
    declined: Option<String>,
}

struct SchoolLink {
    slug: String,
    name: String,
}

/// One school: straight to it. Several (a DPO serving many schools), or an offer waiting for
/// an answer: choose.
pub(super) async fn schools(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SchoolsQuery>,
) -> Result<Response> {
    let schools = sqlx::query_as!(
        SchoolLink,
        r#"select s.slug, s.name from memberships m join schools s on s.id = m.school_id
           where m.user_id = $1 and m.status = 'active' and ($2::uuid is null or s.id = $2)
           order by s.name"#,
        user.id,
        user.only_school
    )
    .fetch_all(&state.pool)
    .await?;
    // A session made through one school's provider answers no other school's offer.
    let offers = match user.only_school {
        None => memberships::waiting(&state.pool, user.id).await?,
        Some(_) => vec![],
    };
    let notice = if query.accepted.is_some() {
        Some("You have joined the school. Its policies are waiting for you below.")
    } else if query.declined.is_some() {
        Some("You have declined the school's offer. It has been removed.")
    } else {
        None
    };
    if let ([only], true, None) = (schools.as_slice(), offers.is_empty(), notice) {
        return Ok(Redirect::to(&paths::SchoolHome::new(&only.slug).to_string()).into_response());
    }
    Ok(SchoolsPage {
        nav: user.nav(),
        schools,
        offers,
        notice,
    }
    .into_response())
}
