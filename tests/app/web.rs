use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn pages_with_personal_data_are_not_stored_and_static_files_are_cached() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let home = app.visit("/").await;
    assert_eq!(home.headers["cache-control"], "no-store");
    assert!(
        home.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(home.headers["x-content-type-options"], "nosniff");
    let css = app.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    // The portal's icon, named by every page and found where browsers look without one.
    home.assert_contains(r#"<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">"#);
    let icon = app.get("/static/favicon.svg").await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(icon.headers["content-type"], "image/svg+xml");
    assert!(icon.body.starts_with("<svg"));
    let ico = app.get("/favicon.ico").await;
    assert_eq!(ico.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(ico.location(), Some("/static/favicon.svg"));
}

#[tokio::test]
async fn health_answers_and_readiness_follows_the_database() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);

    // The same portal with its database gone: alive, not ready, and a friendly 503 page.
    let (pool, _) = fresh_database().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let settings = aup_portal::state::Settings::for_base_url(address.clone());
    let app = aup_portal::startup::Application::build(settings, pool.clone(), listener);
    tokio::spawn(app.run_until_stopped(
        std::future::pending(),
        aup_portal::startup::Background::Nothing,
    ));
    pool.close().await;
    let http = client();
    let health = http.get(format!("{address}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = http.get(format!("{address}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page = http
        .post(format!("{address}/sign-in"))
        .form(&[("email", STAFF), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Please try again in a minute")
    );
}

#[tokio::test]
async fn an_unknown_page_says_page_not_found() {
    let app = spawn_app().await;
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    page.assert_contains("Page not found");
}

#[tokio::test]
async fn every_page_is_english_with_a_viewport_and_labelled_fields() {
    let app = spawn_app().await;
    let sign_in = app.get("/sign-in").await;
    sign_in.assert_contains(r#"<html lang="en-GB">"#);
    sign_in
        .assert_contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#);
    sign_in.assert_contains(r#"<label for="email">Email address</label>"#);
    sign_in.assert_contains(r#"<label for="password">Password</label>"#);
}

#[tokio::test]
async fn a_body_over_one_megabyte_is_refused_before_any_handler_reads_it() {
    let app = spawn_app().await;
    let body = |size: usize| format!("email={}&password=x", "a".repeat(size - 17));
    let send = |body: String| {
        app.client
            .post(app.url("/sign-in"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let under = send(body(aup_portal::startup::BODY_LIMIT)).await.unwrap();
    assert_eq!(under.status(), StatusCode::UNPROCESSABLE_ENTITY, "read");
    let over = send(body(aup_portal::startup::BODY_LIMIT + 1))
        .await
        .unwrap();
    assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(aup_portal::startup::BODY_LIMIT, 1024 * 1024);
}

#[tokio::test]
async fn a_request_still_unfinished_after_the_timeout_is_answered_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    assert_eq!(
        aup_portal::state::Settings::for_base_url(String::new()).request_timeout,
        std::time::Duration::from_secs(30),
        "the portal's timeout"
    );
    let app = spawn_app_with(|s| s.request_timeout = std::time::Duration::from_secs(1)).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    // A body promised and never finished, as a slow client would.
    stream
        .write_all(
            format!(
                "POST /sign-in HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail="
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = vec![0; 1024];
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), stream.read(&mut answer))
        .await
        .expect("answered before the client gave up")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}
