//! The import's pages: upload a staff list (CSV or XLSX, or School Data Sync's users.csv
//! with its roles.csv), check which column holds what and see what the import would do, in
//! one preview, and confirm. Nothing is saved before the confirmation; the columns chosen
//! then are remembered for the school.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::import::{self, Importer, NewEmail, Outcome, Plan, Source};
use super::staff_file::{self, Table};
use super::staff_mapping::{BadRow, Field, Mapping};
use crate::paths;
use crate::{
    auth::session::{PeopleManagers, RequireRole},
    clock,
    domain::groups::Group,
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    // The upload carries a file and a roles file; the preview's forms carry their text back,
    // which URL-encoding can make three times as long.
    let upload_limit = DefaultBodyLimit::max(2 * staff_file::MAX_BYTES + 64 * 1024);
    let form_limit = DefaultBodyLimit::max(2 * 3 * staff_file::MAX_TEXT + 64 * 1024);
    Router::new()
        .route(
            paths::ImportPeople::PATH,
            get(upload_form).post(upload).layer(upload_limit),
        )
        .route(paths::ImportColumns::PATH, post(columns).layer(form_limit))
        .route(paths::ConfirmImport::PATH, post(confirm).layer(form_limit))
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/import.html")]
struct UploadPage {
    nav: Nav,
    slug: String,
    errors: FieldErrors,
}

async fn upload_form(manager: RequireRole<PeopleManagers>) -> UploadPage {
    UploadPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        errors: FieldErrors::default(),
    }
}

fn upload_error(manager: &RequireRole<PeopleManagers>, field: &str, message: String) -> Response {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        UploadPage {
            nav: manager.nav(),
            slug: manager.school.slug.clone(),
            errors,
        },
    )
        .into_response()
}

async fn upload(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    mut multipart: Multipart,
) -> Result<Response> {
    let (mut file, mut roles) = (None, None);
    let too_big = || {
        upload_error(
            &manager,
            "file",
            format!(
                "The files could not be uploaded: each must be {} MB or smaller",
                staff_file::MAX_BYTES / 1024 / 1024
            ),
        )
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Ok(too_big()),
        };
        let name = field.name().map(str::to_owned);
        let Ok(bytes) = field.bytes().await else {
            return Ok(too_big());
        };
        match name.as_deref() {
            Some("file") => file = Some(bytes),
            Some("roles") => roles = Some(bytes),
            _ => {}
        }
    }
    let Some(file) = file.filter(|b| !b.is_empty()) else {
        return Ok(upload_error(
            &manager,
            "file",
            "Choose the staff list to upload".to_owned(),
        ));
    };
    let read = match staff_file::read(&file) {
        Ok(read) => read,
        Err(message) => return Ok(upload_error(&manager, "file", message)),
    };
    let roles = match roles
        .filter(|b| !b.is_empty())
        .map(|b| staff_file::read(&b))
    {
        None => None,
        Some(Ok(roles)) => Some(roles.csv),
        Some(Err(message)) => return Ok(upload_error(&manager, "roles", message)),
    };
    let source = Source {
        csv: read.csv,
        roles,
    };
    let (table, sds_note) = match import::table(&source) {
        Ok(table) => table,
        Err(message) => return Ok(upload_error(&manager, "file", message)),
    };
    // The columns the school chose last time, if this file has them; else the guess.
    let remembered = remembered(&state, manager.school.id).await?;
    let (mapping, group) = match remembered {
        Some((mapping, group)) if mapping.fits(&table.headers) => (mapping, group),
        _ => (Mapping::guess(&table.headers), Group::Staff),
    };
    let notes = [read.note, sds_note].into_iter().flatten().collect();
    preview(&state, &manager, source, mapping, group, notes).await
}

/// The columns the school's last import used.
async fn remembered(state: &AppState, school_id: Uuid) -> Result<Option<(Mapping, Group)>> {
    let row = sqlx::query!(
        r#"select columns, default_group as "default_group: Group" from import_mappings where school_id = $1"#,
        school_id
    )
    .fetch_optional(&state.pool)
    .await?;
    Ok(row.and_then(|row| {
        let columns: BTreeMap<Field, String> = serde_json::from_value(row.columns).ok()?;
        Some((Mapping { columns }, row.default_group))
    }))
}

/// The file and the columns as the preview's forms send them back.
#[derive(Deserialize, Default)]
struct ImportForm {
    #[serde(default)]
    csv: String,
    #[serde(default)]
    roles: String,
    #[serde(default)]
    default_group: String,
    /// Each `col_<field>`: the header of the field's column, empty for none; all None when
    /// the form names no columns.
    col_legal_forename: Option<String>,
    col_preferred_forename: Option<String>,
    col_surname: Option<String>,
    col_full_name: Option<String>,
    col_email: Option<String>,
    col_job_title: Option<String>,
    col_mis_id: Option<String>,
    col_start_date: Option<String>,
    col_end_date: Option<String>,
    col_staff_type: Option<String>,
    col_group: Option<String>,
    #[serde(default)]
    leave: Vec<Uuid>,
}

