//! The school's settings, for its admins: the second step at sign-in, and how the portal
//! shows the school (`look`).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::paths;
use crate::{
    auth::session::{Admins, RequireRole},
    error::Result,
    page::Nav,
    state::AppState,
};

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(
        paths::Settings::PATH,
        axum::routing::get(settings_page).post(save_settings),
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/settings.html")]
pub(super) struct SettingsPage {
    nav: Nav,
    slug: String,
    require_two_factor: bool,
    /// How the school is shown, as stored or as typed.
    look: LookFields,
    /// The crest's address, if the school has one.
    crest: Option<String>,
    saved: bool,
    errors: crate::page::FieldErrors,
}

/// The fields of "How the portal shows your school".
#[derive(Default)]
pub(super) struct LookFields {
    pub name: String,
    pub sender_name: String,
    pub colour: String,
}

#[derive(Deserialize)]
struct SettingsQuery {
    saved: Option<String>,
}

/// The settings page; with `typed`, the look as typed, and `errors` about it.
pub(super) async fn page(
    state: &AppState,
    admin: &RequireRole<Admins>,
    typed: Option<LookFields>,
    saved: bool,
    errors: crate::page::FieldErrors,
) -> Result<SettingsPage> {
    let school = sqlx::query!(
        "select require_two_factor, name, sender_name, colour from schools where id = $1",
        admin.school.id
    )
    .fetch_one(&state.pool)
    .await?;
    Ok(SettingsPage {
        nav: admin.nav(),
        slug: admin.school.slug.clone(),
        require_two_factor: school.require_two_factor,
        look: typed.unwrap_or(LookFields {
            name: school.name,
            sender_name: school.sender_name.unwrap_or_default(),
            colour: school.colour.unwrap_or_default(),
        }),
        crest: admin.nav().crest,
        saved,
        errors,
    })
}

async fn settings_page(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    Query(query): Query<SettingsQuery>,
) -> Result<SettingsPage> {
    page(
        &state,
        &admin,
        None,
        query.saved.is_some(),
        crate::page::FieldErrors::default(),
    )
    .await
}

#[derive(Deserialize)]
struct SettingsForm {
    require_two_factor: Option<String>,
    #[serde(default)]
    password: String,
}

async fn save_settings(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    axum::Form(form): axum::Form<SettingsForm>,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    let require = form.require_two_factor.is_some();
    let was = sqlx::query_scalar!(
        "select require_two_factor from schools where id = $1",
        admin.school.id
    )
    .fetch_one(&state.pool)
    .await?;
    // Turning the second factor off weakens every account that reaches personal data: the
    // admin proves it is them first.
    if was
        && !require
        && let Some(message) = crate::auth::reauth::check(
            &state.pool,
            admin.user.id,
            &form.password,
            crate::audit::Doing::Settings,
        )
        .await?
        .refusal(
            "Enter your password to turn the requirement off",
            "Your password is not right",
        )
    {
        let mut errors = crate::page::FieldErrors::default();
        errors.add("password", message);
        let mut page = page(&state, &admin, None, false, errors).await?;
        page.require_two_factor = require;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let mut tx = state.pool.begin().await?;
    sqlx::query!(
        "update schools set require_two_factor = $2 where id = $1",
        admin.school.id,
        require
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut *tx,
        Some(admin.school.id),
        Some(admin.user.id),
        &crate::audit::Event::SettingChanged {
            require_two_factor: require,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(axum::response::Redirect::to(&format!(
        "{}?saved=1",
        paths::Settings::new(&admin.school.slug)
    ))
    .into_response())
}
