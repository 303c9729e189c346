//! The `aup-portal` binary itself, as an IT admin runs it.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use reqwest::StatusCode;

use crate::helpers::*;

pub fn portal() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aup-portal"));
    for var in [
        "DATABASE_URL",
        "AUP_BIND",
        "AUP_BASE_URL",
        "AUP_DATA_DIR",
        "AUP_DEMO_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "warn")
        .env("AUP_SECRET_KEY_FILE", test_key_file());
    cmd
}

/// One secret key file for every portal the tests start (each creates it if it is missing).
pub fn test_key_file() -> std::path::PathBuf {
    std::env::temp_dir().join("aup-portal-tests-secret.key")
}

pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The answer of `/readyz` on `port` once the portal there answers at all (within 10 s).
/// What `/readyz` answers once the portal listens (None if it does not within a minute:
/// migrations and the password warm-up can be slow on a loaded machine).
async fn readiness(http: &reqwest::Client, port: u16) -> Option<StatusCode> {
    for _ in 0..600 {
        if let Ok(response) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            return Some(response.status());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Starts a serving subcommand and reads its standard output until `until` appears.
pub fn start(mut cmd: Command, until: &str) -> (Running, Vec<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start aup-portal");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut lines = vec![];
    let mut reader = BufReader::new(stdout).lines();
    for line in reader.by_ref() {
        let line = line.expect("line");
        let done = line.contains(until);
        lines.push(line);
        if done {
            // Keep reading, so the portal never writes into a closed pipe.
            std::thread::spawn(move || reader.for_each(drop));
            return (running, lines);
        }
    }
    panic!("aup-portal stopped before printing {until:?}: {lines:?}");
}

#[test]
fn help_explains_every_setting() {
    let out = portal().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for text in [
        "serve",
        "demo",
        "migrate",
        "create-admin",
        "DATABASE_URL",
        "AUP_BIND",
        "AUP_BASE_URL",
        "AUP_DATA_DIR",
        "127.0.0.1:3000",
        "./data",
        "AUP_IDLE_TIMEOUT_MINUTES",
        "AUP_SESSION_LIFETIME_HOURS",
    ] {
        assert!(
            help.contains(text),
            "--help does not mention {text}:\n{help}"
        );
    }
}

#[tokio::test]
async fn a_shared_database_needs_the_key_file_and_refuses_another_key() {
    let (_pool, url) = fresh_database().await;
    let without = portal()
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env_remove("AUP_SECRET_KEY_FILE")
        .env("AUP_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!without.status.success());
    let said = String::from_utf8_lossy(&without.stderr);
    assert!(said.contains("needs AUP_SECRET_KEY_FILE"), "{said}");

    let dir = std::env::temp_dir().join(format!("aup-keys-{}", uuid::Uuid::new_v4().simple()));
    let first = dir.join("first.key");
    let mut cmd = portal();
    cmd.arg("demo")
        .env("DATABASE_URL", &url)
        .env("AUP_SECRET_KEY_FILE", &first)
        .env("AUP_BIND", "127.0.0.1:0")
        .env("AUP_DEMO_PASSWORD", "inset-morning-2026");
    let running = start(cmd, "Demo accounts");
    drop(running);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&first).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key file is the portal user's alone");

    let other = portal()
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("AUP_SECRET_KEY_FILE", dir.join("other.key"))
        .env("AUP_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!other.status.success());
    let said = String::from_utf8_lossy(&other.stderr);
    assert!(
        said.contains("this database's secrets were sealed with key"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn rotating_the_key_seals_the_secrets_again_and_old_ones_are_sealed_at_start() {
    let (pool, url) = fresh_database().await;
    let dir = std::env::temp_dir().join(format!("aup-keys-{}", uuid::Uuid::new_v4().simple()));
    let key_file = dir.join("secret.key");
    let mut cmd = portal();
    cmd.arg("demo")
        .env("DATABASE_URL", &url)
        .env("AUP_SECRET_KEY_FILE", &key_file)
        .env("AUP_BIND", "127.0.0.1:0")
        .env("AUP_DEMO_PASSWORD", "inset-morning-2026");
    drop(start(cmd, "Demo accounts"));
    // A secret kept in clear by an earlier release is sealed when the portal next starts.
    sqlx::query("update users set totp_secret = 'JBSWY3DPEHPK3PXP' where email = $1")
        .bind(STAFF)
        .execute(&pool)
        .await
        .unwrap();
    let mut cmd = portal();
    cmd.arg("demo")
        .env("DATABASE_URL", &url)
        .env("AUP_SECRET_KEY_FILE", &key_file)
        .env("AUP_BIND", "127.0.0.1:0")
        .env("AUP_DEMO_PASSWORD", "inset-morning-2026");
    drop(start(cmd, "Demo accounts"));
    let stored = || async {
        sqlx::query_scalar::<_, String>("select totp_secret from users where email = $1")
            .bind(STAFF)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let first = stored().await;
    assert!(first.starts_with("v1."), "{first}");
    let out = portal()
        .arg("rotate-key")
        .env("DATABASE_URL", &url)
        .env("AUP_SECRET_KEY_FILE", &key_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("now version 2"), "{said}");
    let second = stored().await;
    assert!(second.starts_with("v2."), "{second}");
    let key = aup_portal::secret_key::SecretKey::load(&key_file)
        .unwrap()
        .unwrap();
    assert_eq!(key.version, 2);
    let staff: uuid::Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(STAFF)
        .fetch_one(&pool)
        .await
        .unwrap();
    let opened = key
        .open(&format!("totp secret:{staff}"), &second)
        .expect("opens with the rotated key");
    assert_eq!(opened, b"JBSWY3DPEHPK3PXP");
    let id: String = sqlx::query_scalar("select key_id from secret_key_id")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(id, key.id());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn migrate_creates_the_schema_in_an_empty_database() {
    let (pool, url) = fresh_database().await;
    sqlx::raw_sql("drop schema public cascade; create schema public")
        .execute(&pool)
        .await
        .unwrap();
    let out = portal()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables where table_schema = 'public'
         and table_name in ('schools', 'users', 'memberships', 'policies', 'policy_versions', 'agreements', 'audit_events')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 7);
}

#[tokio::test]
async fn demo_starts_a_portal_where_the_printed_accounts_sign_in() {
    let (pool, url) = fresh_database().await;
    let mut cmd = portal();
    cmd.arg("demo")
        .env("DATABASE_URL", &url)
        .env("AUP_BIND", "127.0.0.1:0")
        .env("AUP_DEMO_PASSWORD", "inset-morning-2026");
    let (_running, lines) = start(cmd, "admin@cranbrook.example");
    let banner = lines.join("\n");
    assert!(
        banner.contains("password for all: inset-morning-2026"),
        "{banner}"
    );
    for email in [
        "staff@cranbrook.example",
        "governor@cranbrook.example",
        "sbm@cranbrook.example",
        "dpo@cranbrook.example",
    ] {
        assert!(banner.contains(email), "{banner}");
    }
    let address = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .and_then(|w| w.strip_suffix("/sign-in"))
        .expect("address in banner")
        .to_owned();

    let http = client();
    let signed_in = http
        .post(format!("{address}/sign-in"))
        .form(&[("email", STAFF), ("password", "inset-morning-2026")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let home = http
        .get(format!("{address}/s/cranbrook/"))
        .send()
        .await
        .unwrap();
    let body = home.text().await.unwrap();
    assert!(
        body.contains("Read and sign Staff and Governors AUP"),
        "{body}"
    );
    // The demo's admin opens the admin's pages straight away.
    let admin = client();
    let signed_in = admin
        .post(format!("{address}/sign-in"))
        .form(&[
            ("email", "admin@cranbrook.example"),
            ("password", "inset-morning-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    for page in ["admin/mail", "admin/audit", "admin/settings"] {
        let response = admin
            .get(format!("{address}/s/cranbrook/{page}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{page}");
    }

    let people: Vec<(String, String, String, String)> = sqlx::query_as(
        "select u.email, u.full_name, m.grp, m.job_title from users u join memberships m on m.user_id = u.id order by u.email",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        people,
        [
            (
                "admin@cranbrook.example",
                "Robin Hughes",
                "external",
                "IT manager"
            ),
            (
                "dpo@cranbrook.example",
                "Jordan Lee",
                "external",
                "Data protection officer"
            ),
            (
                "governor@cranbrook.example",
                "Alex Morgan",
                "governor",
                "Parent governor"
            ),
            (
                "sbm@cranbrook.example",
                "Priya Shah",
                "staff",
                "School business manager"
            ),
            (
                "staff@cranbrook.example",
                "Sam Taylor",
                "staff",
                "Class teacher"
            ),
        ]
        .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned()))
    );
}

#[tokio::test]
async fn demo_without_a_password_generates_one_and_prints_it() {
    let (_pool, url) = fresh_database().await;
    let mut cmd = portal();
    cmd.arg("demo")
        .env("DATABASE_URL", &url)
        .env("AUP_BIND", "127.0.0.1:0");
    let (_running, lines) = start(cmd, "Demo accounts");
    let line = lines
        .iter()
        .find(|l| l.contains("password for all:"))
        .unwrap();
    let password = line.rsplit(": ").next().unwrap().trim_end_matches("):");
    assert!(password.len() >= 15, "{line}");
}

#[tokio::test]
async fn serve_creates_no_accounts_and_create_admin_makes_the_first() {
    let (pool, url) = fresh_database().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = portal();
    cmd.arg("serve")
        .env("DATABASE_URL", &url)
        .env("AUP_BIND", format!("127.0.0.1:{port}"));
    let _running = Running(cmd.stdout(Stdio::null()).spawn().unwrap());
    let http = client();
    assert_eq!(
        readiness(&http, port).await,
        Some(StatusCode::OK),
        "serve answers"
    );
    let sign_in = http
        .post(format!("http://127.0.0.1:{port}/sign-in"))
        .form(&[("email", STAFF), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        sign_in.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no demo account exists"
    );
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0);

    let out = portal()
        .args([
            "create-admin",
            "--email",
            "it@oakfield.example",
            "--name",
            "Chris Patel",
            "--school",
            "Oakfield Academy",
        ])
        .env("DATABASE_URL", &url)
        .env("AUP_ADMIN_PASSWORD", "a-long-admin-password")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row: (String, Vec<String>) = sqlx::query_as(
        "select s.slug, m.roles from memberships m join schools s on s.id = m.school_id
         join users u on u.id = m.user_id where u.email = 'it@oakfield.example'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.0, "oakfield-academy");
    assert!(row.1.contains(&"admin".to_owned()));
    // The new school requires a second factor: the admin sets one up before getting in.
    let admin = http
        .post(format!("http://127.0.0.1:{port}/sign-in"))
        .form(&[
            ("email", "it@oakfield.example"),
            ("password", "a-long-admin-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::SEE_OTHER);
    assert_eq!(admin.headers()["location"], "/sign-in/two-factor");

    let again = portal()
        .args([
            "create-admin",
            "--email",
            "IT@oakfield.example",
            "--name",
            "Chris Patel",
            "--school",
            "Oakfield Academy",
        ])
        .env("DATABASE_URL", &url)
        .env("AUP_ADMIN_PASSWORD", "a-long-admin-password")
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has an account"));
}

#[tokio::test]
async fn import_policy_turns_a_text_file_into_a_draft_and_can_publish_it() {
    let (pool, url) = fresh_database().await;
    aup_portal::demo::seed(&pool, PASSWORD).await.unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples/staff-aup.txt");
    let out = portal()
        .args([
            "import-policy",
            sample,
            "--school",
            "cranbrook",
            "--policy",
            "Imported staff AUP",
        ])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("a draft") && said.contains("with 19 statements and 0 to tick"),
        "{said}"
    );
    let body: String = sqlx::query_scalar(
        "select v.body_md from policy_versions v join policies p on p.id = v.policy_id
         where p.name = 'Imported staff AUP' and v.status = 'draft'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(body, aup_portal::domain::samples::staff().content.body_md);

    // Publishing needs a next review date, which this text does not give: told plainly.
    let cranbrook = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/samples/cranbrook-staff-governors-aup.txt"
    );
    let out = portal()
        .args([
            "import-policy",
            cranbrook,
            "--school",
            "cranbrook",
            "--audience",
            "staff,governor",
            "--publish",
        ])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("The date of the next review must be in the future."),
        "{err}"
    );

    let out = portal()
        .args(["import-policy", sample, "--school", "nowhere"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no school has the web address 'nowhere'")
    );
}

#[tokio::test]
async fn jobs_run_for_a_given_day_and_a_dry_run_sends_nothing() {
    let sink = SmtpSink::start();
    let (pool, url) = fresh_database().await;
    aup_portal::demo::seed(&pool, PASSWORD).await.unwrap();
    let jobs = |args: &[&str]| {
        let out = portal()
            .args(["jobs", "run"])
            .args(args)
            .env("DATABASE_URL", &url)
            .env("SMTP_URL", sink.url())
            .env("AUP_BASE_URL", "https://aup.cranbrook.example")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let dry = jobs(&["reviews", "--as-of", "2025-11-02", "--dry-run"]);
    assert!(
        dry.contains("would send <dpo@cranbrook.example>: Cranbrook Primary School: the review of the Staff and Governors AUP is overdue (due 1 November 2025)"),
        "{dry}"
    );
    let outbox: i64 = sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(outbox, 0, "a dry run queues nothing");
    let real = jobs(&["reviews", "--as-of", "2025-11-02"]);
    assert_eq!(
        real.lines().filter(|l| l.starts_with("queued <")).count(),
        2,
        "{real}"
    );
    assert!(jobs(&["reviews", "--as-of", "2025-11-03"]).contains("nothing to send"));
    assert!(jobs(&["outbox", "--dry-run"]).contains("would send <sbm@cranbrook.example>"));
    assert!(jobs(&["outbox"]).contains("sent 2, to retry later 0, failed 0, cancelled 0"));
    let delivered = sink.messages();
    assert_eq!(delivered.len(), 2);
    assert!(
        delivered[0]
            .text
            .as_deref()
            .unwrap()
            .contains("https://aup.cranbrook.example/s/cranbrook/")
    );
}

#[tokio::test]
async fn query_strings_are_never_logged_even_at_the_most_detailed_level() {
    let (_pool, url) = fresh_database().await;
    let port = free_port();
    let mut cmd = portal();
    cmd.arg("demo")
        .env("DATABASE_URL", &url)
        .env("AUP_BIND", format!("127.0.0.1:{port}"))
        .env("AUP_DEMO_PASSWORD", "inset-morning-2026")
        .env("RUST_LOG", "trace");
    let log = std::env::temp_dir().join(format!("aup-log-{}.txt", uuid::Uuid::new_v4().simple()));
    let file = std::fs::File::create(&log).unwrap();
    let running = Running(
        cmd.stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap(),
    );
    let http = client();
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        readiness(&http, port).await.is_some(),
        "the demo portal listens"
    );
    let signed_in = http
        .post(format!("{base}/sign-in"))
        .form(&[
            ("email", "sbm@cranbrook.example"),
            ("password", "inset-morning-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let page = http
        .get(format!(
            "{base}/s/cranbrook/people?q=Marigold-Featherstonehaugh"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    drop(running);
    let written = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(
        written.contains("/s/{slug}/people"),
        "the request was logged by its route"
    );
    assert!(!written.contains("Marigold"), "{written}");
}

#[tokio::test]
async fn with_a_login_of_its_own_the_portal_serves_and_with_one_login_it_says_what_that_risks() {
    let (pool, url) = fresh_database().await;
    let runtime_url = runtime_login(&pool, &url).await;
    let port = free_port();
    let mut cmd = portal();
    cmd.arg("serve")
        .env("DATABASE_URL", &runtime_url)
        .env("AUP_MIGRATE_DATABASE_URL", &url)
        .env("AUP_BIND", format!("127.0.0.1:{port}"));
    let _running = Running(cmd.stdout(Stdio::null()).spawn().unwrap());
    assert_eq!(
        readiness(&client(), port).await,
        Some(StatusCode::OK),
        "serves with a login of its own"
    );

    let same = portal()
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("AUP_MIGRATE_DATABASE_URL", &url)
        .env("AUP_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!same.status.success());
    let said = String::from_utf8_lossy(&same.stderr);
    assert!(
        said.contains("the portal needs a login of its own"),
        "{said}"
    );

    let mut cmd = portal();
    cmd.arg("demo")
        .env("DATABASE_URL", &url)
        .env("AUP_BIND", "127.0.0.1:0")
        .env("AUP_DEMO_PASSWORD", "inset-morning-2026");
    let (_running, lines) = start(cmd, "Demo accounts");
    let printed = lines.join("\n");
    assert!(
        printed.contains("the evidence is only as safe as that login"),
        "{printed}"
    );
}

#[tokio::test]
async fn demo_refuses_a_database_that_holds_other_schools_unless_forced() {
    let (pool, url) = fresh_database().await;
    sqlx::query("insert into schools (slug, name) values ('oakfield', 'Oakfield Academy')")
        .execute(&pool)
        .await
        .unwrap();
    let refused = portal()
        .arg("demo")
        .env("DATABASE_URL", &url)
        .env("AUP_BIND", "127.0.0.1:0")
        .env("AUP_DEMO_PASSWORD", "inset-morning-2026")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("1 school(s) besides the demo school"),
        "{said}"
    );
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0, "no demo account was made or reset");
    let mut cmd = portal();
    cmd.args(["demo", "--force"])
        .env("DATABASE_URL", &url)
        .env("AUP_BIND", "127.0.0.1:0")
        .env("AUP_DEMO_PASSWORD", "inset-morning-2026");
    drop(start(cmd, "Demo accounts"));
}

#[tokio::test]
async fn forwarded_addresses_from_an_untrusted_proxy_are_named_once_in_the_log() {
    let (_pool, url) = fresh_database().await;
    let port = free_port();
    let log = std::env::temp_dir().join(format!("aup-xff-{}.txt", uuid::Uuid::new_v4().simple()));
    let file = std::fs::File::create(&log).unwrap();
    let mut cmd = portal();
    cmd.arg("demo")
        .env("DATABASE_URL", &url)
        .env("AUP_BIND", format!("127.0.0.1:{port}"))
        .env("AUP_DEMO_PASSWORD", "inset-morning-2026")
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    let running = Running(cmd.spawn().unwrap());
    let http = client();
    assert_eq!(readiness(&http, port).await, Some(StatusCode::OK));
    for _ in 0..3 {
        let page = http
            .get(format!("http://127.0.0.1:{port}/sign-in"))
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
    }
    drop(running);
    let written = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert_eq!(
        written.matches("not in AUP_TRUSTED_PROXIES").count(),
        1,
        "{written}"
    );
}

#[tokio::test]
async fn an_attempt_limit_past_the_ceiling_is_refused_at_start_and_off_must_be_said() {
    let (_pool, url) = fresh_database().await;
    for (value, ok) in [
        ("60000", false),
        ("0", false),
        ("10000", true),
        ("off", true),
    ] {
        let out = portal()
            .arg("migrate")
            .env("DATABASE_URL", &url)
            .env("AUP_ATTEMPTS_PER_MINUTE", value)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), ok, "{value}: {said}");
        if !ok {
            assert!(said.contains("from 1 to 10000, or off"), "{value}: {said}");
        }
    }
}
