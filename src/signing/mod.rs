//! The signer's side: what is waiting, the sign form, agreements and receipts.
//! An agreement is evidence: written once, by the signature writer (`store::agreements`), and
//! is its own audit record.

mod accessibility;
mod already_signed;
mod getting_started;
mod home;
mod library;
mod receipt;
mod sign;
mod signable;

use axum::{Router, routing::get};

use crate::paths;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::Accessibility::PATH, get(accessibility::statement))
        .route(paths::SchoolHome::PATH, get(home::home))
        .route(paths::Sign::PATH, get(sign::sign_form).post(sign::sign))
        .route(paths::Receipt::PATH, get(receipt::receipt))
        .route(paths::Library::PATH, get(library::library))
        .route(paths::LibraryVersion::PATH, get(library::read))
}
