//! Setting up a school's single sign-on: Microsoft Entra ID by tenant, Google Workspace by
//! domain, or any other OpenID provider by its issuer; the client ID, the secret (sealed
//! with the portal's key and never shown again), when the secret runs out, and the
//! school's email domains. The same checks serve the settings page and `aup-portal sso`.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use crate::audit::{Doing, Event};
use crate::domain::{
    dates::{self, DateBoxes},
    render,
    statuses::SsoProvider,
};
use crate::oidc::{Providers, rules};
use crate::paths;
use crate::store::sso::{self, SchoolSso};
use crate::{
    audit,
    auth::session::{Admins, RequireRole},
    error::Result,
    page::{FieldErrors, Nav},
    state::{AppState, Settings},
};

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(
        paths::SsoSettings::PATH,
        axum::routing::get(sso_page).post(save_sso),
    )
}

/// What an admin typed, on the page or on the command line.
#[derive(Default, Deserialize, Clone)]
pub struct SsoInput {
    #[serde(default)]
    pub provider: String,
    /// Microsoft: the tenant's GUID or one of its domain names.
    #[serde(default)]
    pub tenant: String,
    /// Google: the Workspace domain.
    #[serde(default)]
    pub google_domain: String,
    /// Any other provider: its issuer.
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub client_id: String,
    /// Empty on the page: keep the secret already stored.
    #[serde(default)]
    pub client_secret: String,
    /// The command line's date, in any form it reads.
    #[serde(default)]
    pub secret_expires: String,
    /// The page's date, in the three boxes of the GOV.UK date input.
    #[serde(default)]
    pub secret_expires_day: String,
    #[serde(default)]
    pub secret_expires_month: String,
    #[serde(default)]
    pub secret_expires_year: String,
    /// One per line, or separated by commas or spaces.
    #[serde(default)]
    pub email_domains: String,
    pub trust_provider_mfa: Option<String>,
}

/// A setting that passed every check, ready to store: the secret sealed.
pub struct Checked {
    pub sso: SchoolSso,
}

/// Whether the address typed still names the stored issuer (tenant, domain or issuer).
fn stored_issuer_kept(stored: &SchoolSso, input: &SsoInput) -> bool {
    match stored.provider {
        SsoProvider::Microsoft => {
            stored.tenant_id.map(|t| t.to_string()) == Some(input.tenant.trim().to_lowercase())
        }
        SsoProvider::Google => {
            stored.hosted_domain.as_deref()
                == Some(input.google_domain.trim().to_lowercase().as_str())
        }
        SsoProvider::Oidc => {
            stored.issuer.trim_end_matches('/') == input.issuer.trim().trim_end_matches('/')
        }
    }
}

