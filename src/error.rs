//! The one error type of the web layer, and how each case looks to a person.
//! Causes of 5xx answers are logged here, once; the page shows no detail.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};

use crate::paths;
use crate::{page::Nav, store::agreements::WriteError};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("page not found")]
    NotFound,
    #[error("not allowed")]
    Forbidden,
    #[error("sign-in required")]
    SignInRequired,
    #[error("session timed out")]
    SessionExpired,
    /// A password session, at a school whose passwords are off: to its own sign-in page.
    #[error("this school signs in without passwords")]
    PasswordsOff(String),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Render(#[from] askama::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
    /// The database could not be reached, as the session store or the signature writer
    /// found; the cause is for the log.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(err: tower_sessions::session::Error) -> Self {
        use tower_sessions::{session::Error, session_store::Error as Store};
        match err {
            Error::Store(Store::Backend(cause)) => AppError::Unavailable(cause),
            err => AppError::Other(anyhow::Error::new(err).context("session store")),
        }
    }
}

impl From<WriteError> for AppError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::Unavailable(cause) => AppError::Unavailable(cause),
            WriteError::Database(err) => AppError::Sqlx(err),
            WriteError::Stopped => AppError::Other(anyhow::Error::new(err)),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub nav: Nav,
    pub title: &'static str,
    pub message: &'static str,
}

/// A page with a status, a title and a sentence: for errors and refusals.
pub fn page(status: StatusCode, title: &'static str, message: &'static str) -> Response {
    let page = ErrorPage {
        nav: Nav::default(),
        title,
        message,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "error page failed to render");
            (status, title).into_response()
        }
    }
}

/// The page for a moment when the database cannot be reached: 503, try again shortly. The
/// pool's idle connections are checked before their next use (`db::note_outage`).
pub fn unavailable() -> Response {
    crate::db::note_outage();
    let mut response = page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sorry, the portal is unavailable",
        "The portal cannot reach its database just now. Nothing you entered has been saved. Please try again in a minute.",
    );
    response
        .headers_mut()
        .insert("retry-after", axum::http::HeaderValue::from_static("30"));
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => page(
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the web address, check it is correct. If you followed a link, it may be out of date.",
            ),
            AppError::Forbidden => page(
                StatusCode::FORBIDDEN,
                "You cannot use this page",
                "Your account does not have access to this page. Ask your school business manager if you think it should.",
            ),
            AppError::SignInRequired => Redirect::to(paths::SignIn::PATH).into_response(),
            AppError::PasswordsOff(slug) => Redirect::to(&format!(
                "{}?passwords_off=1",
                paths::SchoolSignIn::new(&slug)
            ))
            .into_response(),
            AppError::SessionExpired => {
                Redirect::to(&format!("{}?expired=1", paths::SignIn::PATH)).into_response()
            }
            AppError::Sqlx(err) if crate::db::database_unavailable(&err) => {
                tracing::error!(error = %err, "database unavailable");
                unavailable()
            }
            // What a person typed that PostgreSQL cannot hold (a NUL byte, a year it has no
            // calendar for) and a form let through: refused, nothing saved, never a 500.
            AppError::Sqlx(err) if unstorable_input(&err) => {
                tracing::warn!(error = %err, "input refused by the database");
                page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Some of what you entered cannot be used",
                    "Part of what you entered holds a character or a date the portal cannot store. Nothing has been saved. Go back, remove any unusual characters, check any dates are between 1900 and 2200, and try again.",
                )
            }
            AppError::Unavailable(cause) => {
                tracing::error!(error = %cause, "database unavailable");
                unavailable()
            }
            err => {
                // Display, not Debug: a database error's Debug carries the failing row's values.
                tracing::error!(error = %err, "request failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, there is a problem with the portal",
                    "Nothing you entered has been saved. Please try again later.",
                )
            }
        }
    }
}

/// Input errors of class 22 (data exception) that only typed input can cause: an untranslatable
/// character (a NUL), a bad or out-of-range date, a value too long for its column.
fn unstorable_input(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            matches!(
                code.as_ref(),
                "22021" | "22P05" | "22008" | "22007" | "22001"
            )
        }),
        _ => false,
    }
}
