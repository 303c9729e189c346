//! Paper signatures: for someone who signed the paper form, the SBM records the date, a note
//! and optionally the scan (PDF, JPEG or PNG up to 10 MB, its type read from its content and
//! stored with its SHA-256). The agreement is marked as recorded on paper and counts as signed.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use uuid::Uuid;

use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    auth::session::{ComplianceViewers, PeopleManagers, RequireRole},
    clock,
    db::unique_violation,
    domain::{content::Acknowledgement, dates::DateBoxes, render::long_date},
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    state::AppState,
};

pub const MAX_SCAN_BYTES: usize = 10 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            paths::Paper::PATH,
            get(paper_form)
                .post(record)
                // A scan of up to 10 MB, and the form around it.
                .layer(DefaultBodyLimit::max(MAX_SCAN_BYTES + 64 * 1024)),
        )
        .route(paths::Scan::PATH, get(scan))
}

/// The file's type from its first bytes, whatever its name says.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

struct Owed {
    version_id: Uuid,
    name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/paper.html")]
struct PaperPage {
    nav: Nav,
    slug: String,
    membership_id: Uuid,
    full_name: String,
    versions: Vec<Owed>,
    version_id: Option<Uuid>,
    acknowledgements: Vec<Acknowledgement>,
    ticked: Vec<String>,
    signed_on: DateBoxes,
    note: String,
    backdate_reason: String,
    /// When the chosen version was published, for the date's hint.
    published_on: Option<String>,
    errors: FieldErrors,
}

impl PaperPage {
    /// The policy chosen, by name, once it is.
    fn chosen(&self) -> Option<&str> {
        self.versions
            .iter()
            .find(|v| Some(v.version_id) == self.version_id)
            .map(|v| v.name.as_str())
    }

