//! What the AUPs ask of staff, the portal does itself: strong passwords, lockouts, a second
//! factor for accounts that reach personal data, sessions that end.

use reqwest::StatusCode;
use totp_rs::{Builder, Secret};

use crate::{helpers::*, publishing::DPO};

const SBM: &str = "sbm@cranbrook.example";

async fn wrong_password(app: &TestApp, email: &str) -> Page {
    app.post(
        "/sign-in",
        &[("email", email), ("password", "not-the-password")],
    )
    .await
}

#[tokio::test]
async fn ten_failures_lock_the_account_and_even_the_right_password_waits() {
    // Ninety attempts from one address: the per-address limit is tested on its own.
    let app = spawn_app_with(|s| s.attempts_per_minute = 10_000).await;
    for _ in 0..9 {
        let page = wrong_password(&app, STAFF).await;
        page.assert_contains("Enter the email address and password of your account");
    }
    let tenth = wrong_password(&app, STAFF).await;
    assert_eq!(tenth.status, StatusCode::TOO_MANY_REQUESTS);
    tenth.assert_contains(
        "There have been too many attempts to sign in to this account. Wait 1 minute",
    );
    let right = app
        .post("/sign-in", &[("email", STAFF), ("password", PASSWORD)])
        .await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "no sign-in while locked"
    );
    right.assert_contains(
        "There have been too many attempts to sign in to this account. Wait 1 minute",
    );
    assert_eq!(app.get("/").await.location(), Some("/sign-in"));
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'account_locked'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'sign_in_refused_locked'")
            .await,
        1
    );

    // Another person is not affected.
    let other = app.another();
    other.sign_in(GOVERNOR).await;

    // Each lock after the wait is twice as long as the last, up to an hour.
    let wait_over = || async {
        sqlx::query("update users set locked_until = now() - interval '1 second' where email = $1")
            .bind(STAFF)
            .execute(&app.pool)
            .await
            .unwrap();
    };
    for minutes in [2, 4, 8, 16, 32, 60, 60] {
        wait_over().await;
        for _ in 0..9 {
            wrong_password(&app, STAFF).await;
        }
        let locked = wrong_password(&app, STAFF).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        locked.assert_contains(&format!(
            "There have been too many attempts to sign in to this account. Wait {minutes} minutes"
        ));
        let until: i64 = sqlx::query_scalar(
            "select round(extract(epoch from locked_until - now()) / 60)::bigint from users where email = $1",
        )
        .bind(STAFF)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(until, minutes, "the lock stored");
    }

    // After the wait the right password works.
    wait_over().await;
    app.sign_in(STAFF).await;
    assert_eq!(app.get("/s/cranbrook/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_day_without_failures_forgets_the_doubling() {
    let app = spawn_app().await;
    for _ in 0..10 {
        wrong_password(&app, STAFF).await;
    }
    // The first lock ended a day and an hour ago, with nothing since.
    sqlx::query("update users set locked_until = now() - interval '25 hours' where email = $1")
        .bind(STAFF)
        .execute(&app.pool)
        .await
        .unwrap();
    for _ in 0..9 {
        wrong_password(&app, STAFF).await;
    }
    let locked = wrong_password(&app, STAFF).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    locked.assert_contains(
        "There have been too many attempts to sign in to this account. Wait 1 minute and",
    );
}

#[tokio::test]
async fn leaving_the_last_school_ends_the_persons_sessions() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    assert_eq!(app.get("/s/cranbrook/").await.status, StatusCode::OK);
    let sbm = app.another();
    sbm.sign_in(SBM).await;
    let sam = membership(&app, STAFF).await;
    let left = sbm
        .post(&format!("/s/cranbrook/people/{sam}/leave"), &LEFT_ON)
        .await;
    assert_eq!(left.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/account").await.location(),
        Some("/sign-in"),
        "no school left: signed out everywhere"
    );
}

