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
use crate::{clock, error::Result, page::Nav, state::AppState};

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
    /// For a school where the person is DPO or admin: its published versions whose review
    /// is overdue, and those due within 30 days.
    reviews: Option<(i64, i64)>,
}

impl SchoolLink {
    /// The line a DPO serving several schools reads under each: what is due.
    fn reviews_text(&self) -> Option<String> {
        let plural = |n: i64| if n == 1 { "review" } else { "reviews" };
        self.reviews.map(|(overdue, due)| match (overdue, due) {
            (0, 0) => "No policy review is due in the next 30 days.".to_owned(),
            (0, due) => format!("{due} policy {} due in the next 30 days.", plural(due)),
            (overdue, 0) => format!("{overdue} policy {} overdue.", plural(overdue)),
            (overdue, due) => format!(
                "{overdue} policy {} overdue, and {due} due in the next 30 days.",
                plural(overdue)
            ),
        })
    }
}

/// One school: straight to it. Several (a DPO serving many schools), or an offer waiting for
/// an answer: choose, with a line on the reviews due in each school the person is DPO of.
pub(super) async fn schools(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SchoolsQuery>,
) -> Result<Response> {
    let today = clock::today_uk();
    let schools = sqlx::query!(
        r#"select s.slug, s.name, m.roles && array['dpo', 'admin'] as "reviews!",
                  count(v.id) filter (where v.next_review_due < $3) as "overdue!",
                  count(v.id) filter (where v.next_review_due between $3 and $3::date + 30) as "due!"
           from memberships m join schools s on s.id = m.school_id
           left join policy_versions v on v.school_id = s.id and v.status = 'published'
           where m.user_id = $1 and m.status = 'active' and ($2::uuid is null or s.id = $2)
           group by s.id, s.slug, s.name, m.roles
           order by s.name"#,
        user.id,
        user.only_school,
        today
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|row| SchoolLink {
        slug: row.slug,
        name: row.name,
        reviews: row.reviews.then_some((row.overdue, row.due)),
    })
    .collect::<Vec<_>>();
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
