//! The SBM's side: who has and has not signed each published version, chasing them,
//! the list of people, paper signatures and the evidence exports. Heads see it read-only.

mod chasing;
pub mod dashboard;
pub mod evidence;
mod handover;
pub mod import;
pub mod import_cli;
mod import_pages;
mod leaving;
mod outstanding;
pub mod paper;
pub mod people;
mod people_export;
mod person;
mod person_email;
mod person_form;
mod person_records;
mod roles;
pub mod signers;
pub mod staff_file;
pub mod staff_mapping;

use crate::state::AppState;
use axum::Router;

pub fn router(limit: crate::web::AttemptLimit) -> Router<AppState> {
    Router::new()
        .merge(dashboard::router())
        .merge(chasing::router())
        .merge(people::router(limit.clone()))
        .merge(people_export::router())
        .merge(leaving::router())
        .merge(person_email::router(limit))
        .merge(import_pages::router())
        .merge(paper::router())
        .merge(evidence::router())
        .merge(handover::router())
}