#[tokio::test]
async fn failures_lock_only_when_ten_come_within_five_minutes() {
    let app = spawn_app().await;
    for _ in 0..9 {
        wrong_password(&app, STAFF).await;
    }
    // The first failure was six minutes ago: the tenth starts a new count instead of a lock.
    sqlx::query("update users set failures_since = now() - interval '6 minutes' where email = $1")
        .bind(STAFF)
        .execute(&app.pool)
        .await
        .unwrap();
    let tenth = wrong_password(&app, STAFF).await;
    assert_eq!(tenth.status, StatusCode::UNPROCESSABLE_ENTITY);
    tenth.assert_contains("Enter the email address and password of your account");
    let counted: (i32, Option<time::OffsetDateTime>) =
        sqlx::query_as("select failed_sign_ins, locked_until from users where email = $1")
            .bind(STAFF)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(counted, (1, None));
    // Nine more within the window do lock it.
    for _ in 0..8 {
        wrong_password(&app, STAFF).await;
    }
    let locked = wrong_password(&app, STAFF).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    locked.assert_contains("Wait 1 minute");
}

#[tokio::test]
async fn a_new_password_must_be_long_enough_and_not_a_common_one() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let form = app.get("/account/password").await;
    form.assert_contains("15 or more is recommended");
    form.assert_contains(r#"<script src="/static/password-meter.js" defer></script>"#);
    let wrong_current = app
        .post(
            "/account/password",
            &[
                ("current", "nope"),
                ("password", "a fine long passphrase"),
                ("confirm", "a fine long passphrase"),
            ],
        )
        .await;
    wrong_current.assert_contains("Your current password is not right");
    let common = app
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "Password1"),
                ("confirm", "Password1"),
            ],
        )
        .await;
    common.assert_contains("This password is one of the most common");
    let short = app
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    short.assert_contains("Your password must be at least 8 characters long");
    let js = app.get("/static/password-meter.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");
}

#[tokio::test]
async fn changing_the_password_ends_the_persons_other_sessions_but_not_this_one() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let phone = app.another();
    phone.sign_in(STAFF).await;
    assert_eq!(phone.visit("/").await.status, StatusCode::OK);
    let long = "a brand new long passphrase";
    let changed = app
        .post(
            "/account/password",
            &[("current", PASSWORD), ("password", long), ("confirm", long)],
        )
        .await;
    assert_eq!(changed.location(), Some("/account?changed=1"));
    assert_eq!(app.visit("/account?changed=1").await.status, StatusCode::OK);
    assert_eq!(
        phone.get("/s/cranbrook/").await.location(),
        Some("/sign-in"),
        "the other session has ended"
    );
    let again = app.another();
    let signed_in = again
        .post("/sign-in", &[("email", STAFF), ("password", long)])
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
}

fn code(secret: &str) -> String {
    code_at(secret, 0)
}

/// The code an authenticator app shows `ahead` seconds from now.
fn code_at(secret: &str, ahead: u64) -> String {
    let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    Builder::new()
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap()
        .generate(now + ahead)
        .to_string()
}

