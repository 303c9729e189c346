//! The signer's side: what is waiting, the sign form, agreements and receipts.
//! An agreement is evidence: written once, by the signature writer (`store::agreements`), and
//! is its own audit record.

mod already_signed;
mod home;
mod receipt;
mod sign;
mod signable;

use axum::{Router, routing::get};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/s/{slug}/", get(home::home))
        .route(
            "/s/{slug}/versions/{version_id}/sign",
            get(sign::sign_form).post(sign::sign),
        )
        .route("/s/{slug}/agreements/{agreement_id}", get(receipt::receipt))
}