fn domain_ok(domain: &str) -> bool {
    domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// Checks what an admin typed, asking the provider where it must (an Entra domain's tenant,
/// an issuer's discovery document). `stored` is the setting already kept, whose secret an
/// empty secret field keeps.
pub async fn check(
    providers: &Providers,
    settings: &Settings,
    school_id: Uuid,
    input: &SsoInput,
    stored: Option<&SchoolSso>,
) -> std::result::Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::default();
    let provider = SsoProvider::from_word(input.provider.trim());
    if provider.is_none() {
        errors.add("provider", "Choose who your school's accounts are with");
    }
    let client_id = input.client_id.trim().to_owned();
    if client_id.is_empty() {
        errors.add(
            "client_id",
            "Enter the client ID the provider gave the portal",
        );
    } else if client_id.len() > 400 || client_id.chars().any(char::is_whitespace) {
        errors.add(
            "client_id",
            "Enter the client ID as the provider shows it, without spaces",
        );
    }
    let secret = input.client_secret.trim();
    let sealed = match (secret.is_empty(), stored) {
        // Kept only for the same provider and client: never sent to a new address.
        (true, Some(stored))
            if Some(stored.provider) == provider
                && stored.client_id == client_id
                && stored_issuer_kept(stored, input) =>
        {
            Some(stored.client_secret_sealed.clone())
        }
        (true, Some(_)) => {
            errors.add(
                "client_secret",
                "Enter the client secret again: the provider, issuer or client ID has changed",
            );
            None
        }
        (true, _) => {
            errors.add(
                "client_secret",
                "Enter the client secret the provider gave the portal",
            );
            None
        }
        (false, _) if secret.len() > 1000 => {
            errors.add(
                "client_secret",
                "The client secret must be 1,000 characters or fewer",
            );
            None
        }
        (false, _) => Some(
            settings
                .secret
                .seal(&sso::secret_context(school_id), secret.as_bytes()),
        ),
    };
    let boxes = DateBoxes::typed(
        &input.secret_expires_day,
        &input.secret_expires_month,
        &input.secret_expires_year,
    );
    let secret_expires_on = match input.secret_expires.trim() {
        "" => boxes
            .optional("the date the secret expires")
            .unwrap_or_else(|message| {
                errors.add("secret_expires", message);
                None
            }),
        text => match dates::parse_any_date(text) {
            Some(date) => Some(date),
            None => {
                errors.add(
                    "secret_expires",
                    "Enter the date the secret expires, like 1 November 2027",
                );
                None
            }
        },
    };
    let mut email_domains = vec![];
    for domain in input
        .email_domains
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|d| d.trim().trim_start_matches('@').to_lowercase())
        .filter(|d| !d.is_empty())
    {
        if !domain_ok(&domain) {
            errors.add(
                "email_domains",
                format!("{domain} is not a domain name: enter domains like cranbrook.sch.uk"),
            );
            break;
        }
        if !email_domains.contains(&domain) {
            email_domains.push(domain);
        }
    }
    let (issuer, tenant_id, hosted_domain) = match provider {
        Some(SsoProvider::Microsoft) => {
            let tenant = input.tenant.trim();
            let found = match Uuid::parse_str(tenant) {
                Ok(guid) => Ok(guid),
                Err(_) if tenant.is_empty() => {
                    Err("Enter your Microsoft 365 tenant ID, or one of its domain names".to_owned())
                }
                Err(_) if !domain_ok(tenant) => Err(
                    "Enter the tenant ID (a GUID) or a domain name like cranbrook.sch.uk"
                        .to_owned(),
                ),
                // A domain is resolved to the tenant's GUID once, and the GUID kept.
                Err(_) => providers
                    .entra_tenant(&settings.entra_authority, tenant)
                    .await
                    .map_err(|err| format!("Microsoft could not find that tenant: {err}")),
            };
            match found {
                Ok(guid) => (
                    rules::entra_issuer(&settings.entra_authority, guid),
                    Some(guid),
                    None,
                ),
                Err(message) => {
                    errors.add("tenant", message);
                    (String::new(), None, None)
                }
            }
        }
        Some(SsoProvider::Google) => {
            let domain = input.google_domain.trim().to_lowercase();
            if !domain_ok(&domain) {
                errors.add(
                    "google_domain",
                    "Enter your Google Workspace domain, like cranbrook.sch.uk",
                );
            }
            (settings.google_issuer.clone(), None, Some(domain))
        }
        Some(SsoProvider::Oidc) => match input.issuer.trim() {
            "" => {
                errors.add(
                    "issuer",
                    "Enter the provider's issuer, like https://login.example.org",
                );
                (String::new(), None, None)
            }
            typed => match rules::issuer_url(typed) {
                Err(message) => {
                    errors.add("issuer", message);
                    (String::new(), None, None)
                }
                Ok(_) => match providers.discover_issuer(typed).await {
                    Ok(issuer) => (issuer, None, None),
                    Err(err) => {
                        errors.add(
                            "issuer",
                            format!("The portal could not use that issuer: {err}"),
                        );
                        (String::new(), None, None)
                    }
                },
            },
        },
        None => (String::new(), None, None),
    };
    let trust_provider_mfa =
        input.trust_provider_mfa.is_some() && provider == Some(SsoProvider::Oidc);
    match (provider, sealed, errors.is_empty()) {
        (Some(provider), Some(client_secret_sealed), true) => Ok(Checked {
            sso: SchoolSso {
                provider,
                issuer,
                tenant_id,
                hosted_domain,
                client_id,
                client_secret_sealed,
                secret_expires_on,
                email_domains,
                trust_provider_mfa,
            },
        }),
        _ => Err(errors),
    }
}

