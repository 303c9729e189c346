//! The integration tests: one binary, a fresh PostgreSQL database per test, the portal
//! served on a free port, and a cookie-keeping HTTP client playing the person.

mod helpers;

mod access;
mod auth;
mod browser;
mod cli;
mod compliance;
mod database;
mod email_changes;
mod email_waits;
pub mod entra;
mod erasure;
mod faults;
mod handover;
mod home;
mod input;
mod library;
mod lists;
mod look;
mod mail;
mod memberships;
mod mis_import;
mod names;
mod people_forms;
mod provider;
mod public_notices;
mod publishing;
mod references;
mod reminder_links;
mod samples;
mod security;
mod sign_by;
mod sign_in_links;
mod signing;
mod sso;
mod sso_cli;
mod statement_editor;
mod web;
