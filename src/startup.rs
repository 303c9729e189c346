//! Building the application: state, router and layers, bound to a listener that tests
//! open on port 0. `run_until_stopped` serves until the shutdown future completes.

use std::{
    future::{Future, IntoFuture},
    net::SocketAddr,
    sync::Arc,
    time::Duration,
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request},
    http::StatusCode,
    middleware,
    routing::get,
};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::{csrf::CsrfLayer, timeout::TimeoutLayer, trace::TraceLayer};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

use crate::paths;
use crate::{
    auth::{self, store::PgSessions},
    compliance,
    error::AppError,
    mail, policies, signing,
    state::{AppState, Settings},
    web,
};

/// How long requests in flight may take to finish once the portal is told to stop.
pub const DRAIN: Duration = Duration::from_secs(8);

/// The largest request body, but for the upload of a paper form's scan.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What runs beside the web server.
pub enum Background {
    /// Nothing: the tests that run the jobs themselves, and the benchmarks.
    Nothing,
    /// The scheduled jobs and the sealer; and the mail sender, given a mail server.
    Jobs { mailer: Option<mail::smtp::Mailer> },
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    store: PgSessions,
    state: AppState,
}

impl Application {
    pub fn build(settings: Settings, pool: PgPool, listener: TcpListener) -> Self {
        let store = PgSessions::new(pool.clone());
        let state = AppState {
            signatures: crate::store::agreements::Writer::start(pool.clone()),
            providers: crate::oidc::Providers::new(
                settings.keys_refetch_after,
                settings.sso_private_addresses,
            ),
            pool,
            settings: Arc::new(settings),
        };
        let router = router(state.clone(), store.clone());
        Application {
            listener,
            router,
            store,
            state,
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown`, with what `background` says beside it.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        background: Background,
    ) -> anyhow::Result<()> {
        crate::auth::password::warm_up();
        let sweeper = tokio::spawn(self.store.clone().sweep_every(Duration::from_secs(300)));
        let jobs = match background {
            Background::Nothing => None,
            Background::Jobs { mailer } => {
                let pool = self.state.pool.clone();
                let sealer = tokio::spawn(crate::seal::run_forever(pool.clone()));
                let jobs = tokio::spawn(crate::jobs::run_forever(
                    pool,
                    mailer,
                    self.state.settings.base_url.clone(),
                    self.state.settings.reminders,
                    self.state.settings.outbox_keep_days,
                    self.state.settings.operator_email.clone(),
                ));
                Some((sealer, jobs))
            }
        };
        // Requests in flight get DRAIN to finish; then the portal stops anyway, so that a
        // client that never finishes its request cannot hold up a restart.
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            shutdown.await;
            let _ = stopping.send(());
        };
        let server = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .into_future();
        let served = tokio::select! {
            served = server => served,
            () = async {
                if stopped.await.is_ok() {
                    tokio::time::sleep(DRAIN).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!("requests still open {} s after the signal to stop: stopping anyway", DRAIN.as_secs());
                Ok(())
            }
        };
        sweeper.abort();
        if let Some((sealer, jobs)) = jobs {
            sealer.abort();
            jobs.abort();
        }
        served.map_err(Into::into)
    }
}

pub fn router(state: AppState, store: PgSessions) -> Router {
    let secure = state.settings.secure_cookies();
    let sessions = SessionManagerLayer::new(store)
        .with_name(if secure {
            "__Host-aup_session"
        } else {
            "aup_session"
        })
        .with_secure(secure)
        .with_http_only(true)
        // Lax, so a link in an email lands signed in; CsrfLayer guards every POST.
        .with_same_site(SameSite::Lax)
        .with_path("/")
        // The cookie ends when the browser closes (shared classroom PCs); the idle and
        // absolute timeouts are enforced on the server, in `auth::session`.
        .with_expiry(Expiry::OnSessionEnd);

    let limit = web::attempt_limit(state.settings.attempts_per_minute);
    Router::new()
        .merge(auth::router(limit.clone()))
        .merge(signing::router())
        .merge(policies::router())
        .merge(compliance::router(limit.clone()))
        .merge(crate::admin::router(limit))
        .merge(crate::admin::public_router())
        .route(paths::Healthz::PATH, get(web::healthz))
        .route(paths::Readyz::PATH, get(web::readyz))
        .route(paths::Stylesheet::PATH, get(web::stylesheet))
        .route(paths::PasswordMeter::PATH, get(web::password_meter))
        .route(paths::Favicon::PATH, get(web::favicon))
        .route(
            paths::FaviconIco::PATH,
            get(|| async { axum::response::Redirect::permanent(paths::Favicon::PATH) }),
        )
        .fallback(|| async { AppError::NotFound })
        .layer(sessions)
        .layer(CsrfLayer::new())
        .layer(middleware::from_fn_with_state(secure, web::headers))
        .layer(middleware::from_fn_with_state(
            Arc::new(state.settings.trusted_proxies.clone()),
            web::remember_client_ip,
        ))
        // Forms are small; the one upload that is not (a paper form's scan) sets its own limit.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.settings.request_timeout,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .with_state(state)
}
