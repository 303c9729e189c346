//! Coming back from the school's provider: the code exchanged and the token checked, then
//! the person found (by the linked key, or the first time by a verified address in the
//! school's domains), never created; or the account linked; or the admin's test shown.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use super::session::CurrentUser;
use super::sso_flight::{FLIGHT_MINUTES, Flight, Problem, Purpose, client_settings, problem};
use super::two_factor::{self, First, FirstStep};
use crate::audit::{Event, SignInWith};
use crate::domain::statuses::SsoProvider;
use crate::oidc::{self, rules};
use crate::store::sso::{self, SchoolSso};
use crate::{
    audit,
    error::{AppError, Result},
    page::Nav,
    state::AppState,
};

// ---- Coming back ----

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The return: whatever it answers, the trip's cookie is cleared, so a return is used once.
pub(super) async fn callback(
    State(state): State<AppState>,
    session: Session,
    user: std::result::Result<CurrentUser, AppError>,
    headers: axum::http::HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response> {
    let flight = Flight::from_headers(&state, &headers);
    let mut response = match come_back(&state, &session, user.ok(), flight, query).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    response
        .headers_mut()
        .append(axum::http::header::SET_COOKIE, Flight::cleared(&state)?);
    Ok(response)
}

async fn come_back(
    state: &AppState,
    session: &Session,
    user: Option<CurrentUser>,
    flight: Option<Flight>,
    query: CallbackQuery,
) -> Result<Response> {
    let now = state.settings.clock.unix_now();
    let Some(flight) = flight.filter(|f| {
        now - f.at <= FLIGHT_MINUTES * 60
            && query.state.as_deref() == Some(f.started.state.as_str())
    }) else {
        return Ok(problem("", Problem::NoFlight).into_response());
    };
    // Linking and testing began in a signed-in session: they end in the same person's, still
    // within its timeouts and its sign-out counter, as every page checks them.
    if let Purpose::Link { user_id } | Purpose::Test { user_id } = flight.purpose
        && user.is_none_or(|user| user.id != user_id)
    {
        return Ok(problem(&flight.slug, Problem::NoFlight).into_response());
    }
    let slug = flight.slug.clone();
    if let Some(error) = query.error {
        let said = query.error_description.unwrap_or(error);
        let said: String = said.chars().filter(|c| !c.is_control()).take(300).collect();
        return Ok(problem(&slug, Problem::ProviderSaid(said)).into_response());
    }
    let Some(sso) = sso::for_school(&state.pool, flight.school_id).await? else {
        return Ok(problem(&slug, Problem::NoFlight).into_response());
    };
    let settings = client_settings(state, flight.school_id, &sso)?;
    let code = query.code.unwrap_or_default();
    let claims = state
        .providers
        .finish(&settings, &flight.started, &code)
        .await;
    if let Purpose::Test { .. } = flight.purpose {
        return test_result(state, &flight, &sso, claims).await;
    }
    let claims = match claims {
        Ok(claims) => claims,
        Err(err) => {
            refused(state, flight.school_id, None, &err.to_string()).await?;
            return Ok(problem(&slug, Problem::Provider(err)).into_response());
        }
    };
    let accepted = match rules::accept(&school_rules(&sso), &claims) {
        Ok(accepted) => accepted,
        Err(refusal) => {
            refused(state, flight.school_id, None, refusal.word()).await?;
            return Ok(problem(&slug, Problem::Refused(refusal)).into_response());
        }
    };
    match flight.purpose {
        Purpose::Link { user_id } => link(state, &flight, user_id, &accepted).await,
        Purpose::SignIn | Purpose::Test { .. } => {
            sign_in(state, session, &flight, &claims, &accepted).await
        }
    }
}

fn school_rules(sso: &SchoolSso) -> rules::SchoolRules<'_> {
    rules::SchoolRules {
        provider: sso.provider,
        tenant: sso.tenant_id,
        hosted_domain: sso.hosted_domain.as_deref(),
        email_domains: &sso.email_domains,
        trust_provider_mfa: sso.trust_provider_mfa,
    }
}

