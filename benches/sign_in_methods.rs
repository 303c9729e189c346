//! The INSET morning's sign-in, three ways: a password (argon2), the school's own OpenID
//! provider, and a link sent by email. The portal runs as its release binary, a separate
//! process, and so do its test provider (oidc-provider-mock, from scripts/test's
//! target/oidc-venv) and an SMTP sink: each process's CPU is read from /proc before and after,
//! and reported apart. A single sign-on counts the portal's two requests (the start, the
//! return with its token exchange); an emailed link counts its request, its email (sent by
//! the portal's own sender), the click and the POST.
//!
//! Run: `cargo bench --bench sign_in_methods` (PostgreSQL from BENCH_DATABASE_URL, or
//! TEST_DATABASE_URL, or 127.0.0.1:5432). Results go in BENCHMARKS.md.

use std::{
    io::BufRead,
    process::{Child, Command, Stdio},
    str::FromStr,
    time::{Duration, Instant},
};

use aup_portal::{db, domain::statuses::SsoProvider, secret_key::SecretKey, store::sso};
use reqwest::StatusCode;
use sqlx::{Connection, PgConnection, PgPool, postgres::PgConnectOptions};

const PEOPLE: usize = 150;
const ROUNDS: usize = 3;
/// Each method (and the reference) signs in people of its own: password, school account,
/// emailed link, sign page view.
const METHODS: usize = 4;
const PASSWORD: &str = "correct-horse-battery";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// CPU seconds (user and system) of a process so far, from /proc.
fn cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<f64> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0.0))
                .collect()
        })
        .unwrap_or_default();
    (fields.get(11).copied().unwrap_or(0.0) + fields.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// The Python with oidc-provider-mock (and joserfc, for the tampering proxy): scripts/test
/// makes it in target/oidc-venv.
fn python() -> String {
    std::env::var("AUP_OIDC_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/oidc-venv/bin/python").to_owned()
    })
}

/// The Python with aiosmtpd, for the SMTP sink.
fn tools_python() -> String {
    std::env::var("AUP_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/tools-venv/bin/python").to_owned()
    })
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

struct Portal {
    base: String,
    pid: u32,
    provider_pid: u32,
    sink_pid: u32,
    provider: String,
    pool: PgPool,
    /// Where the SMTP sink writes each email it receives.
    sink_dir: std::path::PathBuf,
}

impl Portal {
    fn cpu(&self) -> (f64, f64, f64) {
        (cpu(self.pid), cpu(self.provider_pid), cpu(self.sink_pid))
    }

    /// Waits (up to 30 s) until the portal is idle: no CPU over half a second. Work a method
    /// leaves behind (the evidence chain's sealing, the sender's last emails) is then not
    /// counted against the next.
    async fn settle(&self) {
        for _ in 0..60 {
            let before = cpu(self.pid);
            tokio::time::sleep(Duration::from_millis(500)).await;
            if cpu(self.pid) - before < 0.005 {
                return;
            }
        }
    }
}

fn email(n: usize) -> String {
    format!("staff{n}@cranbrook.example")
}

