//! Signing in and out, accounts, passwords and their reset, second factors, sessions and
//! memberships. The pages are one file each; `session` gives every page its signed-in person.

pub mod account;
pub mod email_change;
pub mod factor_secrets;
pub mod memberships;
pub mod password;
pub mod reauth;
mod schools;
pub mod session;
mod sign_in;
mod sign_in_link;
mod sso;
mod sso_flight;
mod sso_return;
mod steps;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod two_factor;

use axum::{
    Router,
    routing::{get, post},
};

use crate::paths;
use crate::state::AppState;

pub fn router(limit: crate::web::AttemptLimit) -> Router<AppState> {
    // The forms that check a password or a code, or send an email, are limited per address.
    let limited = Router::new()
        .route(
            paths::SignIn::PATH,
            get(sign_in::sign_in_form).post(sign_in::sign_in),
        )
        .merge(tokens::router())
        .merge(two_factor::router())
        .merge(account::checked_router())
        .merge(email_change::router())
        .merge(sso::router())
        .merge(sign_in_link::router())
        .route_layer(limit);
    Router::new()
        .route(paths::Schools::PATH, get(schools::schools))
        .route(paths::SignOut::PATH, post(sign_in::sign_out))
        .merge(limited)
        .merge(account::router())
        .merge(memberships::router())
}
