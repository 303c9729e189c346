//! One school cannot pull in another school's account: adding an address that already has an
//! account offers a membership, which the person accepts. Until then the school sees only the
//! name it typed, and none of the person's history.

use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::*;

const OAK_HEAD: &str = "head@oakfield.example";

async fn oakfield(app: &TestApp) -> TestApp {
    add_member(
        app,
        "oakfield",
        OAK_HEAD,
        "Morgan Price",
        "staff",
        "Headteacher",
        "{signer,sbm,admin}",
    )
    .await;
    let oak = app.another();
    oak.sign_in(OAK_HEAD).await;
    oak
}

async fn oakfield_membership(app: &TestApp, email: &str) -> (Uuid, String) {
    sqlx::query_as(
        "select m.id, m.status from memberships m join users u on u.id = m.user_id
         join schools s on s.id = m.school_id where u.email = $1 and s.slug = 'oakfield'",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn adding_an_existing_account_offers_a_membership_that_shows_nothing_until_accepted() {
    let app = spawn_app().await;
    let sam = app.another();
    sam.sign_in(STAFF).await;
    let oak = oakfield(&app).await;
    let added = oak
        .post(
            "/s/oakfield/people/new",
            &[
                ("legal_forename", "S."),
                ("surname", "Taylor"),
                ("email", "STAFF@cranbrook.example"),
                ("grp", "staff"),
                ("job_title", "Supply teacher"),
                ("roles", "signer"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let (membership, status) = oakfield_membership(&app, STAFF).await;
    assert_eq!(status, "pending");
    for path in [
        format!("/s/oakfield/people/{membership}"),
        "/s/oakfield/people".to_owned(),
        "/s/oakfield/admin/audit".to_owned(),
    ] {
        let page = oak.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            !page.body.contains("Sam Taylor"),
            "{path} shows the account's real name:\n{}",
            page.body
        );
    }
    oak.get(&format!("/s/oakfield/people/{membership}"))
        .await
        .assert_contains("Waiting for them to accept");
    oak.get("/s/oakfield/people")
        .await
        .assert_contains("S. Taylor");
    // Oakfield's pages are not Sam's yet.
    assert_eq!(sam.get("/s/oakfield/").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.count(&format!(
            "select count(*) from outbox where to_address = '{STAFF}' and dedupe_key like 'membership-offer:%'"
        ))
        .await,
        1,
        "Sam is told"
    );

    // Sam sees the offer and accepts it.
    let home = sam.visit("/").await;
    home.assert_contains("Oakfield Academy has added you");
    let accepted = sam
        .post(&format!("/memberships/{membership}/accept"), &[])
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert_eq!(oakfield_membership(&app, STAFF).await.1, "active");
    assert_eq!(sam.get("/s/oakfield/").await.status, StatusCode::OK);
    oak.get(&format!("/s/oakfield/people/{membership}"))
        .await
        .assert_contains("Sam Taylor");
    // Oakfield's audit log shows Sam's sign-ins from the day they joined, not before.
    let before: i64 = app
        .count(&format!(
            "select count(*) from audit_events e join users u on u.id = e.actor_user_id
             where u.email = '{STAFF}' and e.action = 'sign_in'"
        ))
        .await;
    assert_eq!(before, 1);
    app.another().sign_in(STAFF).await;
    let log = oak.get("/s/oakfield/admin/audit").await;
    assert_eq!(
        log.body
            .matches(r#"<td data-label="Who">Sam Taylor</td>"#)
            .count(),
        2,
        "the acceptance and the sign-in after it:\n{}",
        log.body
    );
}

#[tokio::test]
async fn only_the_person_answers_an_offer_and_declining_it_removes_it() {
    let app = spawn_app().await;
    let oak = oakfield(&app).await;
    oak.post(
        "/s/oakfield/people/new",
        &[
            ("legal_forename", "Sam"),
            ("surname", "Taylor"),
            ("email", STAFF),
            ("grp", "staff"),
            ("roles", "signer"),
        ],
    )
    .await;
    let (membership, _) = oakfield_membership(&app, STAFF).await;
    let alex = app.another();
    alex.sign_in(GOVERNOR).await;
    assert_eq!(
        alex.post(&format!("/memberships/{membership}/accept"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(oakfield_membership(&app, STAFF).await.1, "pending");
    // The SBM can neither bring it in as active nor mark it as left.
    for action in ["reactivate", "leave"] {
        assert_eq!(
            oak.post(&format!("/s/oakfield/people/{membership}/{action}"), &[])
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{action}"
        );
    }
    assert_eq!(oakfield_membership(&app, STAFF).await.1, "pending");
    let sam = app.another();
    sam.sign_in(STAFF).await;
    let declined = sam
        .post(&format!("/memberships/{membership}/decline"), &[])
        .await;
    assert_eq!(declined.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count(&format!(
            "select count(*) from memberships where id = '{membership}'"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn a_csv_import_offers_memberships_to_existing_accounts_too() {
    let app = spawn_app().await;
    let oak = oakfield(&app).await;
    let csv =
        "Name,Email,Group,Job title\nSamuel T,staff@cranbrook.example,staff,Cover supervisor\n";
    let confirmed = oak
        .post("/s/oakfield/people/import/confirm", &[("csv", csv)])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let (membership, status) = oakfield_membership(&app, STAFF).await;
    assert_eq!(status, "pending");
    let page = oak.get(&format!("/s/oakfield/people/{membership}")).await;
    page.assert_contains("Samuel T");
    assert!(!page.body.contains("Sam Taylor"));
    // Importing again changes the typed name, and never makes the offer active.
    let again = "Name,Email,Group,Job title\nSamuel Taylor,staff@cranbrook.example,staff,Cover supervisor\n";
    let imported = oak
        .post("/s/oakfield/people/import/confirm", &[("csv", again)])
        .await;
    assert_eq!(imported.status, StatusCode::SEE_OTHER);
    oak.get(imported.location().unwrap())
        .await
        .assert_contains("The file has been imported: 0 added, 1 changed.");
    assert_eq!(oakfield_membership(&app, STAFF).await.1, "pending");
    let typed: Option<String> =
        sqlx::query_scalar("select pending_name from memberships where id = $1")
            .bind(membership)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(typed.as_deref(), Some("Samuel Taylor"));
}