async fn password_sign_in(portal: &Portal, n: usize) {
    let http = client();
    let answer = http
        .post(format!("{}/sign-in", portal.base))
        .form(&[("email", email(n).as_str()), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign-in");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
}

async fn sso_sign_in(portal: &Portal, n: usize) {
    let http = client();
    let start = http
        .get(format!(
            "{}/s/cranbrook/sign-in/school-account",
            portal.base
        ))
        .send()
        .await
        .expect("start");
    let authorize = start.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let at_provider = client()
        .post(&authorize)
        .form(&[("sub", format!("person-{n}").as_str())])
        .send()
        .await
        .expect("authorize");
    let back = at_provider.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let answer = http.get(&back).send().await.expect("return");
    assert_eq!(
        answer.status(),
        StatusCode::SEE_OTHER,
        "{}",
        answer.text().await.unwrap_or_default()
    );
}

/// The reference: `views` views of the sign page by a person signed in once with a password
/// (not counted), each on a fresh connection as each sign-in's is.
async fn sign_page_views(portal: &Portal, person: usize, views: usize) -> impl AsyncFnOnce() {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let signed_in = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let answer = signed_in
        .post(format!("{}/sign-in", portal.base))
        .form(&[("email", email(person).as_str()), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign-in");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let version: uuid::Uuid = sqlx::query_scalar(
        "select v.id from policy_versions v join policies p on p.id = v.policy_id
           join schools s on s.id = v.school_id
          where s.slug = 'cranbrook' and v.status = 'published' and 'staff' = any(p.audience)
          limit 1",
    )
    .fetch_one(&portal.pool)
    .await
    .expect("a version for staff");
    let url = format!("{}/s/cranbrook/versions/{version}/sign", portal.base);
    async move || {
        for _ in 0..views {
            let fresh = reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client");
            let answer = fresh.get(&url).send().await.expect("sign page");
            assert_eq!(answer.status(), StatusCode::OK);
            answer.bytes().await.expect("the page");
        }
    }
}

/// Asks for the links of `people`, waits for the portal's sender to send every email, then
/// opens each link and presses its button.
async fn link_sign_ins(portal: &Portal, people: std::ops::Range<usize>) {
    for n in people.clone() {
        let answer = client()
            .post(format!("{}/sign-in/email", portal.base))
            .form(&[("email", email(n).as_str())])
            .send()
            .await
            .expect("ask");
        assert_eq!(answer.status(), StatusCode::OK);
    }
    for _ in 0..120 {
        let pending: i64 =
            sqlx::query_scalar("select count(*) from outbox where status = 'pending'")
                .fetch_one(&portal.pool)
                .await
                .expect("count");
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The links, from the emails as the SMTP sink received them (the outbox keeps no
    // working link once an email is sent).
    let addresses: Vec<String> = people.clone().map(email).collect();
    let mut links = vec![];
    for entry in std::fs::read_dir(&portal.sink_dir).expect("the sink's folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let message: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("message")).expect("json");
        let to = message["rcpt_tos"][0].as_str().unwrap_or_default();
        if !addresses.iter().any(|a| a == to) {
            continue;
        }
        let body = message["text"].as_str().unwrap_or_default();
        let start = body.find(&portal.base).expect("a link");
        links.push(
            body[start..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(links.len(), people.len());
    for link in links {
        let http = client();
        assert_eq!(
            http.get(&link).send().await.expect("open").status(),
            StatusCode::OK
        );
        let answer = http.post(&link).send().await.expect("press");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    }
}

async fn setup() -> (Portal, Vec<Killed>) {
    let server = std::env::var("BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("TEST_DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let server = PgConnectOptions::from_str(&server).expect("url");
    let mut admin = PgConnection::connect_with(&server).await.expect("connect");
    sqlx::query("drop database if exists aup_bench_sign_in")
        .execute(&mut admin)
        .await
        .expect("drop");
    sqlx::query("create database aup_bench_sign_in")
        .execute(&mut admin)
        .await
        .expect("create");
    let options = server.clone().database("aup_bench_sign_in");
    let pool = db::connect(options.clone()).await.expect("pool");
    db::migrate(&pool).await.expect("migrate");
    aup_portal::demo::seed(&pool, PASSWORD).await.expect("demo");
    sqlx::raw_sql(&format!(
        "insert into users (email, full_name, signing_name, surname, password_hash)
             select 'staff' || p || '@cranbrook.example', 'Staff Member ' || p, 'Staff Member ' || p, p,
                    (select password_hash from users where email = 'staff@cranbrook.example')
             from generate_series(0, {PEOPLE} * {ROUNDS} * {METHODS}) p;
         insert into memberships (user_id, school_id, grp, job_title, roles)
             select u.id, s.id, 'staff', 'Class teacher', '{{signer}}'
             from users u, schools s where u.email like 'staff%@cranbrook.example'
               and u.email <> 'staff@cranbrook.example' and s.slug = 'cranbrook';"
    ))
    .execute(&pool)
    .await
    .expect("people");

    let mut killed = vec![];
    let provider_port = free_port();
    let provider = Command::new(python())
        .args([
            "-m",
            "oidc_provider_mock",
            "--port",
            &provider_port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("oidc-provider-mock (scripts/test installs it)");
    let provider_pid = provider.id();
    killed.push(Killed(provider));
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let sink_port = free_port();
    let sink_dir = std::env::temp_dir().join(format!("aup-bench-mail-{}", std::process::id()));
    let mut sink = Command::new(tools_python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/smtp_sink.py"
        ))
        .arg(&sink_dir)
        .arg(sink_port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("aiosmtpd");
    let mut ready = String::new();
    std::io::BufReader::new(sink.stdout.take().expect("stdout"))
        .read_line(&mut ready)
        .expect("sink");
    let sink_pid = sink.id();
    killed.push(Killed(sink));

    // The key the portal will use seals the client secret, as `aup-portal sso` would.
    let key_file = std::env::temp_dir().join("aup-bench-sign-in-secret.key");
    let key = SecretKey::load_or_create(&key_file).expect("key");
    let school_id: uuid::Uuid =
        sqlx::query_scalar("select id from schools where slug = 'cranbrook'")
            .fetch_one(&pool)
            .await
            .expect("school");
    let setting = sso::SchoolSso {
        provider: SsoProvider::Oidc,
        issuer: issuer.clone(),
        tenant_id: None,
        hosted_domain: None,
        client_id: "aup-portal".to_owned(),
        client_secret_sealed: key.seal(&sso::secret_context(school_id), b"bench-secret"),
        secret_expires_on: None,
        email_domains: vec!["cranbrook.example".to_owned()],
        trust_provider_mfa: false,
    };
    sso::save(&pool, school_id, &setting).await.expect("sso");

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let url = format!(
        "postgres://{}@{}:{}/aup_bench_sign_in",
        options.get_username(),
        options.get_host(),
        options.get_port()
    );
    let portal = Command::new(env!("CARGO_BIN_EXE_aup-portal"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("AUP_BIND", format!("127.0.0.1:{port}"))
        .env("AUP_BASE_URL", &base)
        .env("AUP_ATTEMPTS_PER_MINUTE", "off")
        // The test provider runs on this machine.
        .env("AUP_SSO_PRIVATE_ADDRESSES", "true")
        .env("AUP_SECRET_KEY_FILE", &key_file)
        .env("SMTP_URL", format!("smtp://127.0.0.1:{sink_port}?tls=none"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .expect("the portal");
    let pid = portal.id();
    killed.push(Killed(portal));
    for _ in 0..600 {
        if client()
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|a| a.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..300 {
        let discovery = client()
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await;
        if discovery.is_ok_and(|a| a.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Everyone exists at the provider with a verified address in the school's domain.
    for n in 0..=(PEOPLE * ROUNDS * METHODS) {
        client()
            .put(format!("{issuer}/users/person-{n}"))
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"email": "{}", "email_verified": true}}"#,
                email(n)
            ))
            .send()
            .await
            .expect("provider user");
    }
    (
        Portal {
            base,
            pid,
            provider_pid,
            sink_pid,
            provider: issuer,
            pool,
            sink_dir,
        },
        killed,
    )
}

#[tokio::main]
async fn main() {
    let (portal, _processes) = setup().await;
    println!(
        "{PEOPLE} sign-ins a method a round, one at a time; portal at {} (pid {}), provider at {}",
        portal.base, portal.pid, portal.provider
    );
    // AUP_BENCH_METHODS="school account" runs only that method, to profile it.
    let only = std::env::var("AUP_BENCH_METHODS").ok();
    // Warm up: the provider's discovery and keys, argon2's memory, the portal's pools.
    for n in 0..3 {
        password_sign_in(&portal, PEOPLE * ROUNDS * METHODS - n).await;
        sso_sign_in(&portal, PEOPLE * ROUNDS * METHODS - n).await;
    }
    let mut next = 0;
    let mut rows = vec![];
    for round in 1..=ROUNDS {
        for method in [
            "password",
            "school account",
            "emailed link",
            "sign page view",
        ] {
            if only.as_deref().is_some_and(|only| !only.contains(method)) {
                continue;
            }
            let people = next..next + PEOPLE;
            next += PEOPLE;
            // The reference's own sign-in is made before its CPU is read.
            let views = sign_page_views(&portal, people.start, PEOPLE).await;
            portal.settle().await;
            let before = portal.cpu();
            let started = Instant::now();
            match method {
                "password" => {
                    for n in people {
                        password_sign_in(&portal, n).await;
                    }
                }
                "school account" => {
                    for n in people {
                        sso_sign_in(&portal, n).await;
                    }
                }
                "emailed link" => link_sign_ins(&portal, people).await,
                _ => views().await,
            }
            let elapsed = started.elapsed();
            let after = portal.cpu();
            let per = |a: f64, b: f64| (b - a) * 1e6 / PEOPLE as f64;
            let row = (
                round,
                method,
                per(before.0, after.0),
                per(before.1, after.1),
                per(before.2, after.2),
                elapsed,
            );
            println!(
                "round {round}, {method}: portal {:.0} µs CPU a sign-in, provider {:.0} µs, SMTP sink {:.0} µs; {:.1?} in all",
                row.2, row.3, row.4, row.5
            );
            rows.push(row);
        }
    }
    for round in 1..=ROUNDS {
        let of = |method: &str| {
            rows.iter()
                .find(|r| r.0 == round && r.1 == method)
                .map(|r| r.2)
                .unwrap_or(f64::NAN)
        };
        let password = of("password");
        let view = of("sign page view");
        println!(
            "round {round}: the portal's CPU a sign-in, as a share of a password sign-in's: school account {:.3}, emailed link {:.3}; in sign page views: password {:.1}, school account {:.1}, emailed link {:.1}",
            of("school account") / password,
            of("emailed link") / password,
            password / view,
            of("school account") / view,
            of("emailed link") / view,
        );
    }
}