impl ImportForm {
    fn source(&self) -> Source {
        Source {
            csv: self.csv.clone(),
            roles: Some(self.roles.clone()).filter(|r| !r.is_empty()),
        }
    }

    /// The columns chosen, or None when the form names none (a file confirmed straight
    /// away is read with the guess).
    fn mapping(&self) -> Option<Mapping> {
        let chosen = [
            (Field::LegalForename, &self.col_legal_forename),
            (Field::PreferredForename, &self.col_preferred_forename),
            (Field::Surname, &self.col_surname),
            (Field::FullName, &self.col_full_name),
            (Field::Email, &self.col_email),
            (Field::JobTitle, &self.col_job_title),
            (Field::MisId, &self.col_mis_id),
            (Field::StartDate, &self.col_start_date),
            (Field::EndDate, &self.col_end_date),
            (Field::StaffType, &self.col_staff_type),
            (Field::Group, &self.col_group),
        ];
        if chosen.iter().all(|(_, header)| header.is_none()) {
            return None;
        }
        let columns = chosen
            .into_iter()
            .filter_map(|(field, header)| {
                header
                    .as_ref()
                    .filter(|h| !h.is_empty())
                    .map(|h| (field, h.clone()))
            })
            .collect();
        Some(Mapping { columns })
    }

    fn group(&self) -> Group {
        self.default_group.parse().unwrap_or(Group::Staff)
    }
}

async fn columns(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Form(form): Form<ImportForm>,
) -> Result<Response> {
    let (source, _, mapping) = match read_back(&manager, &form) {
        Ok(read) => read,
        Err(page) => return Ok(*page),
    };
    preview(&state, &manager, source, mapping, form.group(), vec![]).await
}

/// The file a form carried back, read again, with the mapping it was sent with (or else
/// the guess); or the upload page, saying it could not be read.
fn read_back(
    manager: &RequireRole<PeopleManagers>,
    form: &ImportForm,
) -> std::result::Result<(Source, Table, Mapping), Box<Response>> {
    let source = form.source();
    let Ok((table, _)) = import::table(&source) else {
        return Err(Box::new(upload_error(
            manager,
            "file",
            "The file could not be read again: upload it once more".to_owned(),
        )));
    };
    let mapping = form
        .mapping()
        .unwrap_or_else(|| Mapping::guess(&table.headers));
    Ok((source, table, mapping))
}

struct PreviewRow {
    line: usize,
    full_name: String,
    email: String,
    group: String,
    job_title: String,
    what: String,
    warning: String,
}

struct LeaverRow {
    membership_id: Uuid,
    full_name: String,
    email: String,
    on: String,
    why: String,
}

struct Column {
    field: Field,
    chosen: String,
    errors_key: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/import_preview.html")]
struct PreviewPage {
    nav: Nav,
    slug: String,
    csv: String,
    roles: String,
    notes: Vec<String>,
    headers: Vec<(String, String)>,
    columns: Vec<Column>,
    default_group: Group,
    errors: FieldErrors,
    added: Vec<PreviewRow>,
    changed: Vec<PreviewRow>,
    leavers: Vec<LeaverRow>,
    /// Rows of people not on the list whose employment has already ended: not added.
    left_before: Vec<PreviewRow>,
    unchanged: usize,
    bad: Vec<BadRow>,
}

impl PreviewPage {
    fn groups(&self) -> Vec<(&'static str, String)> {
        Group::ALL
            .into_iter()
            .map(|group| (group.as_str(), group.to_string()))
            .collect()
    }
}

async fn preview(
    state: &AppState,
    manager: &RequireRole<PeopleManagers>,
    source: Source,
    mapping: Mapping,
    default_group: Group,
    notes: Vec<String>,
) -> Result<Response> {
    let (table, _) = match import::table(&source) {
        Ok(table) => table,
        Err(message) => return Ok(upload_error(manager, "file", message)),
    };
    let mut errors = FieldErrors::default();
    for (key, message) in mapping.missing(&table.headers) {
        errors.add(format!("col_{key}"), message);
    }
    // Each header with its first value, so the SBM sees what a column holds.
    let headers = table
        .headers
        .iter()
        .enumerate()
        .map(|(at, header)| {
            let sample = table
                .rows
                .iter()
                .find_map(|(_, cells)| cells.get(at).filter(|c| !c.is_empty()))
                .map(|c| format!("{header} (for example, {c})"))
                .unwrap_or_else(|| header.clone());
            (header.clone(), sample)
        })
        .collect();
    let columns = Field::ALL
        .into_iter()
        .map(|field| Column {
            field,
            chosen: mapping.columns.get(&field).cloned().unwrap_or_default(),
            errors_key: format!("col_{}", field.key()),
        })
        .collect();
    let mut page = PreviewPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        csv: source.csv.clone(),
        roles: source.roles.clone().unwrap_or_default(),
        notes,
        headers,
        columns,
        default_group,
        errors,
        added: vec![],
        changed: vec![],
        leavers: vec![],
        left_before: vec![],
        unchanged: 0,
        bad: vec![],
    };
    if !page.errors.is_empty() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let (rows, bad) = super::staff_mapping::rows(&table, &mapping, default_group);
    let mut conn = state.pool.acquire().await?;
    let plan = import::plan(
        &mut conn,
        manager.school.id,
        rows,
        bad,
        mapping.columns.contains_key(&Field::MisId),
        clock::today_uk(),
    )
    .await?;
    let mut lookalike_of = lookalikes(&mut conn, manager.school.id).await?;
    fill(&mut page, &plan, &mut lookalike_of);
    page.bad = plan.bad;
    Ok(page.into_response())
}