/// Stores a checked setting and audits it.
pub async fn save(
    pool: &sqlx::PgPool,
    school_id: Uuid,
    actor: Option<Uuid>,
    checked: &Checked,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sso::save(&mut *tx, school_id, &checked.sso).await?;
    audit::record(
        &mut *tx,
        Some(school_id),
        actor,
        &Event::SingleSignOnSetUp {
            provider: checked.sso.provider,
            issuer: checked.sso.issuer.clone(),
        },
    )
    .await?;
    tx.commit().await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/sso.html")]
struct SsoPage {
    nav: Nav,
    slug: String,
    redirect_uri: String,
    input: SsoInput,
    configured: Option<Configured>,
    passwords_off: bool,
    saved: bool,
    removed: bool,
    errors: FieldErrors,
}

/// What is set up now, as the page shows it.
struct Configured {
    provider: SsoProvider,
    issuer: String,
    expires: Option<String>,
    expires_soon: bool,
}

#[derive(Deserialize)]
struct SsoQuery {
    saved: Option<String>,
    removed: Option<String>,
}

fn input_of(stored: &SchoolSso) -> SsoInput {
    let expires = DateBoxes::of(stored.secret_expires_on);
    SsoInput {
        provider: stored.provider.word().to_owned(),
        tenant: stored.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
        google_domain: stored.hosted_domain.clone().unwrap_or_default(),
        issuer: match stored.provider {
            SsoProvider::Oidc => stored.issuer.clone(),
            _ => String::new(),
        },
        client_id: stored.client_id.clone(),
        client_secret: String::new(),
        secret_expires: String::new(),
        secret_expires_day: expires.day,
        secret_expires_month: expires.month,
        secret_expires_year: expires.year,
        email_domains: stored.email_domains.join("\n"),
        trust_provider_mfa: stored.trust_provider_mfa.then(|| "on".to_owned()),
    }
}

fn configured(stored: &SchoolSso) -> Configured {
    let today = crate::clock::today_uk();
    Configured {
        provider: stored.provider,
        issuer: stored.issuer.clone(),
        expires: stored.secret_expires_on.map(render::long_date),
        expires_soon: stored
            .secret_expires_on
            .is_some_and(|date: Date| date - today <= time::Duration::days(30)),
    }
}

fn page(
    state: &AppState,
    admin: &RequireRole<Admins>,
    stored: Option<&SchoolSso>,
    passwords_off: bool,
) -> SsoPage {
    SsoPage {
        nav: admin.nav(),
        slug: admin.school.slug.clone(),
        redirect_uri: format!(
            "{}{}",
            state.settings.base_url.trim_end_matches('/'),
            paths::SsoCallback::PATH
        ),
        input: stored.map(input_of).unwrap_or_default(),
        configured: stored.map(configured),
        passwords_off,
        saved: false,
        removed: false,
        errors: FieldErrors::default(),
    }
}

async fn sso_page(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    Query(query): Query<SsoQuery>,
) -> Result<SsoPage> {
    let stored = sso::for_school(&state.pool, admin.school.id).await?;
    let passwords_off = passwords_off(&state, admin.school.id).await?;
    Ok(SsoPage {
        saved: query.saved.is_some(),
        removed: query.removed.is_some(),
        ..page(&state, &admin, stored.as_ref(), passwords_off)
    })
}

#[derive(Deserialize)]
struct SaveForm {
    #[serde(flatten)]
    input: SsoInput,
    #[serde(default)]
    password: String,
    /// "remove" switches single sign-on off.
    #[serde(default)]
    action: String,
}

async fn save_sso(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    Form(form): Form<SaveForm>,
) -> Result<Response> {
    let stored = sso::for_school(&state.pool, admin.school.id).await?;
    let was_off = passwords_off(&state, admin.school.id).await?;
    let removing = form.action == "remove";
    let refusal =
        crate::auth::reauth::check(&state.pool, admin.user.id, &form.password, Doing::Settings)
            .await?
            .refusal(
                "Enter your password to change how people sign in",
                "Your password is not right",
            );
    if matches!(form.action.as_str(), "passwords_off" | "passwords_on") {
        let off = form.action == "passwords_off";
        let problems = match refusal {
            Some(message) => {
                let mut errors = FieldErrors::default();
                errors.add("passwords-password", message);
                Some(errors)
            }
            None => switch_passwords(&state, &admin, stored.is_some(), off).await?,
        };
        if let Some(errors) = problems {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&state, &admin, stored.as_ref(), was_off).with_errors(errors),
            )
                .into_response());
        }
        return Ok(Redirect::to(&format!(
            "{}?saved=1",
            paths::SsoSettings::new(&admin.school.slug)
        ))
        .into_response());
    }
    let result = match refusal {
        Some(message) => {
            let mut errors = FieldErrors::default();
            errors.add("password", message);
            Err(errors)
        }
        // Single sign-on is the way in while passwords are off.
        None if removing && was_off => {
            let mut errors = FieldErrors::default();
            errors.add(
                "passwords",
                "Switch passwords back on before switching single sign-on off, or no one could sign in",
            );
            Err(errors)
        }
        None if removing => Ok(None),
        None => check(
            &state.providers,
            &state.settings,
            admin.school.id,
            &form.input,
            stored.as_ref(),
        )
        .await
        .map(Some),
    };
    match result {
        Ok(Some(checked)) => {
            save(&state.pool, admin.school.id, Some(admin.user.id), &checked).await?;
            Ok(Redirect::to(&format!(
                "{}?saved=1",
                paths::SsoSettings::new(&admin.school.slug)
            ))
            .into_response())
        }
        Ok(None) => {
            let mut tx = state.pool.begin().await?;
            if sso::remove(&mut *tx, admin.school.id).await? {
                audit::record(
                    &mut *tx,
                    Some(admin.school.id),
                    Some(admin.user.id),
                    &Event::SingleSignOnRemoved,
                )
                .await?;
            }
            tx.commit().await?;
            Ok(Redirect::to(&format!(
                "{}?removed=1",
                paths::SsoSettings::new(&admin.school.slug)
            ))
            .into_response())
        }
        Err(errors) => {
            let mut input = form.input;
            input.client_secret = String::new();
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                SsoPage {
                    input,
                    errors,
                    ..page(&state, &admin, stored.as_ref(), was_off)
                },
            )
                .into_response())
        }
    }
}

