//! The school admin's pages: the audit log, the school's settings and its email.

mod audit_log;
mod look;
mod mail;
mod settings;
pub mod sso;

use axum::Router;

use crate::{state::AppState, web::AttemptLimit};

pub fn router(limit: AttemptLimit) -> Router<AppState> {
    Router::new()
        .merge(settings::routes())
        .merge(look::routes())
        .merge(sso::routes())
        // Saving may check the admin's password: under the per-address limit.
        .route_layer(limit)
        .merge(audit_log::routes())
        .merge(mail::routes())
}

/// The school's crest and colour, which any page (and any visitor) may load.
pub fn public_router() -> Router<AppState> {
    look::public_routes()
}