#[tokio::test]
async fn a_school_requiring_it_makes_the_sbm_set_up_a_second_factor_then_asks_for_it() {
    let app = spawn_app().await;
    sqlx::query("update schools set require_two_factor = true")
        .execute(&app.pool)
        .await
        .unwrap();
    // A member of staff who only signs is not asked.
    let staff = app.another();
    assert_eq!(staff.sign_in(STAFF).await.location(), Some("/"));

    let first = app.sign_in(SBM).await;
    assert_eq!(first.location(), Some("/sign-in/two-factor"));
    assert_eq!(
        app.get("/s/cranbrook/compliance").await.location(),
        Some("/sign-in"),
        "not in yet"
    );
    let setup = app.get("/sign-in/two-factor").await;
    setup.assert_contains("Set up an authenticator app");
    setup.assert_contains(
        r#"<svg role="img" aria-label="QR code to scan with an authenticator app""#,
    );
    let secret = setup_secret(&setup);
    let wrong = app.post("/sign-in/two-factor", &[("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("The code is not right. Enter the 6-digit code your app shows now");
    let done = app
        .post("/sign-in/two-factor", &[("code", &code(&secret))])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    done.assert_contains("Your recovery codes");
    let recovery = recovery_codes(&done);
    assert_eq!(recovery.len(), 10);
    assert_eq!(
        app.get("/s/cranbrook/compliance").await.status,
        StatusCode::OK,
        "signed in now"
    );

    // Next time: password, then a code; a used code does not work twice.
    let later = app.another();
    assert_eq!(later.sign_in(SBM).await.location(), Some("/sign-in/code"));
    assert_eq!(
        later.get("/s/cranbrook/compliance").await.location(),
        Some("/sign-in")
    );
    let bad = later.post("/sign-in/code", &[("code", "123456")]).await;
    bad.assert_contains("The code is not right");
    // The setup used this 30-second step's code; the next step's is accepted too (the
    // app's clock may run a little ahead), and is new.
    let code_now = code_at(&secret, 30);
    let ok = later.post("/sign-in/code", &[("code", &code_now)]).await;
    assert_eq!(ok.location(), Some("/"));
    assert_eq!(
        later.get("/s/cranbrook/compliance").await.status,
        StatusCode::OK
    );
    let replay = app.another();
    replay.sign_in(SBM).await;
    let replayed = replay.post("/sign-in/code", &[("code", &code_now)]).await;
    assert_eq!(replayed.status, StatusCode::UNPROCESSABLE_ENTITY);
    replayed.assert_contains("That code has just been used: wait for the next one");
    assert!(!replayed.body.contains("The code is not right"));

    // A recovery code works once.
    let lost_phone = app.another();
    lost_phone.sign_in(SBM).await;
    let with_recovery = lost_phone
        .post("/sign-in/code", &[("code", &recovery[0].to_uppercase())])
        .await;
    assert_eq!(with_recovery.location(), Some("/"));
    let again = app.another();
    again.sign_in(SBM).await;
    again
        .post("/sign-in/code", &[("code", &recovery[0])])
        .await
        .assert_contains("The code is not right");
    let left: i32 =
        sqlx::query_scalar("select cardinality(recovery_codes) from users where email = $1")
            .bind(SBM)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(left, 9);
}

#[tokio::test]
async fn anyone_may_turn_on_a_second_factor_from_their_account() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    app.get("/account")
        .await
        .assert_contains("<dt>Authenticator app</dt><dd>Off</dd>");
    let setup = app.get("/account/two-factor").await;
    let secret = setup_secret(&setup);
    let no_password = app
        .post("/account/two-factor", &[("code", &code(&secret))])
        .await;
    no_password.assert_contains("Enter your password");
    let wrong_password = app
        .post(
            "/account/two-factor",
            &[("code", &code(&secret)), ("current", "not-the-password")],
        )
        .await;
    wrong_password.assert_contains("Your password is not right");
    app.post(
        "/account/two-factor",
        &[("code", &code(&secret)), ("current", PASSWORD)],
    )
    .await
    .assert_contains("Your recovery codes");
    app.get("/account")
        .await
        .assert_contains("On, with 10 recovery codes left");
    let next = app.another();
    assert_eq!(next.sign_in(DPO).await.location(), Some("/sign-in/code"));
    // With only the password, nobody can swap in an app of their own.
    assert_eq!(
        next.get("/sign-in/two-factor").await.location(),
        Some("/sign-in")
    );
    let swap = next
        .post("/sign-in/two-factor", &[("code", "123456")])
        .await;
    assert_eq!(swap.location(), Some("/sign-in"));
    assert_eq!(
        next.get("/s/cranbrook/policies").await.location(),
        Some("/sign-in")
    );
}

/// The DPO with an authenticator app: its secret.
async fn dpo_with_an_authenticator(app: &TestApp) -> String {
    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let secret = setup_secret(&dpo.get("/account/two-factor").await);
    dpo.post(
        "/account/two-factor",
        &[("code", &code(&secret)), ("current", PASSWORD)],
    )
    .await
    .assert_contains("Your recovery codes");
    secret
}

/// A six-digit code that is not the one the app shows now (nor in the step either side).
fn wrong_code(secret: &str) -> String {
    let near: Vec<String> = [0, 30, 60].iter().map(|a| code_at(secret, *a)).collect();
    (0..)
        .map(|n: u32| format!("{:06}", 100_000 + n))
        .find(|c| !near.contains(c))
        .unwrap()
}

#[tokio::test]
async fn ten_wrong_codes_lock_the_account_and_then_even_the_right_code_waits() {
    let app = spawn_app_with(|s| s.attempts_per_minute = 10_000).await;
    let secret = dpo_with_an_authenticator(&app).await;
    assert_eq!(app.sign_in(DPO).await.location(), Some("/sign-in/code"));
    for _ in 0..9 {
        let page = app
            .post("/sign-in/code", &[("code", &wrong_code(&secret))])
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        page.assert_contains("The code is not right. Enter the code your app shows now");
    }
    let tenth = app
        .post("/sign-in/code", &[("code", &wrong_code(&secret))])
        .await;
    tenth.assert_contains(
        "There have been too many attempts to sign in to this account. Wait 1 minute",
    );
    let right = app.post("/sign-in/code", &[("code", &code(&secret))]).await;
    right.assert_contains("Wait 1 minute");
    assert_eq!(
        app.get("/s/cranbrook/policies").await.location(),
        Some("/sign-in"),
        "not signed in while locked"
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'account_locked'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_code_form_shares_the_per_address_limit() {
    let app = spawn_app_with(|s| s.attempts_per_minute = 3).await;
    let secret = dpo_with_an_authenticator(&app).await;
    // The enrolment spent two of the three (signing in, the password at set-up); the
    // sign-in spends the third.
    assert_eq!(app.sign_in(DPO).await.location(), Some("/sign-in/code"));
    let limited = app.post("/sign-in/code", &[("code", &code(&secret))]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    limited.assert_contains("There have been too many attempts from your network");
    assert_eq!(
        app.get("/s/cranbrook/policies").await.location(),
        Some("/sign-in"),
        "even the right code waits"
    );
}

#[tokio::test]
async fn the_sbm_dpo_head_and_admin_need_a_second_factor_by_default_and_a_signer_does_not() {
    let app = spawn_app().await;
    // A school as a new school is made: the requirement is the column's default.
    sqlx::query("insert into schools (slug, name) values ('hillside', 'Hillside Academy')")
        .execute(&app.pool)
        .await
        .unwrap();
    for (email, roles, needs) in [
        ("signer@hillside.example", "{signer}", false),
        ("sbm@hillside.example", "{signer,sbm}", true),
        ("dpo@hillside.example", "{dpo}", true),
        ("head@hillside.example", "{signer,head}", true),
        ("admin@hillside.example", "{admin}", true),
    ] {
        add_member(&app, "hillside", email, "A Person", "staff", "Job", roles).await;
        let page = app.another().sign_in(email).await;
        let expected = if needs { "/sign-in/two-factor" } else { "/" };
        assert_eq!(page.location(), Some(expected), "{roles}");
    }
}

#[tokio::test]
async fn signing_out_everywhere_ends_the_persons_other_sessions() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let other = app.another();
    other.sign_in(STAFF).await;
    let out = app.post("/account/sign-out-everywhere", &[]).await;
    assert_eq!(out.location(), Some("/sign-in?signed_out=1"));
    assert_eq!(
        other.get("/s/cranbrook/").await.location(),
        Some("/sign-in")
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/sign-in", "/static/app.css", "/no/such/page", "/healthz"] {
        let page = app.get(path).await;
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "style-src 'self'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(page.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(page.headers["referrer-policy"], "same-origin", "{path}");
    }
    // Over https: HSTS, and the cookie is Secure with the __Host- prefix.
    let https = spawn_app_with(|s| s.base_url = "https://aup.cranbrook.example".into()).await;
    let page = https
        .post("/sign-in", &[("email", STAFF), ("password", PASSWORD)])
        .await;
    assert!(
        page.headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    let cookie = page.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-aup_session=")
            && cookie.contains("Secure")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
}

#[tokio::test]
async fn one_address_is_limited_at_the_sign_in_and_reset_forms() {
    let app = spawn_app_with(|s| s.attempts_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(
            wrong_password(&app, STAFF).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let limited = wrong_password(&app, STAFF).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    limited.assert_contains("There have been too many attempts from your network");
    let reset = app.post("/password/reset", &[("email", STAFF)]).await;
    assert_eq!(
        reset.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the same address, the same budget"
    );
    reset.assert_contains("There have been too many attempts from your network");
    // Reading the form is not limited.
    assert_eq!(app.get("/sign-in").await.status, StatusCode::OK);
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    for (trusted, expected) in [(true, "203.0.113.9"), (false, "127.0.0.1")] {
        let app = spawn_app_with(|s| {
            if trusted {
                s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            }
        })
        .await;
        app.sign_in(STAFF).await;
        let version = app.version_id(CRANBROOK).await;
        let fields = cranbrook_signature(&app).await;
        let signed = app
            .client
            .post(app.url(&format!("/s/cranbrook/versions/{version}/sign")))
            .header("x-forwarded-for", "198.51.100.7, 203.0.113.9")
            .form(&as_form(&fields))
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status(), StatusCode::SEE_OTHER);
        let ip: String = sqlx::query_scalar("select host(ip) from agreement_personal")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(ip, expected, "trusted: {trusted}");
    }
}

#[tokio::test]
async fn ipv6_clients_of_one_64_share_the_per_address_budget() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.attempts_per_minute = 2;
    })
    .await;
    let attempt = |from: &'static str| {
        app.client
            .post(app.url("/sign-in"))
            .header("x-forwarded-for", from)
            .form(&[("email", STAFF), ("password", "not-the-password")])
            .send()
    };
    // Two addresses of one /64 spend one budget; a third in another /64 has its own.
    assert_eq!(
        attempt("2001:db8:1:2::1").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        attempt("2001:db8:1:2::ffff").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        attempt("2001:db8:1:2:aaaa::9").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the same /64"
    );
    assert_eq!(
        attempt("2001:db8:1:3::1").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "another /64"
    );
}

#[tokio::test]
async fn an_admin_chooses_whether_the_school_requires_a_second_factor() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    app.sign_in(ADMIN).await;
    let page = app.get("/s/cranbrook/admin/settings").await;
    page.assert_contains(
        r#"<input type="checkbox" id="require_two_factor" name="require_two_factor" value="yes">"#,
    );
    let saved = app
        .post(
            "/s/cranbrook/admin/settings",
            &[("require_two_factor", "yes")],
        )
        .await;
    assert_eq!(
        saved.location(),
        Some("/s/cranbrook/admin/settings?saved=1")
    );
    assert_eq!(
        app.another().sign_in(SBM).await.location(),
        Some("/sign-in/two-factor")
    );
    app.post("/s/cranbrook/admin/settings", &[("password", PASSWORD)])
        .await;
    assert_eq!(app.another().sign_in(SBM).await.location(), Some("/"));
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'setting_changed'")
            .await,
        2
    );
    // Only admins.
    let sbm = app.another();
    sbm.sign_in(SBM).await;
    assert_eq!(
        sbm.post(
            "/s/cranbrook/admin/settings",
            &[("require_two_factor", "yes")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

/// The recovery codes a page shows, once.
fn recovery_codes(page: &Page) -> Vec<String> {
    page.body
        .split(r#"<li class="hash">"#)
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect()
}

fn setup_secret(page: &Page) -> String {
    page.body
        .split("Key: <strong class=\"hash\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no key on the page:\n{}", page.body))
        .split('<')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn guessing_the_current_password_locks_the_account_as_sign_in_does_and_is_audited() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let change = |current: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/account/password",
                &[
                    ("current", current),
                    ("password", "a fine long passphrase"),
                    ("confirm", "a fine long passphrase"),
                ],
            )
            .await
        }
    };
    for _ in 0..9 {
        let page = change("not-the-password").await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        page.assert_contains("Your current password is not right");
    }
    let tenth = change("not-the-password").await;
    tenth.assert_contains("There have been too many attempts to sign in to this account");
    let right = change(PASSWORD).await;
    right.assert_contains("Wait 1 minute");
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'reauthentication_failed'")
            .await,
        10
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'account_locked'")
            .await,
        1
    );
    // The same lock holds at the sign-in form, and the password did not change.
    let elsewhere = app
        .another()
        .post("/sign-in", &[("email", STAFF), ("password", PASSWORD)])
        .await;
    assert_eq!(elsewhere.status, StatusCode::TOO_MANY_REQUESTS);
    elsewhere.assert_contains("There have been too many attempts to sign in to this account");
    // So does the authenticator app's set-up, which also asks for the password.
    let setup = app.get("/account/two-factor").await;
    let secret = setup_secret(&setup);
    app.post(
        "/account/two-factor",
        &[("code", &code(&secret)), ("current", PASSWORD)],
    )
    .await
    .assert_contains("Wait 1 minute");
    assert_eq!(
        app.count("select count(*) from users where totp_secret is not null")
            .await,
        0
    );
}