/// An address that looks like one already on the list, but is not it, may be an attempt to
/// pass as that person: said next to the row.
async fn lookalikes(
    conn: &mut sqlx::PgConnection,
    school_id: Uuid,
) -> Result<impl FnMut(&str) -> Option<String>> {
    let known: Vec<String> = sqlx::query_scalar!(
        r#"select lower(u.email) as "email!" from memberships m join users u on u.id = m.user_id
           where m.school_id = $1"#,
        school_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut seen: std::collections::HashMap<String, String> = known
        .into_iter()
        .map(|email| (crate::input::lookalike_key(&email), email))
        .collect();
    Ok(move |email: &str| {
        let email = email.to_lowercase();
        let key = crate::input::lookalike_key(&email);
        match seen.get(&key) {
            Some(other) if *other != email => Some(format!(
                "Looks like {other}, which is already on the list: check the address"
            )),
            Some(_) => None,
            None => {
                seen.insert(key, email);
                None
            }
        }
    })
}

fn fill(
    page: &mut PreviewPage,
    plan: &Plan,
    lookalike_of: &mut impl FnMut(&str) -> Option<String>,
) {
    for item in &plan.planned {
        let row = &item.row;
        let show = |what: String, warning: String| PreviewRow {
            line: row.line,
            full_name: row.name.shown(),
            email: row.email.clone(),
            group: row.grp.to_string(),
            job_title: row.job_title.clone(),
            what,
            warning,
        };
        match &item.outcome {
            Outcome::Add => page.added.push(show(
                String::new(),
                lookalike_of(&row.email).unwrap_or_default(),
            )),
            Outcome::Change { what, email, .. } => {
                let mut what = what.clone();
                let mut warning = String::new();
                match email {
                    Some(NewEmail::Correct(new)) => {
                        what.push(format!(
                            "email corrected to {new}, and the invitation sent there"
                        ));
                    }
                    Some(NewEmail::Refused(why)) => warning.clone_from(why),
                    None => {}
                }
                page.changed.push(show(what.join("; "), warning));
            }
            Outcome::Unchanged => page.unchanged += 1,
            Outcome::LeftBefore => page.left_before.push(show(
                row.ends
                    .map(crate::domain::render::long_date)
                    .unwrap_or_default(),
                String::new(),
            )),
        }
    }
    page.leavers = plan
        .leavers
        .iter()
        .map(|l| LeaverRow {
            membership_id: l.membership_id,
            full_name: l.name.clone(),
            email: l.email.clone(),
            on: crate::domain::render::long_date(l.on),
            why: match l.line {
                Some(line) => format!("Line {line} gives an employment end date"),
                None => {
                    "Not in the file, which has everyone else with an MIS person ID in their group"
                        .to_owned()
                }
            },
        })
        .collect();
}

async fn confirm(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Form(form): Form<ImportForm>,
) -> Result<Response> {
    let (source, table, mapping) = match read_back(&manager, &form) {
        Ok(read) => read,
        Err(page) => return Ok(*page),
    };
    let group = form.group();
    if !mapping.missing(&table.headers).is_empty() {
        return preview(&state, &manager, source, mapping, group, vec![]).await;
    }
    let (rows, bad) = super::staff_mapping::rows(&table, &mapping, group);
    let mut tx = state.pool.begin().await?;
    // Planned again inside the transaction: the list may have changed since the preview.
    let plan = import::plan(
        &mut tx,
        manager.school.id,
        rows,
        bad,
        mapping.columns.contains_key(&Field::MisId),
        clock::today_uk(),
    )
    .await?;
    let applied = import::apply(
        &mut tx,
        manager.school.id,
        Some(&Importer {
            user_id: manager.user.id,
            name: &manager.user.full_name,
            school_name: &manager.school.name,
        }),
        &plan,
        &form.leave,
        &state.settings.base_url,
    )
    .await?;
    sqlx::query!(
        "insert into import_mappings (school_id, columns, default_group) values ($1, $2, $3)
         on conflict (school_id) do update
             set columns = excluded.columns, default_group = excluded.default_group, updated_at = now()",
        manager.school.id,
        serde_json::to_value(&mapping.columns).map_err(|err| AppError::Other(err.into()))?,
        group as Group
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}?imported=1&added={}&changed={}&left={}",
        paths::People::new(&manager.school.slug),
        applied.added,
        applied.changed,
        applied.left
    ))
    .into_response())
}
