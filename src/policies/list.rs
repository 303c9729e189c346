//! The list of the school's policies, with reviews due or overdue flagged.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use time::Date;
use uuid::Uuid;

use super::shared::Editor;
use crate::{
    clock,
    domain::groups::{Group, audience_text},
    domain::render,
    error::Result,
    page::Nav,
    state::AppState,
};

struct PolicyRow {
    id: Uuid,
    name: String,
    audience: String,
    published: Option<String>,
    review: Option<String>,
    review_flag: Option<&'static str>,
    draft: Option<(Uuid, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/list.html")]
pub(super) struct ListPage {
    nav: Nav,
    slug: String,
    policies: Vec<PolicyRow>,
}

/// Due within 30 days, or overdue: the DPO's eye goes there first.
pub fn review_flag(due: Date, today: Date) -> Option<&'static str> {
    if due < today {
        Some("Overdue")
    } else if due <= today + time::Duration::days(30) {
        Some("Due soon")
    } else {
        None
    }
}

pub(super) async fn list(State(state): State<AppState>, editor: Editor) -> Result<ListPage> {
    let rows = sqlx::query!(
        r#"select p.id, p.name, p.audience as "audience: Vec<Group>",
                  pub.label as "published_label?", pub.published_at as "published_at?",
                  pub.next_review_due as "next_review_due?",
                  d.id as "draft_id?", d.label as "draft_label?"
           from policies p
           left join policy_versions pub on pub.policy_id = p.id and pub.status = 'published'
           left join policy_versions d on d.policy_id = p.id and d.status = 'draft'
           where p.school_id = $1
           order by p.name"#,
        editor.school.id
    )
    .fetch_all(&state.pool)
    .await?;
    let today = clock::today_uk();
    let policies = rows
        .into_iter()
        .map(|r| PolicyRow {
            id: r.id,
            name: r.name,
            audience: audience_text(&r.audience),
            published: r.published_label.map(|label| match r.published_at {
                Some(at) => format!(
                    "{label}, published {}",
                    render::long_date(clock::uk(at).date())
                ),
                None => label,
            }),
            review: r.next_review_due.map(render::long_date),
            review_flag: r.next_review_due.and_then(|due| review_flag(due, today)),
            draft: r.draft_id.zip(r.draft_label),
        })
        .collect();
    Ok(ListPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        policies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn reviews_due_within_30_days_or_past_are_flagged() {
        let today = date!(2026 - 11 - 23);
        assert_eq!(review_flag(date!(2026 - 11 - 22), today), Some("Overdue"));
        assert_eq!(review_flag(date!(2026 - 12 - 23), today), Some("Due soon"));
        assert_eq!(review_flag(date!(2026 - 12 - 24), today), None);
    }
}
