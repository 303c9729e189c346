use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn a_member_of_staff_signs_in_and_lands_on_their_school() {
    let app = spawn_app().await;
    let page = app.sign_in(STAFF).await;
    assert_eq!(page.location(), Some("/"));
    let home = app.get("/").await;
    assert_eq!(home.location(), Some("/s/cranbrook/"));
    let home = app.visit("/").await;
    home.assert_contains("Hello Sam");
    home.assert_contains("Cranbrook Primary School");
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'sign_in'")
            .await,
        1
    );
}

#[tokio::test]
async fn pages_need_a_signed_in_person() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/s/cranbrook/",
        "/s/cranbrook/agreements/00000000-0000-0000-0000-000000000000",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), Some("/sign-in"), "{path}");
    }
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer_in_similar_time() {
    let app = spawn_app().await;
    let attempt = |email: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let page = app
                .post(
                    "/sign-in",
                    &[("email", email), ("password", "not-the-password")],
                )
                .await;
            (page, started.elapsed())
        }
    };
    let mut unknown_times = vec![];
    let mut wrong_times = vec![];
    let mut pages = vec![];
    for _ in 0..3 {
        let (unknown, t1) = attempt("nobody@cranbrook.example").await;
        let (wrong, t2) = attempt(STAFF).await;
        unknown_times.push(t1);
        wrong_times.push(t2);
        pages.push((unknown, wrong));
    }
    for (unknown, wrong) in &pages {
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(unknown.status, wrong.status);
        let strip = |body: &str| {
            body.replace("nobody@cranbrook.example", "")
                .replace(STAFF, "")
        };
        assert_eq!(strip(&unknown.body), strip(&wrong.body));
        unknown.assert_contains("Enter the email address and password of your account");
    }
    unknown_times.sort();
    wrong_times.sort();
    // Both answers wait for a full argon2 verification: the medians are of the same order.
    assert!(
        unknown_times[1] * 3 > wrong_times[1],
        "unknown {unknown_times:?} vs wrong {wrong_times:?}"
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'sign_in_failed'")
            .await,
        6
    );
}