impl SsoPage {
    fn with_errors(self, errors: FieldErrors) -> Self {
        SsoPage { errors, ..self }
    }
}

async fn passwords_off(state: &AppState, school_id: Uuid) -> Result<bool> {
    Ok(
        sqlx::query_scalar!("select passwords_off from schools where id = $1", school_id)
            .fetch_one(&state.pool)
            .await?,
    )
}

/// Switches the school's passwords off (or on again). Off needs single sign-on set up, and
/// an authenticator for every admin: their password and code are the way in when the
/// provider is down. Returns the problems, if it cannot.
async fn switch_passwords(
    state: &AppState,
    admin: &RequireRole<Admins>,
    sso_set_up: bool,
    off: bool,
) -> Result<Option<FieldErrors>> {
    let mut errors = FieldErrors::default();
    if off && !sso_set_up {
        errors.add(
            "passwords",
            "Set up single sign-on before switching passwords off",
        );
        return Ok(Some(errors));
    }
    if off {
        let without = sqlx::query_scalar!(
            r#"select u.full_name from memberships m join users u on u.id = m.user_id
               where m.school_id = $1 and m.status = 'active' and 'admin' = any(m.roles)
                 and u.totp_enabled_at is null
               order by lower(u.surname), lower(u.full_name)"#,
            admin.school.id
        )
        .fetch_all(&state.pool)
        .await?;
        if !without.is_empty() {
            errors.add(
                "passwords",
                format!(
                    "Every administrator needs an authenticator app before passwords go off. Without one: {}",
                    without.join(", ")
                ),
            );
            return Ok(Some(errors));
        }
    }
    let mut tx = state.pool.begin().await?;
    sqlx::query!(
        "update schools set passwords_off = $2 where id = $1",
        admin.school.id,
        off
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Some(admin.school.id),
        Some(admin.user.id),
        &Event::PasswordsSwitched { off },
    )
    .await?;
    tx.commit().await?;
    Ok(None)
}