#[tokio::test]
async fn the_forms_that_check_the_current_password_share_the_per_address_limit() {
    let app = spawn_app_with(|s| s.attempts_per_minute = 3).await;
    // Signing in spends one attempt of the three.
    app.sign_in(STAFF).await;
    for form in ["/account/password", "/account/two-factor"] {
        let page = app.post(form, &[("current", "not-the-password")]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{form}");
    }
    let limited = app
        .post(
            "/account/email",
            &[("email", "new@cranbrook.example"), ("password", "x")],
        )
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    limited.assert_contains("There have been too many attempts from your network");
}

#[tokio::test]
async fn a_sign_in_on_a_shared_pc_starts_from_an_empty_session() {
    let app = spawn_app().await;
    sqlx::query("update schools set require_two_factor = true")
        .execute(&app.pool)
        .await
        .unwrap();
    // The SBM starts setting up an authenticator app and walks away from the PC.
    assert_eq!(
        app.sign_in(SBM).await.location(),
        Some("/sign-in/two-factor")
    );
    let sbm_secret = setup_secret(&app.get("/sign-in/two-factor").await);
    // Sam signs in on the same browser and sets up an app of their own.
    assert_eq!(app.sign_in(STAFF).await.location(), Some("/"));
    let keys: Vec<String> = sqlx::query_scalar(
        "select jsonb_object_keys(s.data) from sessions s join users u
           on u.id = (s.data->'auth'->>'user_id')::uuid where u.email = $1",
    )
    .bind(STAFF)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(keys, ["auth"], "nothing else of the SBM's session is kept");
    let offered = setup_secret(&app.get("/account/two-factor").await);
    assert_ne!(offered, sbm_secret, "Sam is not offered the SBM's secret");
}

#[tokio::test]
async fn a_first_enrolment_cannot_replace_a_factor_enrolled_in_the_meantime() {
    let app = spawn_app().await;
    sqlx::query("update schools set require_two_factor = true")
        .execute(&app.pool)
        .await
        .unwrap();
    // Someone with the SBM's password starts an enrolment, and the SBM enrols elsewhere.
    app.sign_in(SBM).await;
    let attacker = setup_secret(&app.get("/sign-in/two-factor").await);
    let sbm = app.another();
    sbm.sign_in(SBM).await;
    let real = setup_secret(&sbm.get("/sign-in/two-factor").await);
    let enrolled = sbm
        .post("/sign-in/two-factor", &[("code", &code(&real))])
        .await;
    enrolled.assert_contains("Your recovery codes");
    let late = app
        .post("/sign-in/two-factor", &[("code", &code(&attacker))])
        .await;
    assert_eq!(late.location(), Some("/sign-in"), "{}", late.body);
    // The factor enrolled first stays: its codes sign in, the late one's do not.
    let with_late = app.another();
    with_late.sign_in(SBM).await;
    with_late
        .post("/sign-in/code", &[("code", &code_at(&attacker, 30))])
        .await
        .assert_contains("The code is not right");
    let with_real = app.another();
    with_real.sign_in(SBM).await;
    let ok = with_real
        .post("/sign-in/code", &[("code", &code_at(&real, 30))])
        .await;
    assert_eq!(ok.location(), Some("/"), "{}", ok.body);
    assert_eq!(
        app.get("/s/cranbrook/compliance").await.location(),
        Some("/sign-in")
    );
}

#[tokio::test]
async fn the_lock_does_not_tell_who_has_an_account() {
    let app = spawn_app().await;
    let nobody = "nobody@cranbrook.example";
    let mut answers = vec![];
    for email in [STAFF, nobody] {
        let mut pages = vec![];
        for _ in 0..11 {
            pages.push(wrong_password(&app, email).await);
        }
        answers.push(
            pages
                .iter()
                .map(|page| (page.status, page.body.replace(email, "EMAIL")))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        answers[0], answers[1],
        "the same answers, attempt by attempt"
    );
    assert_eq!(answers[1][9].0, StatusCode::TOO_MANY_REQUESTS);
    assert!(answers[1][9].1.contains("Wait 1 minute"));
    // Counted under a keyed hash: the table never holds the address.
    let keys: Vec<String> = sqlx::query_scalar("select address_mac from sign_in_misses")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert!(!keys[0].contains("nobody"));
    // A day later the row is forgotten.
    sqlx::query("update sign_in_misses set last_failed_at = now() - interval '25 hours'")
        .execute(&app.pool)
        .await
        .unwrap();
    aup_portal::auth::throttle::forget_old_misses(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.count("select count(*) from sign_in_misses").await, 0);
}

#[tokio::test]
async fn authenticator_secrets_recovery_codes_and_session_ids_are_not_kept_in_clear() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let secret = setup_secret(&app.get("/account/two-factor").await);
    let done = app
        .post(
            "/account/two-factor",
            &[("code", &code(&secret)), ("current", PASSWORD)],
        )
        .await;
    let recovery = recovery_codes(&done);
    assert_eq!(recovery.len(), 10);
    let (stored, codes): (String, Vec<String>) =
        sqlx::query_as("select totp_secret, recovery_codes from users where email = $1")
            .bind(STAFF)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(stored.starts_with("v1."), "{stored}");
    assert!(!stored.contains(&secret));
    let plain: String = recovery[0]
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(plain.as_bytes()));
    assert!(
        codes
            .iter()
            .all(|c| c.starts_with("v1:") && !c.contains(&sha)),
        "{codes:?}"
    );
    // The sealed secret and the keyed codes still work.
    let next = app.another();
    next.sign_in(STAFF).await;
    let signed_in = next
        .post("/sign-in/code", &[("code", &code_at(&secret, 30))])
        .await;
    assert_eq!(signed_in.location(), Some("/"));
    let lost = app.another();
    lost.sign_in(STAFF).await;
    let with_code = lost.post("/sign-in/code", &[("code", &recovery[1])]).await;
    assert_eq!(with_code.location(), Some("/"));

    // The session table holds the SHA-256 of the cookie, not the cookie.
    let bare = crate::helpers::http()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = bare
        .post(app.url("/sign-in"))
        .form(&[("email", GOVERNOR), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = answer
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.split_once('='))
        .map(|(_, value)| value.to_owned())
        .expect("a session cookie");
    let hashed = hex::encode(sha2::Sha256::digest(cookie.as_bytes()));
    assert_eq!(
        app.count(&format!(
            "select count(*) from sessions where id = '{cookie}'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "select count(*) from sessions where id = '{hashed}'"
        ))
        .await,
        1
    );
}
