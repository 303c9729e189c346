//! The sign form and the signature: checking what was filled in and handing the agreement
//! to the signature writer.

use std::collections::BTreeMap;

use axum::{
    extract::{Extension, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use serde::Deserialize;
use sqlx::types::ipnetwork::IpNetwork;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    already_signed::already_signed_page,
    signable::{
        LastSigned, SignRequest, Signable, changes_since_last_signed, load_signable, replacement,
    },
};
use crate::paths;
use crate::{
    auth::session::Member,
    clock,
    domain::{content::Acknowledgement, render, version_view::VersionView},
    error::{AppError, Result},
    mail,
    page::FieldErrors,
    sign_page::SignPage,
    state::AppState,
    web::ClientIp,
};

pub(super) async fn sign_form(
    State(state): State<AppState>,
    SignRequest {
        member, signable, ..
    }: SignRequest,
) -> Result<Response> {
    let signable = signable.ok_or(AppError::NotFound)?;
    if let Some(signed) = signable.signed {
        return Ok(already_signed_page(&member, &signable.version, signed).into_response());
    }
    Ok(SignPage {
        nav: member.nav(),
        slug: member.school.slug.clone(),
        preview: false,
        asks_agreement: true,
        changes_since: changes_since_last_signed(&state, &member, &signable).await?,
        today: render::long_date(clock::today_uk()),
        full_name: String::new(),
        role: member.job_title.clone(),
        ticked: vec![],
        errors: FieldErrors::default(),
        version: signable.version,
    }
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct SignForm {
    #[serde(default)]
    ack: Vec<String>,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    content_sha256: String,
}

/// Names match when they differ only in case and spacing.
fn same_name(typed: &str, account: &str) -> bool {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    squash(typed) == squash(account)
}

const MAX_TEXT: usize = 200;

fn check(form: &SignForm, version: &VersionView, account_name: &str) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if form.content_sha256 != version.content_sha256 {
        errors.add(
            "policy-title",
            "This policy was updated while you were reading it. Read the new version, then sign",
        );
    }
    for ack in version.acknowledgements.iter().filter(|a| a.required) {
        if !form.ack.contains(&ack.id) {
            errors.add(
                format!("ack-{}", ack.id),
                format!("Tick “{}” to sign the policy", ack.text),
            );
        }
    }
    let name = form.full_name.trim();
    if name.is_empty() {
        errors.add("full_name", "Enter your full name");
    } else if name.chars().count() > MAX_TEXT
        || crate::input::unusable(name, false).is_some()
        || !same_name(name, account_name)
    {
        errors.add(
            "full_name",
            format!("Enter your full name as your school has it: {account_name}"),
        );
    }
    if version.asks_role() {
        let role = form.role.trim();
        if role.is_empty() {
            errors.add("role", "Enter your role within the school");
        } else if role.chars().count() > MAX_TEXT {
            errors.add(
                "role",
                format!("Role within the school must be {MAX_TEXT} characters or fewer"),
            );
        } else if crate::input::unusable(role, false).is_some() {
            errors.add(
                "role",
                "Role within the school must only include letters, numbers and punctuation",
            );
        }
    }
    errors
}

/// What a submitted form can do now.
// Made once a request and moved straight into a match: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Now {
    /// Sign this version, as it stands now (the one published in its place if it was replaced
    /// while the form was open), with the form as filled in.
    Sign(Signable, SignForm),
    /// Not sign: the answer to give instead, "already signed" or the form again with what to
    /// put right.
    Answer(Response),
}

/// What the submitted form can do now: sign the version, or get another answer.
async fn signable_now(
    state: &AppState,
    member: &Member,
    (version_id, loaded): (Uuid, Option<Signable>),
    form: SignForm,
) -> Result<Now> {
    let mut signable = match loaded {
        Some(signable) => signable,
        None => replacement(state, member, version_id).await?,
    };
    let errors = check(&form, &signable.version, &signable.signing_name);
    if !errors.is_empty() && signable.last_signed == LastSigned::NotRead {
        // A signature's request read neither whether they have signed nor what they signed
        // last; the form shown again needs both.
        if let Some(now) = load_signable(state, member, signable.version.id).await? {
            signable = now;
        }
    }
    if let Some(signed) = signable.signed {
        let page = already_signed_page(member, &signable.version, signed);
        return Ok(Now::Answer((StatusCode::CONFLICT, page).into_response()));
    }
    if !errors.is_empty() {
        return form_again(state, member, signable, form, errors)
            .await
            .map(Now::Answer);
    }
    Ok(Now::Sign(signable, form))
}

pub(super) async fn sign(
    State(state): State<AppState>,
    SignRequest {
        member,
        version_id,
        signable,
    }: SignRequest,
    Extension(ClientIp(client)): Extension<ClientIp>,
    headers: HeaderMap,
    Form(form): Form<SignForm>,
) -> Result<Response> {
    let (signable, form) = match signable_now(&state, &member, (version_id, signable), form).await?
    {
        Now::Sign(signable, form) => (signable, form),
        Now::Answer(answer) => return Ok(answer),
    };
    let version = &signable.version;
    let ticks: BTreeMap<&str, bool> = version
        .acknowledgements
        .iter()
        .map(|a: &Acknowledgement| (a.id.as_str(), form.ack.contains(&a.id)))
        .collect();
    let role = version
        .asks_role()
        .then(|| crate::input::composed(&form.role));
    let user_agent: Option<String> = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(1000).collect());

    // The id is chosen here so that the receipt email, which links to it, can be written in
    // the same statement as the agreement.
    // Time-ordered (UUIDv7): the agreement, its receipt and its seal entry are keyed by it, and
    // keys that follow each other go to the same index pages instead of anywhere.
    let agreement_id = Uuid::now_v7();
    let signed_at = clock::date_time(OffsetDateTime::now_utc());
    let receipt_url = format!(
        "{}{}",
        state.settings.base_url,
        paths::Receipt::new(&member.school.slug, agreement_id)
    );
    let receipt = mail::Receipt {
        first_name: mail::first_name(&member.user.full_name),
        school_name: &member.school.name,
        policy_name: &version.policy_name,
        label: &version.label,
        signed_at: &signed_at,
        content_sha256: &version.content_sha256,
        receipt_url: &receipt_url,
        // The database gives the reference as it stores the agreement, in the same statement.
        reference: crate::store::agreements::REFERENCE_PLACEHOLDER,
    }
    .render(
        &member.user.email,
        format!(
            "{}: your receipt for the {} ({})",
            member.school.name, version.policy_name, version.label
        ),
    )?;
    let stored = state
        .signatures
        .write(crate::store::agreements::NewAgreement {
            id: agreement_id,
            school_id: member.school.id,
            membership_id: member.membership_id,
            version_id: version.id,
            full_name: crate::input::composed(&form.full_name),
            role_stated: role,
            acknowledgements: serde_json::to_value(&ticks).map_err(anyhow::Error::from)?,
            content_sha256: version.content_sha256.clone(),
            ip: IpNetwork::from(client),
            user_agent,
            receipt,
        })
        .await?;
    if !stored {
        // Signed in another tab a moment ago, or the version was replaced since it was read.
        let now = load_signable(&state, &member, version.id).await?;
        return match signable_now(&state, &member, (version.id, now), form).await? {
            Now::Answer(answer) => Ok(answer),
            // The new version's form, filled in as it was, with the reason it is shown.
            Now::Sign(now, form) => {
                form_again(&state, &member, now, form, FieldErrors::default()).await
            }
        };
    }
    Ok(
        Redirect::to(&paths::Receipt::new(&member.school.slug, agreement_id).to_string())
            .into_response(),
    )
}

/// The form again, as it was filled in, with what to put right.
async fn form_again(
    state: &AppState,
    member: &Member,
    signable: Signable,
    form: SignForm,
    errors: FieldErrors,
) -> Result<Response> {
    let ticked = form
        .ack
        .iter()
        .filter(|id| {
            signable
                .version
                .acknowledgements
                .iter()
                .any(|a| &&a.id == id)
        })
        .cloned()
        .collect();
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        SignPage {
            nav: member.nav(),
            slug: member.school.slug.clone(),
            preview: false,
            asks_agreement: true,
            changes_since: changes_since_last_signed(state, member, &signable).await?,
            today: render::long_date(clock::today_uk()),
            full_name: form.full_name,
            role: form.role,
            ticked,
            errors,
            version: signable.version,
        },
    )
        .into_response())
}
