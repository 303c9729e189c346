//! Evidence for audits, inspections and subject access requests: the dashboard as CSV, and
//! each person's agreements with every fact stored about them, as a page and as CSV.
//! Every export is an audit event.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};
use uuid::Uuid;

use super::{dashboard::published, signers::signers};
use crate::audit::Event;
use crate::paths;
use crate::spreadsheet::{csv_response, iso_uk};
use crate::store::email_changes;
use crate::{
    audit,
    auth::session::{ComplianceViewers, Member, RequireRole},
    clock,
    domain::groups::Group,
    domain::statuses::{AgreementMethod, MembershipStatus},
    error::{AppError, Result},
    page::Nav,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::DashboardCsv::PATH, get(dashboard_csv))
        .route(paths::Evidence::PATH, get(person_page))
        .route(paths::EvidenceCsv::PATH, get(person_csv))
}

async fn dashboard_csv(
    State(state): State<AppState>,
    viewer: RequireRole<ComplianceViewers>,
    Path((_slug, version_id)): Path<(String, Uuid)>,
) -> Result<Response> {
    let version = published(&state.pool, viewer.school.id, version_id).await?;
    let people = signers(&state.pool, viewer.school.id, version.id).await?;
    let mut rows = vec![
        [
            "Name",
            "Email",
            "Group",
            "Job title",
            "Status",
            "Signed at",
            "Version",
            "Content SHA-256",
            "Method",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for p in &people {
        let signed = p.signed_at.is_some();
        rows.push(vec![
            p.full_name.clone(),
            p.email.clone(),
            p.grp.to_string(),
            p.job_title.clone(),
            if signed { "Signed" } else { "Outstanding" }.to_owned(),
            p.signed_at.map(iso_uk).unwrap_or_default(),
            version.label.clone(),
            p.content_sha256.clone().unwrap_or_default(),
            p.method.map(|m| m.to_string()).unwrap_or_default(),
        ]);
    }
    audit::record(
        &state.pool,
        Some(viewer.school.id),
        Some(viewer.user.id),
        &Event::DashboardExported {
            version_id: version.id,
            rows: people.len(),
        },
    )
    .await?;
    csv_response(
        &format!(
            "{}-{}-signatures.csv",
            viewer.school.slug,
            version
                .label
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        ),
        rows,
    )
}

struct EvidenceRow {
    id: Uuid,
    /// The receipt's reference, such as CRA-2026-000123; none for an agreement stored before
    /// references were given.
    reference: Option<String>,
    policy_name: String,
    label: String,
    title: String,
    signed_at: time::OffsetDateTime,
    recorded_at: time::OffsetDateTime,
    full_name: String,
    role_stated: Option<String>,
    acknowledgements: serde_json::Value,
    content_sha256: String,
    ip: Option<String>,
    user_agent: Option<String>,
    method: AgreementMethod,
    recorded_by: Option<String>,
    note: Option<String>,
    /// Why a paper form is dated before its version was published.
    backdate_reason: Option<String>,
    scan_id: Option<Uuid>,
    scan_sha256: Option<String>,
    seal_seq: Option<i64>,
    seal_sha256: Option<String>,
}

impl EvidenceRow {
    /// A paper form carries the day it was signed, not a time.
    fn signed(&self) -> String {
        if self.method == AgreementMethod::Paper {
            crate::domain::render::long_date(clock::uk(self.signed_at).date())
        } else {
            clock::date_time(self.signed_at)
        }
    }

    /// The name as the signer gave it: typed online, written on a paper form.
    fn name_given(&self) -> &'static str {
        if self.method == AgreementMethod::Paper {
            "Name written"
        } else {
            "Name typed"
        }
    }

    fn recorded(&self) -> String {
        clock::date_time(self.recorded_at)
    }

    fn ticks(&self) -> String {
        self.acknowledgements
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}: {}",
                            if v.as_bool() == Some(true) {
                                "ticked"
                            } else {
                                "not ticked"
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }
}

struct PersonFacts {
    user_id: Uuid,
    full_name: String,
    email: String,
    grp: Group,
    job_title: String,
    status: MembershipStatus,
}

async fn evidence(
    state: &AppState,
    member: &Member,
    membership_id: Uuid,
) -> Result<(PersonFacts, Option<String>, Vec<EvidenceRow>)> {
    let person = sqlx::query_as!(
        PersonFacts,
        r#"select u.id as user_id, coalesce(m.pending_name, u.full_name) as "full_name!", u.email,
                  m.grp as "grp: Group",
                  m.job_title, m.status as "status: MembershipStatus" from memberships m join users u on u.id = m.user_id
           where m.id = $1 and m.school_id = $2"#,
        membership_id,
        member.school.id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let rows = sqlx::query_as!(
        EvidenceRow,
        r#"select a.id, a.reference, p.name as policy_name, v.label, v.title, a.signed_at, a.recorded_at,
                  coalesce(ap.full_name, '(erased)') as "full_name!", ap.role_stated, a.acknowledgements,
                  a.content_sha256, host(ap.ip) as ip, ap.user_agent,
                  a.method as "method: AgreementMethod",
                  r.full_name as "recorded_by?", ap.note, ap.backdate_reason, a.scan_id, s.sha256 as "scan_sha256?",
                  se.seq as "seal_seq?", se.sha256 as "seal_sha256?"
           from agreements a
           left join agreement_personal ap on ap.agreement_id = a.id
           join policy_versions v on v.id = a.version_id and v.school_id = a.school_id
           join policies p on p.id = v.policy_id
           left join users r on r.id = a.recorded_by
           left join scans s on s.id = a.scan_id
           left join seal_entries e on e.kind in ('agreement', 'agreement_v2') and e.row_id = a.id::text
           left join seals se on se.school_id = e.school_id and se.seq = e.seq
           where a.membership_id = $1 and a.school_id = $2
           order by a.signed_at"#,
        membership_id,
        member.school.id
    )
    .fetch_all(&state.pool)
    .await?;
    let mut conn = state.pool.acquire().await?;
    let activation = email_changes::activation_note(&mut conn, person.user_id).await?;
    Ok((person, activation, rows))
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/evidence.html")]
struct EvidencePage {
    nav: Nav,
    slug: String,
    membership_id: Uuid,
    person: PersonFacts,
    /// How the account came to be activated, when a manager chose its address first.
    activation: Option<String>,
    group: String,
    rows: Vec<EvidenceRow>,
}

async fn person_page(
    State(state): State<AppState>,
    viewer: RequireRole<ComplianceViewers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<EvidencePage> {
    let (person, activation, rows) = evidence(&state, &viewer, membership_id).await?;
    audit::record(
        &state.pool,
        Some(viewer.school.id),
        Some(viewer.user.id),
        &Event::EvidenceViewed { membership_id },
    )
    .await?;
    Ok(EvidencePage {
        nav: viewer.nav(),
        slug: viewer.school.slug.clone(),
        membership_id,
        group: person.grp.to_string(),
        person,
        activation,
        rows,
    })
}

async fn person_csv(
    State(state): State<AppState>,
    viewer: RequireRole<ComplianceViewers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<Response> {
    let (person, activation, agreements) = evidence(&state, &viewer, membership_id).await?;
    let mut rows = vec![
        [
            "Name",
            "Email",
            "Group",
            "Job title",
            "Status",
            "Account",
            "Policy",
            "Version",
            "Title",
            "Signed at",
            "Recorded at",
            "Name typed",
            "Role stated",
            "Statements",
            "Content SHA-256",
            "IP address",
            "Browser",
            "Method",
            "Recorded by",
            "Note",
            "Reason for a date before publishing",
            "Scan SHA-256",
            "Agreement",
            "Receipt reference",
            "Seal",
            "Seal SHA-256",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for a in &agreements {
        rows.push(vec![
            person.full_name.clone(),
            person.email.clone(),
            person.grp.to_string(),
            person.job_title.clone(),
            person.status.to_string(),
            activation.clone().unwrap_or_default(),
            a.policy_name.clone(),
            a.label.clone(),
            a.title.clone(),
            iso_uk(a.signed_at),
            iso_uk(a.recorded_at),
            a.full_name.clone(),
            a.role_stated.clone().unwrap_or_default(),
            a.ticks(),
            a.content_sha256.clone(),
            a.ip.clone().unwrap_or_default(),
            a.user_agent.clone().unwrap_or_default(),
            a.method.to_string(),
            a.recorded_by.clone().unwrap_or_default(),
            a.note.clone().unwrap_or_default(),
            a.backdate_reason.clone().unwrap_or_default(),
            a.scan_sha256.clone().unwrap_or_default(),
            a.id.to_string(),
            a.reference.clone().unwrap_or_default(),
            a.seal_seq.map(|s| s.to_string()).unwrap_or_default(),
            a.seal_sha256.clone().unwrap_or_default(),
        ]);
    }
    audit::record(
        &state.pool,
        Some(viewer.school.id),
        Some(viewer.user.id),
        &Event::EvidenceExported {
            membership_id,
            agreements: agreements.len(),
        },
    )
    .await?;
    csv_response(&format!("evidence-{membership_id}.csv"), rows)
}
