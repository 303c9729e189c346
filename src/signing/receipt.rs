//! A person's receipt for their agreement.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{
    auth::session::Member,
    clock,
    domain::statuses::AgreementMethod,
    domain::{
        content::{Acknowledgement, SIGNATURE_FIELDS},
        render,
    },
    error::{AppError, Result},
    page::Nav,
    state::AppState,
};

struct TickedAcknowledgement {
    text: String,
    required: bool,
    ticked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "signing/receipt.html")]
pub(super) struct ReceiptPage {
    nav: Nav,
    school_name: String,
    policy_name: String,
    label: String,
    title: String,
    /// Such as CRA-2026-000123; the id for an agreement stored before references were given.
    reference: String,
    signed_at: String,
    acknowledgements: Vec<TickedAcknowledgement>,
    signature_block: Vec<(&'static str, String)>,
    version_id: Uuid,
    content_sha256: String,
    /// The seal covering the agreement: (number, when, fingerprint), once sealed.
    seal: Option<(i64, String, String)>,
    ip: Option<String>,
    user_agent: Option<String>,
    method: String,
}

/// A person's own agreement only: anyone else's id is "not found".
pub(super) async fn receipt(
    State(state): State<AppState>,
    member: Member,
    Path((_slug, agreement_id)): Path<(String, Uuid)>,
) -> Result<ReceiptPage> {
    let row = sqlx::query!(
        r#"select a.id, a.reference, a.version_id, a.signed_at, coalesce(ap.full_name, '(erased)') as "full_name!",
                  ap.role_stated, a.content_sha256, host(ap.ip) as ip, ap.user_agent, a.method as "method: AgreementMethod",
                  a.acknowledgements as "ticks: Json<BTreeMap<String, bool>>",
                  v.label, v.title, v.acknowledgements as "acknowledgements: Json<Vec<Acknowledgement>>",
                  v.signature_fields,
                  p.name as policy_name
           from agreements a
           left join agreement_personal ap on ap.agreement_id = a.id
           join policy_versions v on v.id = a.version_id and v.school_id = a.school_id
           join policies p on p.id = v.policy_id and p.school_id = v.school_id
           where a.id = $1 and a.membership_id = $2 and a.school_id = $3"#,
        agreement_id,
        member.membership_id,
        member.school.id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let ticks = row.ticks.0;
    let seal = sqlx::query!(
        "select s.seq, s.sealed_at, s.sha256 from seal_entries e
         join seals s on s.school_id = e.school_id and s.seq = e.seq
         where e.kind in ('agreement', 'agreement_v2') and e.row_id = $1",
        row.id.to_string()
    )
    .fetch_optional(&state.pool)
    .await?
    .map(|s| (s.seq, clock::date_time(s.sealed_at), s.sha256));
    // The paper form's signature block, filled in as the person signed it.
    let signature_block = SIGNATURE_FIELDS
        .iter()
        .filter(|(key, _)| row.signature_fields.iter().any(|f| f == key))
        .map(|&(key, label)| {
            let value = match key {
                "date" => render::long_date(clock::uk(row.signed_at).date()),
                "role" => row.role_stated.clone().unwrap_or_default(),
                _ => row.full_name.clone(),
            };
            (label, value)
        })
        .collect();
    Ok(ReceiptPage {
        seal,
        signature_block,
        nav: member.nav(),
        school_name: member.school.name.clone(),
        policy_name: row.policy_name,
        label: row.label,
        title: row.title,
        reference: row.reference.unwrap_or_else(|| row.id.to_string()),
        version_id: row.version_id,
        signed_at: clock::date_time(row.signed_at),
        acknowledgements: row
            .acknowledgements
            .0
            .into_iter()
            .map(|a| TickedAcknowledgement {
                ticked: ticks.get(&a.id).copied().unwrap_or(false),
                text: a.text,
                required: a.required,
            })
            .collect(),
        content_sha256: row.content_sha256,
        ip: row.ip,
        user_agent: row.user_agent,
        method: match row.method {
            AgreementMethod::Paper => "Paper form, recorded by the school".to_owned(),
            AgreementMethod::Online => "Signed online".to_owned(),
        },
    })
}