async fn refused(state: &AppState, school: Uuid, user: Option<Uuid>, reason: &str) -> Result<()> {
    let reason = reason.chars().take(200).collect();
    audit::record(
        &state.pool,
        Some(school),
        user,
        &Event::SingleSignOnRefused { reason },
    )
    .await?;
    Ok(())
}

/// Who a provider account not linked yet is: found by its address, the first time.
enum Found {
    User(Uuid),
    Problem(Problem, &'static str),
}

async fn find(
    state: &AppState,
    school_id: Uuid,
    claims: &oidc::Claims,
    accepted: &rules::Accepted,
) -> Result<Found> {
    let Some(email) = &accepted.email else {
        return Ok(match &claims.email {
            Some(email) => Found::Problem(
                Problem::AddressNotTheSchools(email.clone()),
                "an address outside the school's domains, or not verified",
            ),
            None => Found::Problem(Problem::NotAdded, "no address to find the person by"),
        });
    };
    let person = sqlx::query!(
        r#"select u.id,
                  (select count(*) from memberships m where m.user_id = u.id) as "memberships!",
                  exists (select 1 from memberships m where m.user_id = u.id and m.school_id = $2)
                    as "here!"
           from users u where lower(u.email) = lower($1)"#,
        email,
        school_id
    )
    .fetch_optional(&state.pool)
    .await?;
    let Some(person) = person else {
        return Ok(Found::Problem(Problem::NotAdded, "not added to the school"));
    };
    if !person.here {
        return Ok(Found::Problem(Problem::NotAdded, "not added to the school"));
    }
    // Someone in several schools links from a signed-in session: otherwise one school's
    // admin, who controls their own provider, could claim a shared DPO's address.
    if person.memberships != 1 {
        return Ok(Found::Problem(
            Problem::SeveralSchools,
            "in several schools, not linked",
        ));
    }
    if !sso::link(&state.pool, &accepted.issuer, &accepted.subject, person.id).await? {
        return Ok(Found::Problem(
            Problem::LinkedToSomeoneElse,
            "linked to another account",
        ));
    }
    audit::record(
        &state.pool,
        Some(school_id),
        Some(person.id),
        &Event::SingleSignOnLinked {
            issuer: accepted.issuer.clone(),
            by_email: true,
        },
    )
    .await?;
    Ok(Found::User(person.id))
}

/// An account as a sign-in through the provider needs it.
struct Account {
    id: Uuid,
    auth_epoch: i32,
    has_factor: bool,
    status: Option<String>,
    needs_code: bool,
}

async fn sign_in(
    state: &AppState,
    session: &Session,
    flight: &Flight,
    claims: &oidc::Claims,
    accepted: &rules::Accepted,
) -> Result<Response> {
    // Linked already, as on every sign-in but the first: the account and its membership of
    // the school in the same look-up as the link.
    let linked = sqlx::query_as!(
        Account,
        r#"select u.id, u.auth_epoch, u.totp_enabled_at is not null as "has_factor!",
                  m.status as "status?",
                  coalesce(m.roles && array['sbm', 'dpo', 'head', 'admin']::text[], false)
                    as "needs_code!"
           from sso_identities i join users u on u.id = i.user_id
           left join memberships m on m.user_id = u.id and m.school_id = $3
           where i.issuer = $1 and i.subject = $2"#,
        accepted.issuer,
        accepted.subject,
        flight.school_id
    )
    .fetch_optional(&state.pool)
    .await?;
    // The first time, found by an address the school's own provider vouched for: the
    // provider's word is not also taken for a second factor.
    let first_time = linked.is_none();
    let account = match linked {
        Some(account) => account,
        None => {
            let user_id = match find(state, flight.school_id, claims, accepted).await? {
                Found::User(user_id) => user_id,
                Found::Problem(problem_found, reason) => {
                    refused(state, flight.school_id, None, reason).await?;
                    return Ok(problem(&flight.slug, problem_found).into_response());
                }
            };
            sqlx::query_as!(
                Account,
                r#"select u.id, u.auth_epoch, u.totp_enabled_at is not null as "has_factor!",
                          m.status as "status?",
                          coalesce(m.roles && array['sbm', 'dpo', 'head', 'admin']::text[], false)
                            as "needs_code!"
                   from users u left join memberships m on m.user_id = u.id and m.school_id = $2
                   where u.id = $1"#,
                user_id,
                flight.school_id
            )
            .fetch_one(&state.pool)
            .await?
        }
    };
    let user_id = account.id;
    let problem_found = match account.status.as_deref() {
        Some("active") => None,
        Some("left") => Some((Problem::Left, "has left the school")),
        _ => Some((Problem::NotAdded, "not a member of the school")),
    };
    if let Some((problem_found, reason)) = problem_found {
        refused(state, flight.school_id, Some(user_id), reason).await?;
        return Ok(problem(&flight.slug, problem_found).into_response());
    }
    // The provider's own multi-factor is invisible in Microsoft's and Google's tokens: those
    // who reach personal data still give the portal's code, unless the school trusts a
    // provider that says it asked for more than one factor.
    let provider_mfa = accepted.provider_mfa && !first_time;
    let needs_code = account.needs_code && !provider_mfa;
    two_factor::after_first_step(
        state,
        session,
        FirstStep {
            user_id,
            auth_epoch: account.auth_epoch,
            has_second_factor: account.has_factor && needs_code,
            second_factor_required: needs_code,
            first: First::SchoolAccount,
            school: Some(flight.school_id),
            with: provider_mfa.then_some(SignInWith::SchoolAccountWithItsMultiFactor),
        },
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/sso_linked.html")]
struct LinkedPage {
    nav: Nav,
    slug: String,
    provider: SsoProvider,
}

async fn link(
    state: &AppState,
    flight: &Flight,
    user_id: Uuid,
    accepted: &rules::Accepted,
) -> Result<Response> {
    if !sso::link(&state.pool, &accepted.issuer, &accepted.subject, user_id).await? {
        refused(
            state,
            flight.school_id,
            Some(user_id),
            "linked to another account",
        )
        .await?;
        return Ok(problem(&flight.slug, Problem::LinkedToSomeoneElse).into_response());
    }
    audit::record(
        &state.pool,
        Some(flight.school_id),
        Some(user_id),
        &Event::SingleSignOnLinked {
            issuer: accepted.issuer.clone(),
            by_email: false,
        },
    )
    .await?;
    let provider = sso::for_school(&state.pool, flight.school_id)
        .await?
        .map(|sso| sso.provider)
        .unwrap_or(SsoProvider::Oidc);
    Ok(LinkedPage {
        nav: Nav::default(),
        slug: flight.slug.clone(),
        provider,
    }
    .into_response())
}

// ---- The admin's test sign-in ----

#[derive(Template, WebTemplate)]
#[template(path = "admin/sso_test.html")]
struct TestPage {
    nav: Nav,
    slug: String,
    verdict: String,
    accepted: bool,
    claims: Vec<(String, String)>,
}

async fn test_result(
    state: &AppState,
    flight: &Flight,
    sso: &SchoolSso,
    claims: std::result::Result<oidc::Claims, oidc::OidcError>,
) -> Result<Response> {
    let (verdict, accepted, shown) = match claims {
        Err(err) => (
            format!("The portal would not accept this sign-in: {err}."),
            false,
            vec![],
        ),
        Ok(claims) => {
            let shown = claims
                .all
                .iter()
                .map(|(name, value)| {
                    let value = match value {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    (name.clone(), value)
                })
                .collect();
            let verdict = match rules::accept(&school_rules(sso), &claims) {
                Err(refusal) => (format!("The portal would not accept this sign-in: {}", refusal.message()), false),
                Ok(accepted) => match sso::linked_user(&state.pool, &accepted.issuer, &accepted.subject).await? {
                    Some(_) => ("The portal would accept this sign-in: this account is linked to a person in the portal.".to_owned(), true),
                    None => match &accepted.email {
                        Some(email) => (format!("The portal would accept this sign-in, and would look for a person with the address {email} who belongs to this school only."), true),
                        None => ("The signature, issuer, audience and expiry are right, but the token has no verified address in the school's email domains, so the portal could not find the person until they link their account from a signed-in session.".to_owned(), false),
                    },
                },
            };
            (verdict.0, verdict.1, shown)
        }
    };
    Ok(TestPage {
        nav: Nav::default(),
        slug: flight.slug.clone(),
        verdict,
        accepted,
        claims: shown,
    }
    .into_response())
}