    fn is_ticked(&self, id: &str) -> bool {
        self.ticked.iter().any(|t| t == id)
    }
}

struct Person {
    user_id: Uuid,
    full_name: String,
    job_title: String,
}

async fn load_person(state: &AppState, school_id: Uuid, membership_id: Uuid) -> Result<Person> {
    sqlx::query_as!(
        Person,
        r#"select u.id as user_id, u.full_name, m.job_title from memberships m join users u on u.id = m.user_id
         where m.id = $1 and m.school_id = $2 and m.status = 'active'"#,
        membership_id,
        school_id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// The published versions this person owes, for the choice on the form.
async fn owed(state: &AppState, school_id: Uuid, membership_id: Uuid) -> Result<Vec<Owed>> {
    Ok(sqlx::query_as!(
        Owed,
        r#"select w.version_id as "version_id!", w.policy_name || ' ' || w.label as "name!"
           from must_sign w
           where w.school_id = $1 and w.membership_id = $2 and w.status = 'published'
             and not exists (select 1 from agreements a
                             where a.membership_id = $2 and a.version_id = w.version_id)
           order by w.policy_name"#,
        school_id,
        membership_id
    )
    .fetch_all(&state.pool)
    .await?)
}

#[derive(Deserialize)]
struct PaperQuery {
    version: Option<Uuid>,
}

async fn paper_form(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
    Query(query): Query<PaperQuery>,
) -> Result<PaperPage> {
    let person = load_person(&state, manager.school.id, membership_id).await?;
    let versions = owed(&state, manager.school.id, membership_id).await?;
    // The policy is chosen on a step of its own, unless there is only one to choose.
    let version_id = query
        .version
        .filter(|v| versions.iter().any(|o| &o.version_id == v))
        .or(match versions.as_slice() {
            [only] => Some(only.version_id),
            _ => None,
        });
    let version = match version_id {
        Some(id) => {
            let mut conn = state.pool.acquire().await?;
            crate::store::versions::load(&mut conn, manager.school.id, id).await?
        }
        None => None,
    };
    let published_on = published_on(version.as_ref());
    let acknowledgements = version
        .map(|v| v.content.acknowledgements)
        .unwrap_or_default();
    Ok(PaperPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        membership_id,
        full_name: person.full_name,
        versions,
        version_id,
        acknowledgements,
        ticked: vec![],
        signed_on: DateBoxes::default(),
        note: String::new(),
        backdate_reason: String::new(),
        published_on,
        errors: FieldErrors::default(),
    })
}

/// The day `version` was published, as the form says it.
fn published_on(version: Option<&crate::store::versions::StoredVersion>) -> Option<String> {
    version
        .and_then(|v| v.published_at)
        .map(|at| long_date(clock::uk(at).date()))
}

#[derive(Default)]
struct PaperForm {
    version_id: Option<Uuid>,
    signed_on: DateBoxes,
    note: String,
    backdate_reason: String,
    ticked: Vec<String>,
    scan: Option<Vec<u8>>,
}

async fn read_form(mut multipart: Multipart) -> std::result::Result<PaperForm, String> {
    let too_big = || {
        format!(
            "The scan must be {} MB or smaller",
            MAX_SCAN_BYTES / 1024 / 1024
        )
    };
    let mut form = PaperForm::default();
    while let Some(field) = multipart.next_field().await.map_err(|_| too_big())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "scan" {
            let bytes = field.bytes().await.map_err(|_| too_big())?;
            if !bytes.is_empty() {
                form.scan = Some(bytes.to_vec());
            }
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|_| "The form could not be read".to_owned())?;
        match name.as_str() {
            "version_id" => form.version_id = text.parse().ok(),
            "signed_on_day" => form.signed_on.day = text,
            "signed_on_month" => form.signed_on.month = text,
            "signed_on_year" => form.signed_on.year = text,
            "note" => form.note = text,
            "backdate_reason" => form.backdate_reason = text,
            "ack" => form.ticked.push(text),
            _ => {}
        }
    }
    Ok(form)
}

async fn record(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
    multipart: Multipart,
) -> Result<Response> {
    let person = load_person(&state, manager.school.id, membership_id).await?;
    let versions = owed(&state, manager.school.id, membership_id).await?;
    let mut errors = FieldErrors::default();
    let form = match read_form(multipart).await {
        Ok(form) => form,
        Err(message) => {
            errors.add("scan", message);
            PaperForm::default()
        }
    };
    let version = match form
        .version_id
        .filter(|v| versions.iter().any(|o| &o.version_id == v))
    {
        Some(id) => {
            let mut conn = state.pool.acquire().await?;
            crate::store::versions::load(&mut conn, manager.school.id, id).await?
        }
        None => None,
    };
    if version.is_none() && errors.is_empty() {
        errors.add("version_id", "Select the policy the paper form is for");
    }
    let acknowledgements = version
        .as_ref()
        .map(|v| v.content.acknowledgements.clone())
        .unwrap_or_default();
    for ack in acknowledgements.iter().filter(|a| a.required) {
        if !form.ticked.contains(&ack.id) {
            errors.add(
                format!("ack-{}", ack.id),
                format!(
                    "The paper form must have “{}” ticked to count as signed",
                    ack.text
                ),
            );
        }
    }
    let signed_on = form
        .signed_on
        .optional("the date signed")
        .unwrap_or_else(|message| {
            errors.add("signed_on", message);
            None
        });
    let published_on = version
        .as_ref()
        .and_then(|v| v.published_at)
        .map(|at| clock::uk(at).date());
    match signed_on {
        None if errors.get("signed_on").is_none() => {
            errors.add("signed_on", "Enter the date written on the paper form")
        }
        None => {}
        Some(date) if date > clock::today_uk() => {
            errors.add("signed_on", "The date signed cannot be in the future")
        }
        Some(_) => {}
    }
    // A form dated before its version was published (a school moving from paper) is kept,
    // with the reason.
    let reason = form.backdate_reason.trim().to_owned();
    let backdated = matches!((signed_on, published_on), (Some(d), Some(p)) if d < p);
    let backdate_reason = match published_on {
        Some(published) if backdated && reason.is_empty() => {
            errors.add(
                "backdate_reason",
                format!(
                    "The date signed is before this version was published on {}: enter why",
                    long_date(published)
                ),
            );
            None
        }
        _ if !backdated => None,
        _ => {
            if let Some(message) = crate::input::check("The reason", &reason, true) {
                errors.add("backdate_reason", message);
            } else if reason.chars().count() > 500 {
                errors.add(
                    "backdate_reason",
                    "The reason must be 500 characters or fewer",
                );
            }
            Some(reason)
        }
    };
    let note = form.note.trim().to_owned();
    if note.is_empty() {
        errors.add(
            "note",
            "Enter a note, for example where the paper form is kept",
        );
    } else if let Some(message) = crate::input::check("The note", &note, true) {
        errors.add("note", message);
    } else if note.chars().count() > 1000 {
        errors.add("note", "The note must be 1,000 characters or fewer");
    }
    let scan_type = match &form.scan {
        Some(bytes) if bytes.len() > MAX_SCAN_BYTES => {
            errors.add(
                "scan",
                format!(
                    "The scan must be {} MB or smaller",
                    MAX_SCAN_BYTES / 1024 / 1024
                ),
            );
            None
        }
        Some(bytes) => {
            let kind = sniff(bytes);
            if kind.is_none() {
                errors.add("scan", "The scan must be a PDF, JPEG or PNG file");
            }
            kind
        }
        None => None,
    };
    if form.scan.is_some() && !errors.is_empty() && errors.get("scan").is_none() {
        errors.add(
            "scan",
            "Choose the scan again: a file is not kept when another answer needs changing",
        );
    }
    let (Some(version), Some(signed_on), true) = (version, signed_on, errors.is_empty()) else {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            PaperPage {
                nav: manager.nav(),
                slug: manager.school.slug.clone(),
                membership_id,
                full_name: person.full_name,
                versions,
                version_id: form.version_id,
                acknowledgements,
                ticked: form.ticked,
                signed_on: form.signed_on,
                note: form.note,
                backdate_reason: form.backdate_reason,
                published_on: published_on.map(long_date),
                errors,
            },
        )
            .into_response());
    };

    let mut tx = state.pool.begin().await?;
    let scan_id = match (&form.scan, scan_type) {
        (Some(bytes), Some(kind)) => {
            let sha256 = hex::encode(Sha256::digest(bytes));
            Some(
                sqlx::query_scalar!(
                    "insert into scans (school_id, content_type, sha256, size_bytes, bytes, uploaded_by)
                     values ($1, $2, $3, $4, $5, $6) returning id",
                    manager.school.id,
                    kind,
                    sha256,
                    i32::try_from(bytes.len()).unwrap_or(i32::MAX),
                    bytes,
                    manager.user.id
                )
                .fetch_one(&mut *tx)
                .await?,
            )
        }
        _ => None,
    };
    let ticks: std::collections::BTreeMap<&str, bool> = acknowledgements
        .iter()
        .map(|a| (a.id.as_str(), form.ticked.contains(&a.id)))
        .collect();
    let hash = version
        .content_sha256
        .clone()
        .unwrap_or_else(|| version.content.sha256());
    let inserted = sqlx::query_scalar!(
        r#"with agreement as (
             insert into agreements
               (school_id, membership_id, version_id, signed_at, acknowledgements, content_sha256,
                method, recorded_by, scan_id)
             values ($1, $2, $3, ($4::date)::timestamp at time zone 'Europe/London', $7, $8, 'paper',
                     $9, $11)
             returning id
           ), personal as (
             insert into agreement_personal (agreement_id, full_name, role_stated, note, backdate_reason)
             select id, $5, $6, $10, $12 from agreement
           )
           select id as "id!" from agreement"#,
        manager.school.id,
        membership_id,
        version.id,
        signed_on,
        person.full_name,
        person.job_title,
        Json(&ticks) as _,
        hash,
        manager.user.id,
        note,
        scan_id,
        backdate_reason
    )
    .fetch_one(&mut *tx)
    .await;
    let agreement_id = match inserted {
        Ok(id) => id,
        Err(err)
            if unique_violation(&err).as_deref() == Some("agreements_membership_version_key") =>
        {
            return Ok(Redirect::to(
                &paths::Person::new(&manager.school.slug, membership_id).to_string(),
            )
            .into_response());
        }
        Err(err) => return Err(err.into()),
    };
    audit::record(
        &mut *tx,
        Some(manager.school.id),
        Some(manager.user.id),
        &Event::PaperSignatureRecorded {
            agreement_id,
            version_id: version.id,
            membership_id,
            scan_id,
            user_id: person.user_id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}?paper=1",
        paths::Person::new(&manager.school.slug, membership_id)
    ))
    .into_response())
}

/// A scan, for the SBM, head and admin of its school.
async fn scan(
    State(state): State<AppState>,
    viewer: RequireRole<ComplianceViewers>,
    Path((_slug, scan_id)): Path<(String, Uuid)>,
) -> Result<Response> {
    let row = sqlx::query!(
        "select content_type, bytes, sha256 from scans where id = $1 and school_id = $2",
        scan_id,
        viewer.school.id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    audit::record(
        &state.pool,
        Some(viewer.school.id),
        Some(viewer.user.id),
        &Event::ScanDownloaded { scan_id },
    )
    .await?;
    let extension = match row.content_type.as_str() {
        "application/pdf" => "pdf",
        "image/jpeg" => "jpg",
        _ => "png",
    };
    Ok((
        [
            (header::CONTENT_TYPE, row.content_type),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"paper-form-{}.{extension}\"",
                    &row.sha256[..12]
                ),
            ),
        ],
        row.bytes,
    )
        .into_response())
}
