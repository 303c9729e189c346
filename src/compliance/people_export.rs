//! The people list, as filtered, downloaded as CSV or as an Excel workbook. Each download is
//! an audit event; the filters travel in the address, which the portal's own log leaves out
//! (it records the route, never the query).

use axum::{
    Router,
    extract::{Query, State},
    response::Response,
    routing::get,
};

use super::people::{ListQuery, PersonRow, matching};
use crate::paths;
use crate::{
    audit::{self, Event},
    auth::session::{Member, PeopleManagers, RequireRole},
    error::Result,
    spreadsheet::{csv_response, xlsx_response},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::PeopleCsv::PATH, get(csv))
        .route(paths::PeopleXlsx::PATH, get(xlsx))
}

/// The header and a row for each person matching the filters, with whether they have signed
/// when a policy is chosen.
async fn table(state: &AppState, manager: &Member, query: &ListQuery) -> Result<Vec<Vec<String>>> {
    let people: Vec<PersonRow> = matching(state, manager.school.id, query, None, 0).await?;
    let with_policy = query.policy.is_some();
    let mut header = vec!["Name", "Email", "Group", "Job title", "Status"];
    if with_policy {
        header.push("Signed");
    }
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for p in &people {
        let mut row = vec![
            p.full_name.clone(),
            p.email.clone(),
            p.grp.to_string(),
            p.job_title.clone(),
            p.status.to_string(),
        ];
        if with_policy {
            row.push(
                match p.signed {
                    Some(true) => "Signed",
                    Some(false) => "Outstanding",
                    None => "Not asked to sign",
                }
                .to_owned(),
            );
        }
        rows.push(row);
    }
    audit::record(
        &state.pool,
        Some(manager.school.id),
        Some(manager.user.id),
        &Event::PeopleExported { rows: people.len() },
    )
    .await?;
    Ok(rows)
}

async fn csv(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    let rows = table(&state, &manager, &query).await?;
    csv_response(&format!("{}-people.csv", manager.school.slug), rows)
}

async fn xlsx(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    let rows = table(&state, &manager, &query).await?;
    xlsx_response(
        &format!("{}-people.xlsx", manager.school.slug),
        "People",
        rows,
    )
}
