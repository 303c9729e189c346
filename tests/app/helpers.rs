use std::str::FromStr;

use aup_portal::{
    db,
    startup::{Application, Background},
    state::Settings,
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
    /// The portal's secret key, to seal what a test stores as the portal would.
    pub secret: std::sync::Arc<aup_portal::secret_key::SecretKey>,
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

/// reqwest is built without a TLS provider of its own (the portal gives it ring): the tests'
/// clients, which speak plain HTTP, get ring too.
pub fn http() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

pub fn client() -> reqwest::Client {
    http()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .user_agent("aup-portal-tests/1.0")
        .build()
        .expect("client")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The portal with the demo school, on a free port, settings adjusted by `adjust`. Its
/// background loops (sealer, jobs, mail) do not run: tests call them when they mean to.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_running(adjust, Background::Nothing).await
}

/// As `spawn_app_with`, with `background` running beside it as in `serve`: the sealer,
/// the scheduled jobs and (with a mailer) the mail sender.
pub async fn spawn_app_running(
    adjust: impl FnOnce(&mut Settings),
    background: Background,
) -> TestApp {
    let (pool, _) = fresh_database().await;
    aup_portal::demo::seed(&pool, PASSWORD)
        .await
        .expect("demo data");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    let mut settings = Settings::for_base_url(address.clone());
    adjust(&mut settings);
    let secret = settings.secret.clone();
    let app = Application::build(settings, pool.clone(), listener);
    tokio::spawn(app.run_until_stopped(std::future::pending(), background));
    TestApp {
        address,
        pool,
        client: client(),
        secret,
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
        self.sign_in_as(email, PASSWORD).await
    }

    /// Signs in with `password`, expecting to get in.
    pub async fn sign_in_as(&self, email: &str, password: &str) -> Page {
        let page = self
            .post("/sign-in", &[("email", email), ("password", password)])
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

    /// The content fingerprint of a version, as its sign form carries it.
    pub async fn content_hash(&self, version: Uuid) -> String {
        sqlx::query_scalar("select content_sha256 from policy_versions where id = $1")
            .bind(version)
            .fetch_one(&self.pool)
            .await
            .expect("the version's content hash")
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect("count query")
    }
}

/// The membership of the person signing in with `email` (the first, if they have several).
pub async fn membership(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar(
        "select m.id from memberships m join users u on u.id = m.user_id where u.email = $1
         order by m.created_at limit 1",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .unwrap_or_else(|_| panic!("no membership for {email}"))
}

pub const CRANBROOK: &str = "Staff and Governors AUP";
pub const STAFF_AUP: &str = "Staff Acceptable Usage Policy";

/// The form fields of a good Cranbrook signature by Sam Taylor.
pub async fn cranbrook_signature(app: &TestApp) -> Vec<(&'static str, String)> {
    let hash = app.content_hash(app.version_id(CRANBROOK).await).await;
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

/// Sam Taylor signs the Cranbrook AUP (they must be signed in): its version's id.
pub async fn sign_cranbrook(app: &TestApp) -> Uuid {
    let version = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(app).await;
    let done = app
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    version
}

/// A real SMTP server (aiosmtpd, started by the tests) that keeps every message it accepts.
pub struct SmtpSink {
    child: Option<std::process::Child>,
    pub port: u16,
    pub dir: std::path::PathBuf,
}

#[derive(serde::Deserialize, Debug, Clone)]
pub struct Delivered {
    pub rcpt_tos: Vec<String>,
    pub from: String,
    pub subject: String,
    pub message_id: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// Images embedded for the HTML to show.
    #[serde(default)]
    pub inline: Vec<InlinePart>,
}

#[derive(serde::Deserialize, Debug, Clone)]
pub struct InlinePart {
    pub content_id: String,
    pub content_type: String,
    pub size: usize,
}

impl Delivered {
    /// The first link in the text part that points into the portal.
    pub fn link(&self, base: &str) -> String {
        let text = self.text.as_deref().unwrap_or_default();
        let start = text
            .find(base)
            .expect("a link to the portal in the text part");
        text[start..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

fn python() -> String {
    if let Ok(python) = std::env::var("AUP_TEST_PYTHON") {
        return python;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/target/tools-venv/bin/python");
    if std::path::Path::new(venv).exists() {
        venv.to_owned()
    } else {
        "python3".to_owned()
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_sink(port: u16, dir: &std::path::Path) -> std::process::Child {
    use std::io::BufRead;
    let mut child = std::process::Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/smtp_sink.py"
        ))
        .arg(dir)
        .arg(port.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with aiosmtpd (scripts/test installs it)");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("sink output");
    assert_eq!(
        line.trim(),
        "ready",
        "the SMTP sink did not start (is aiosmtpd installed?)"
    );
    child
}

impl SmtpSink {
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("aup-mail-{}", Uuid::new_v4().simple()));
        Self::start_on(free_port(), dir)
    }

    fn start_on(port: u16, dir: std::path::PathBuf) -> Self {
        let child = spawn_sink(port, &dir);
        SmtpSink {
            child: Some(child),
            port,
            dir,
        }
    }

    /// SMTP_URL for the portal: plain SMTP, as for a local relay.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port, keeping what was delivered.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Some(spawn_sink(self.port, &self.dir));
    }

    pub fn messages(&self) -> Vec<Delivered> {
        let mut found: Vec<Delivered> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .map(|e| {
                        serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap()
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort_by(|a, b| (&a.rcpt_tos, &a.subject).cmp(&(&b.rcpt_tos, &b.subject)));
        found
    }

    pub fn mailer(&self, base_url: &str) -> aup_portal::mail::smtp::Mailer {
        aup_portal::mail::smtp::Mailer::new(
            &self.url(),
            "Cranbrook AUP <aup@cranbrook.example>",
            base_url,
        )
        .expect("mailer")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TestApp {
    /// Someone else on the same portal, with cookies of their own.
    pub fn another(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            pool: self.pool.clone(),
            client: client(),
            secret: self.secret.clone(),
        }
    }
}

pub const ADMIN: &str = "it@cranbrook.example";

/// Cranbrook's IT administrator, Chris Patel, whose only role is admin.
pub async fn add_cranbrook_admin(app: &TestApp) {
    add_member(
        app,
        "cranbrook",
        ADMIN,
        "Chris Patel",
        "staff",
        "IT administrator",
        "{admin}",
    )
    .await;
}

/// Adds a member of school `school` (created if new, without a second factor required),
/// able to sign in with the test password. `roles` is a PostgreSQL array, like "{signer,sbm}".
pub async fn add_member(
    app: &TestApp,
    school: &str,
    email: &str,
    name: &str,
    grp: &str,
    job_title: &str,
    roles: &str,
) {
    sqlx::query(
        "insert into schools (slug, name, require_two_factor) values ($1, initcap($1) || ' Academy', false)
         on conflict (slug) do nothing",
    )
    .bind(school)
    .execute(&app.pool)
    .await
    .expect("school");
    sqlx::query(
        "with u as (insert into users (email, full_name, signing_name, password_hash)
                      select $2, $3, $3, password_hash from users where email = 'staff@cranbrook.example' returning id)
         insert into memberships (user_id, school_id, grp, job_title, roles)
         select u.id, s.id, $4, $5, $6::text[] from u, schools s where s.slug = $1",
    )
    .bind(school)
    .bind(email)
    .bind(name)
    .bind(grp)
    .bind(job_title)
    .bind(roles)
    .execute(&app.pool)
    .await
    .expect("member");
}

/// The leave form's fields for a leaving date of 31 August 2026.
pub const LEFT_ON: [(&str, &str); 3] = [
    ("left_on_day", "31"),
    ("left_on_month", "8"),
    ("left_on_year", "2026"),
];

/// The login the tests give the portal of its own: one role for the whole server (roles are
/// cluster-wide), made once, granted its rights in each test's database by the owner.
pub const RUNTIME_ROLE: &str = "aup_test_runtime";

/// Makes `RUNTIME_ROLE` if it is missing, grants it its rights in the database of `url` as
/// the owner would, and returns that database's URL logging in as it.
pub async fn runtime_login(owner: &PgPool, url: &str) -> String {
    sqlx::raw_sql(&format!(
        "do $$ begin
           create role {RUNTIME_ROLE} login password '{RUNTIME_ROLE}';
         exception when duplicate_object or unique_violation then null;
         end $$"
    ))
    .execute(owner)
    .await
    .expect("the runtime role");
    aup_portal::db::grant_runtime(owner, RUNTIME_ROLE)
        .await
        .expect("grant the runtime role");
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{RUNTIME_ROLE}:{RUNTIME_ROLE}@{host}")
}
