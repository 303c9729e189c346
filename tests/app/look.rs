//! How the portal shows a school: its name, the name its emails come from, its header
//! colour (white text must read on it) and its crest (PNG, JPEG or WebP by its first bytes,
//! never SVG), served from an address browsers may keep, and embedded in every email.

use aup_portal::mail::{self, OutgoingEmail, sender};
use reqwest::{StatusCode, multipart};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::helpers::*;

const CREST: &[u8] = include_bytes!("../fixtures/look/crest.png");
const SVG: &[u8] = include_bytes!("../fixtures/look/crest.svg");

/// Posts the look form, with `crest` as (file name, bytes) if a file is chosen.
async fn save_look(app: &TestApp, fields: &[(&str, &str)], crest: Option<(&str, Vec<u8>)>) -> Page {
    let mut form = multipart::Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    form = match crest {
        Some((file_name, bytes)) => form.part(
            "crest",
            multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
        ),
        None => form.part("crest", multipart::Part::bytes(vec![]).file_name("")),
    };
    let response = app
        .client
        .post(app.url("/s/cranbrook/admin/settings/look"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Page {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

const GOOD: [(&str, &str); 3] = [
    ("name", "Cranbrook  School"),
    ("sender_name", "Cranbrook School office"),
    ("colour", "#0B6E4F"),
];

#[tokio::test]
async fn an_admin_gives_the_school_its_name_colour_crest_and_sender_and_bad_ones_change_nothing() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    app.sign_in(ADMIN).await;
    let settings = app.get("/s/cranbrook/admin/settings").await;
    settings.assert_contains("How the portal shows your school");
    let crests = "select count(*) from school_crests";

    // An SVG is refused whatever its name says, as is a file too big; nothing is saved.
    let svg = save_look(&app, &GOOD, Some(("crest.png", SVG.to_vec()))).await;
    assert_eq!(svg.status, StatusCode::UNPROCESSABLE_ENTITY);
    svg.assert_contains(r#"<p id="crest-error" class="error-message"><span class="visually-hidden">Error:</span> The crest must be a PNG, JPEG or WebP image</p>"#);
    let mut big = CREST.to_vec();
    big.resize(300 * 1024, 0);
    let too_big = save_look(&app, &GOOD, Some(("crest.png", big))).await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
    too_big.assert_contains("The crest must be 256 KB or smaller");
    // A colour white text cannot be read on is refused, and the page says to choose the file again.
    let light = save_look(
        &app,
        &[
            ("name", "Cranbrook School"),
            ("sender_name", ""),
            ("colour", "#ffdd00"),
        ],
        Some(("crest.png", CREST.to_vec())),
    )
    .await;
    assert_eq!(light.status, StatusCode::UNPROCESSABLE_ENTITY);
    light.assert_contains("White text on #ffdd00 has a contrast of only 1.3 to 1: choose a darker colour, with at least 4.5 to 1");
    light.assert_contains("Choose the crest again");
    light.assert_contains(r##"value="#ffdd00""##);
    let nameless = save_look(&app, &[("name", "  "), ("colour", "")], None).await;
    nameless.assert_contains("Enter the school&#39;s name");
    assert_eq!(app.count(crests).await, 0);
    let look: (String, Option<String>, Option<String>) =
        sqlx::query_as("select name, colour, sender_name from schools where slug = 'cranbrook'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(look, ("Cranbrook Primary School".to_owned(), None, None));

    let saved = save_look(&app, &GOOD, Some(("crest.png", CREST.to_vec()))).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let sha256 = hex::encode(Sha256::digest(CREST));
    let school: uuid::Uuid = sqlx::query_scalar("select id from schools where slug = 'cranbrook'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let crest_path = format!("/static/crests/{school}/{sha256}");
    // Every page of the school shows them; the name is kept with its spacing made even.
    let home = app.visit("/s/cranbrook/").await;
    home.assert_contains(r#"<link rel="stylesheet" href="/static/colours/0b6e4f/header.css">"#);
    home.assert_contains(&format!(
        r#"<img class="crest" src="{crest_path}" alt="" height="40">Cranbrook School</a>"#
    ));
    let logged: String = sqlx::query_scalar(
        "select details::text from audit_events where action = 'school_look_changed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        logged.contains("the colour") && logged.contains("the crest"),
        "{logged}"
    );

    // The crest as it was uploaded, its type fixed by the portal, never sniffed, kept a year.
    let crest = client().get(app.url(&crest_path)).send().await.unwrap();
    assert_eq!(crest.status(), StatusCode::OK);
    let header = |name: &str| crest.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(
        header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(crest.bytes().await.unwrap().as_ref(), CREST);
    let css = client()
        .get(app.url("/static/colours/0b6e4f/header.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.text()
            .await
            .unwrap()
            .contains(".site-header { background: #0b6e4f; }")
    );
    // No colour the page would refuse, nor anything else, is written into a stylesheet.
    for refused in [
        "/static/colours/ffdd00/header.css",
        "/static/colours/x%7D%20body%7B/header.css",
    ] {
        let answer = client().get(app.url(refused)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{refused}");
    }
    let old = client()
        .get(app.url(&format!("/static/crests/{school}/{}", "0".repeat(64))))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::NOT_FOUND);

    // Emails come from the school's name and carry the crest inside them.
    let sink = SmtpSink::start();
    let email = OutgoingEmail {
        to: STAFF.to_owned(),
        subject: "Cranbrook School: a test".to_owned(),
        text: "Hello".to_owned(),
        html: "<!DOCTYPE html><html><body style=\"margin: 0\"><p>Hello</p></body></html>"
            .to_owned(),
    };
    let mut tx = app.pool.begin().await.unwrap();
    mail::queue(&mut tx, Some(school), "look-test", &email)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sender::send_due(
        &app.pool,
        &sink.mailer(&app.address),
        OffsetDateTime::now_utc(),
        10,
    )
    .await
    .unwrap();
    let delivered = sink.messages();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(
        delivered[0].from,
        "Cranbrook School office <aup@cranbrook.example>"
    );
    let html = delivered[0].html.as_deref().unwrap_or_default();
    assert!(
        html.contains(
            r#"<body style="margin: 0"><p><img src="cid:crest" alt="" height="64"></p><p>Hello</p>"#
        ),
        "{html}"
    );
    assert_eq!(delivered[0].inline.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].inline[0].content_id, "<crest>");
    assert_eq!(delivered[0].inline[0].content_type, "image/png");
    assert_eq!(delivered[0].inline[0].size, CREST.len());

    // Removing the crest takes it off the pages; its old address is gone.
    let removed = save_look(
        &app,
        &[GOOD[0], GOOD[1], GOOD[2], ("remove_crest", "yes")],
        None,
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(
        !app.visit("/s/cranbrook/")
            .await
            .body
            .contains("class=\"crest\"")
    );
    assert_eq!(
        client()
            .get(app.url(&crest_path))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}
