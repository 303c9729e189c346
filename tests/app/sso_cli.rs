//! `aup-portal sso` for scripted installs, and the reminder that a client secret runs out.

use reqwest::StatusCode;
use serde_json::json;
use time::macros::date;

use crate::cli::{portal, start};
use crate::helpers::*;
use crate::provider::{Provider, sign_in_through};

#[tokio::test]
async fn the_sso_command_sets_a_school_up_and_a_running_portal_uses_it_at_once() {
    let (pool, url) = fresh_database().await;
    let provider = Provider::start().await;
    let dir = std::env::temp_dir().join(format!("aup-sso-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("secret.key");
    let mut cmd = portal();
    cmd.arg("demo")
        .env("DATABASE_URL", &url)
        .env("AUP_SECRET_KEY_FILE", &key_file)
        .env("AUP_BIND", "127.0.0.1:0")
        .env("AUP_SSO_PRIVATE_ADDRESSES", "true")
        .env("AUP_DEMO_PASSWORD", PASSWORD);
    let (_running, lines) = start(cmd, "dpo@cranbrook.example");
    let banner = lines.join("\n");
    let address = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .and_then(|w| w.strip_suffix("/sign-in"))
        .expect("address in banner")
        .to_owned();
    let secret_file = dir.join("client-secret");
    std::fs::write(&secret_file, "test-secret\n").unwrap();
    // The test provider is on this machine, which the portal reaches only when allowed.
    let sso_where = |private: &str, args: &[&str]| {
        portal()
            .env("AUP_SSO_PRIVATE_ADDRESSES", private)
            .arg("sso")
            .args(["--school", "cranbrook", "--client-id", "aup-portal"])
            .arg("--client-secret-file")
            .arg(&secret_file)
            .args(args)
            .env("DATABASE_URL", &url)
            .env("AUP_SECRET_KEY_FILE", &key_file)
            .output()
            .unwrap()
    };
    let sso = |args: &[&str]| sso_where("true", args);
    // A plain-http issuer elsewhere is refused, with the flag it is about.
    let refused = sso(&["--provider", "oidc", "--issuer", "http://login.example.org"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("--issuer: The issuer must be an https address"),
        "{said}"
    );

    let issuer = provider.issuer();
    // Unless the operator allows it, an issuer on this machine (or the host's network) is
    // not reached: one school's admin could otherwise probe what the host keeps private.
    let private = sso_where("false", &["--provider", "oidc", "--issuer", &issuer]);
    assert!(!private.status.success());
    let said = String::from_utf8_lossy(&private.stderr);
    assert!(
        said.contains("127.0.0.1 is a private network address, which the portal does not reach for single sign-on"),
        "{said}"
    );
    // And so is a name that resolves only to such addresses.
    let by_name = issuer.replace("127.0.0.1", "localhost");
    let private = sso_where("false", &["--provider", "oidc", "--issuer", &by_name]);
    let said = String::from_utf8_lossy(&private.stderr);
    assert!(
        said.contains("localhost is a private network address"),
        "{said}"
    );
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from school_sso")
            .fetch_one(&pool)
            .await
            .unwrap(),
        0
    );
    let out = sso(&[
        "--provider",
        "oidc",
        "--issuer",
        &issuer,
        "--secret-expires",
        "2027-11-30",
        "--email-domain",
        "cranbrook.example",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Single sign-on is set up for cranbrook")
    );
    let sealed: String = sqlx::query_scalar("select client_secret_sealed from school_sso")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!sealed.contains("test-secret"));

    // The running portal offers the button and signs Sam in, with no restart.
    let app = TestApp {
        address: address.clone(),
        pool: pool.clone(),
        client: client(),
        secret: std::sync::Arc::new(aup_portal::secret_key::SecretKey::generate(1)),
    };
    app.get("/s/cranbrook/sign-in")
        .await
        .assert_contains("Sign in with your school account");
    provider
        .set_user("sam", json!({"email": STAFF, "email_verified": true}))
        .await;
    let page = sign_in_through(&app, &provider, "sam").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(app.get("/s/cranbrook/").await.status, StatusCode::OK);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn admins_are_reminded_before_the_client_secret_runs_out() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    let provider = Provider::start().await;
    crate::provider::cranbrook_signs_in_with(&app, &provider).await;
    sqlx::query("update school_sso set secret_expires_on = '2027-11-30'")
        .execute(&app.pool)
        .await
        .unwrap();
    let run = |day| {
        let pool = app.pool.clone();
        async move {
            aup_portal::jobs::sso_secrets::sso_secrets(&pool, day, "https://aup.example", false)
                .await
                .unwrap()
                .lines
        }
    };
    assert!(
        run(date!(2027 - 10 - 30)).await.is_empty(),
        "not 31 days before"
    );
    // Each of the school's admins: Chris, and the demo's own.
    let month = run(date!(2027 - 10 - 31)).await;
    assert_eq!(month.len(), 2, "{month:?}");
    assert!(
        month.iter().any(|line| line.contains(&format!("<{ADMIN}>: Cranbrook Primary School: single sign-on's client secret expires on 30 November 2027"))),
        "{month:?}"
    );
    assert!(
        run(date!(2027 - 11 - 01)).await.is_empty(),
        "once for the month"
    );
    assert_eq!(run(date!(2027 - 11 - 23)).await.len(), 2, "a week before");
    let after = run(date!(2027 - 12 - 01)).await;
    assert!(
        after[0].contains("single sign-on stopped working on 30 November 2027"),
        "{after:?}"
    );
    assert!(
        run(date!(2027 - 12 - 02)).await.is_empty(),
        "weekly once expired"
    );
    assert_eq!(run(date!(2027 - 12 - 08)).await.len(), 2);
}
