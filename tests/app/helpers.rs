use std::str::FromStr;

use aup_portal::{
    db,
    startup::{Application, Settings},
};
use reqwest::{StatusCode, redirect};
use sqlx::{Connection, PgConnection, PgPool, postgres::PgConnectOptions};
use tokio::net::TcpListener;
use uuid::Uuid;

pub const PASSWORD: &str = "correct-horse-battery";
pub const STAFF: &str = "staff@cranbrook.example";
pub const GOVERNOR: &str = "governor@cranbrook.example";

/// Where the tests find PostgreSQL: `TEST_DATABASE_URL`, or the local server.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A new, empty database with the migrations applied.
pub async fn fresh_database() -> (PgPool, String) {
    let server = PgConnectOptions::from_str(&server_url()).expect("TEST_DATABASE_URL");
    let name = format!("aup_test_{}", Uuid::new_v4().simple());
    let mut conn = PgConnection::connect_with(&server)
        .await
        .expect("PostgreSQL must be running for the tests (see README)");
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let pool = db::connect(server.database(&name)).await.expect("connect");
    db::migrate(&pool).await.expect("migrate");
    let url = {
        let base = server_url();
        let (head, _) = base.rsplit_once('/').expect("URL with a database");
        format!("{head}/{name}")
    };
    (pool, url)
}

pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    pub client: reqwest::Client,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_contains(&self, text: &str) {
        assert!(
            self.body.contains(text),
            "expected {text:?} on the page (status {}):\n{}",
            self.status,
            self.body
        );
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .user_agent("aup-portal-tests/1.0")
        .build()
        .expect("client")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The portal with the demo school, on a free port, settings adjusted by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let (pool, _) = fresh_database().await;
    aup_portal::demo::seed(&pool, PASSWORD)
        .await
        .expect("demo data");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    let mut settings = Settings::for_base_url(address.clone());
    adjust(&mut settings);
    let app = Application::build(settings, pool.clone(), listener);
    tokio::spawn(app.run_until_stopped(std::future::pending(), None));
    TestApp {
        address,
        pool,
        client: client(),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    async fn page(response: reqwest::Response) -> Page {
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::page(
            self.client
                .post(self.url(path))
                .form(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// GET, following redirects within the portal.
    pub async fn visit(&self, path: &str) -> Page {
        let mut path = path.to_owned();
        for _ in 0..5 {
            let page = self.get(&path).await;
            match page.location() {
                Some(next) if page.status.is_redirection() => path = next.to_owned(),
                _ => return page,
            }
        }
        panic!("too many redirects from {path}");
    }

    pub async fn sign_in(&self, email: &str) -> Page {
        let page = self
            .post("/sign-in", &[("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-in failed: {}",
            page.body
        );
        page
    }

    /// The published version of a demo policy.
    pub async fn version_id(&self, policy_name: &str) -> Uuid {
        sqlx::query_scalar(
            "select v.id from policy_versions v join policies p on p.id = v.policy_id
             where p.name = $1 and v.status = 'published'",
        )
        .bind(policy_name)
        .fetch_one(&self.pool)
        .await
        .expect("published version")
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect("count query")
    }
}

pub const CRANBROOK: &str = "Staff and Governors AUP";
pub const STAFF_AUP: &str = "Staff Acceptable Usage Policy";

/// The form fields of a good Cranbrook signature by Sam Taylor.
pub async fn cranbrook_signature(app: &TestApp) -> Vec<(&'static str, String)> {
    let hash: String =
        sqlx::query_scalar("select content_sha256 from policy_versions where id = $1")
            .bind(app.version_id(CRANBROOK).await)
            .fetch_one(&app.pool)
            .await
            .expect("hash");
    vec![
        ("content_sha256", hash),
        ("ack", "understand".into()),
        ("ack", "agree".into()),
        ("full_name", "Sam Taylor".into()),
        ("role", "Class teacher".into()),
    ]
}

pub fn as_form<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
