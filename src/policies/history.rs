//! A policy's history: each step, from the audit log.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use uuid::Uuid;

use super::shared::{Editor, load_policy};
use crate::{audit::Logged, clock, error::Result, page::Nav, state::AppState};

struct HistoryRow {
    at: String,
    who: String,
    what: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/history.html")]
pub(super) struct HistoryPage {
    nav: Nav,
    slug: String,
    policy_id: Uuid,
    policy_name: String,
    events: Vec<HistoryRow>,
}

pub(super) async fn history(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
) -> Result<HistoryPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = load_policy(&mut conn, editor.school.id, policy_id).await?;
    let rows = sqlx::query!(
        r#"select e.at, e.action, e.subject, e.details, u.full_name as "who?"
           from audit_events e left join users u on u.id = e.actor_user_id
           where e.school_id = $1 and e.details ? 'policy_id' and e.details ->> 'policy_id' = $2
           order by e.at desc, e.id desc"#,
        editor.school.id,
        policy.id.to_string()
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(HistoryPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        policy_id: policy.id,
        policy_name: policy.name,
        events: rows
            .into_iter()
            .map(|r| HistoryRow {
                at: clock::date_time(r.at),
                who: r.who.unwrap_or_else(|| "The portal".to_owned()),
                what: Logged::read(&r.action, &r.subject, &r.details).to_string(),
            })
            .collect(),
    })
}