#[tokio::test]
async fn empty_sign_in_fields_get_messages_next_to_them() {
    let app = spawn_app().await;
    let page = app
        .post("/sign-in", &[("email", ""), ("password", "")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("There is a problem");
    page.assert_contains(r##"<a href="#email">Enter your email address</a>"##);
    page.assert_contains(r##"<a href="#password">Enter your password</a>"##);
    page.assert_contains("<title>Error: Sign in – AUP Portal</title>");
}

fn session_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("aup_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn the_session_cookie_is_httponly_lax_and_renewed_at_sign_in() {
    let app = spawn_app().await;
    let first = app.sign_in(STAFF).await;
    let cookie = first
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Max-Age"),
        "the cookie ends with the browser: {cookie}"
    );
    // Signing in again over a live session gives it a new id: a planted id is worthless.
    let planted = session_cookie(&first.headers).expect("first session id");
    let second = app.sign_in(STAFF).await;
    let renewed = session_cookie(&second.headers).expect("a new session id at sign-in");
    assert_ne!(planted, renewed);
    let old = client()
        .get(app.url("/s/cranbrook/"))
        .header("cookie", planted)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.headers()["location"],
        "/sign-in",
        "the old id no longer works"
    );

    // An id the portal never issued, planted before sign-in, is not taken up either.
    let planted = "aup_session=ZmFrZS1zZXNzaW9uLWlkIQ";
    let signed_in = client()
        .post(app.url("/sign-in"))
        .header("cookie", planted)
        .form(&[("email", STAFF), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let issued = session_cookie(signed_in.headers()).expect("a session id of the portal's own");
    assert_ne!(issued, planted);
    let forged = client()
        .get(app.url("/s/cranbrook/"))
        .header("cookie", planted)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn after_sign_out_the_old_cookie_is_refused() {
    let app = spawn_app().await;
    let signed_in = app.sign_in(STAFF).await;
    let cookie = session_cookie(&signed_in.headers).expect("cookie");
    let out = app.post("/sign-out", &[]).await;
    assert_eq!(out.location(), Some("/sign-in?signed_out=1"));
    app.get("/sign-in?signed_out=1")
        .await
        .assert_contains("You have signed out.");

    let replay = client()
        .get(app.url("/s/cranbrook/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(replay.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn a_cross_site_post_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    // A foreign Origin on the sign-in form.
    let forged = app
        .client
        .post(app.url("/sign-in"))
        .header("origin", "https://evil.example")
        .form(&[("email", STAFF), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.headers().get("set-cookie").is_none());
    assert_eq!(
        app.get("/").await.location(),
        Some("/sign-in"),
        "not signed in"
    );

    // Sec-Fetch-Site: cross-site on the sign form of a signed-in person.
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&app).await;
    let forged = app
        .client
        .post(app.url(&format!("/s/cranbrook/versions/{version}/sign")))
        .header("sec-fetch-site", "cross-site")
        .form(&as_form(&fields))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("select count(*) from agreements").await, 0);

    // The same form from the portal's own origin is accepted.
    let own = app
        .client
        .post(app.url(&format!("/s/cranbrook/versions/{version}/sign")))
        .header("origin", app.address.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&as_form(&fields))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("select count(*) from agreements").await, 1);
}

#[tokio::test]
async fn signing_out_everywhere_ends_other_sessions() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    assert_eq!(app.visit("/").await.status, StatusCode::OK);
    sqlx::query("update users set auth_epoch = auth_epoch + 1 where email = $1")
        .bind(STAFF)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.get("/s/cranbrook/").await.location(), Some("/sign-in"));
}

#[tokio::test]
async fn expired_sessions_are_swept_from_the_database_and_live_ones_kept() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    sqlx::query(
        "insert into sessions (id, data, expiry_date) values ('expired', '{}', now() - interval '1 minute')",
    )
    .execute(&app.pool)
    .await
    .expect("an expired session");
    tokio::spawn(
        aup_portal::auth::store::PgSessions::new(app.pool.clone())
            .sweep_every(Duration::from_millis(50)),
    );
    for _ in 0..100 {
        if app
            .count("select count(*) from sessions where id = 'expired'")
            .await
            == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.count("select count(*) from sessions where id = 'expired'")
            .await,
        0
    );
    assert_eq!(app.count("select count(*) from sessions").await, 1);
    app.visit("/").await.assert_contains("Sam Taylor");
}

/// The portal with a clock the test moves, and that clock.
async fn with_clock(idle_minutes: i64, lifetime_hours: i64) -> (TestApp, aup_portal::clock::Clock) {
    let clock = aup_portal::clock::Clock::manual();
    let theirs = clock.clone();
    let app = spawn_app_with(move |s| {
        s.clock = theirs;
        s.idle_timeout = time::Duration::minutes(idle_minutes);
        s.session_lifetime = time::Duration::hours(lifetime_hours);
    })
    .await;
    (app, clock)
}

/// When the signed-in person's session last counted as active, as the database holds it.
async fn last_seen(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "select (data->'auth'->>'last_seen')::bigint from sessions where data ? 'auth'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_session_used_steadily_stays_signed_in_past_its_idle_timeout() {
    let (app, clock) = with_clock(30, 12).await;
    app.sign_in(STAFF).await;
    // Every 20 minutes for an hour: each visit refreshes the 30-minute idle timer.
    for _ in 0..3 {
        clock.advance(time::Duration::minutes(20));
        assert_eq!(app.get("/s/cranbrook/").await.status, StatusCode::OK);
    }
    // Then 31 minutes without a visit.
    clock.advance(time::Duration::minutes(31));
    assert_eq!(
        app.get("/s/cranbrook/").await.location(),
        Some("/sign-in?expired=1")
    );
    app.get("/sign-in?expired=1")
        .await
        .assert_contains("You were signed out because your session timed out");
    assert_eq!(
        app.get("/s/cranbrook/").await.location(),
        Some("/sign-in"),
        "the timed-out session is gone"
    );
}

#[tokio::test]
async fn the_idle_timer_is_refreshed_at_most_once_a_minute() {
    let (app, clock) = with_clock(30, 12).await;
    app.sign_in(STAFF).await;
    let signed_in_at = last_seen(&app).await;
    clock.advance(time::Duration::seconds(30));
    assert_eq!(app.get("/s/cranbrook/").await.status, StatusCode::OK);
    assert_eq!(
        last_seen(&app).await,
        signed_in_at,
        "not written within the minute"
    );
    clock.advance(time::Duration::seconds(31));
    assert_eq!(app.get("/s/cranbrook/").await.status, StatusCode::OK);
    assert_eq!(
        last_seen(&app).await,
        signed_in_at + 61,
        "refreshed after it"
    );
}

#[tokio::test]
async fn a_refreshed_session_still_ends_at_its_absolute_lifetime() {
    let (app, clock) = with_clock(30, 12).await;
    app.sign_in(STAFF).await;
    // Active every 20 minutes for 12 hours.
    for _ in 0..36 {
        assert_eq!(app.get("/s/cranbrook/").await.status, StatusCode::OK);
        clock.advance(time::Duration::minutes(20));
    }
    clock.advance(time::Duration::minutes(1));
    assert_eq!(
        app.get("/s/cranbrook/").await.location(),
        Some("/sign-in?expired=1")
    );
}
