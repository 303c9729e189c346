//! The policy library: a signer reads again what is in force for their group and the exact
//! version they signed, from the library, their receipt and the "already signed" page.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::publishing::{DPO, publish_changed_cranbrook};

#[tokio::test]
async fn a_signer_reads_again_the_version_they_signed_and_the_one_in_force() {
    let app = spawn_app().await;
    let sam = app.another();
    sam.sign_in(STAFF).await;
    let signed = app.version_id(CRANBROOK).await;
    let library = sam.get("/s/cranbrook/library").await;
    assert_eq!(library.status, StatusCode::OK);
    library.assert_contains(
        r#"<a href="/s/cranbrook/library" aria-current="page">Policy library</a>"#,
    );
    library.assert_contains("<h2 class=\"library-title\">Staff Acceptable Usage Policy</h2>");
    library.assert_contains("<h2 class=\"library-title\">Staff and Governors AUP</h2>");
    library.assert_contains("Not yet");
    library.assert_contains(&format!(
        r#"<a class="button" href="/s/cranbrook/versions/{signed}/sign">Read and sign Staff and Governors AUP</a>"#
    ));

    sign_cranbrook(&sam).await;
    let agreement: uuid::Uuid = sqlx::query_scalar("select id from agreements")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let receipt = sam
        .get(&format!("/s/cranbrook/agreements/{agreement}"))
        .await;
    receipt.assert_contains(&format!(
        r#"<a href="/s/cranbrook/library/{signed}">Read the policy you signed</a>"#
    ));
    sam.get(&format!("/s/cranbrook/versions/{signed}/sign"))
        .await
        .assert_contains(&format!(
            r#"<a href="/s/cranbrook/library/{signed}">Read the version you signed</a>"#
        ));
    let read = sam.get(&format!("/s/cranbrook/library/{signed}")).await;
    assert_eq!(read.status, StatusCode::OK);
    read.assert_contains("You signed this version on");
    read.assert_contains("I will not reveal my password(s) to anyone");
    assert!(
        !read.body.contains(r#"name="full_name""#),
        "nothing is signed here"
    );

    // A new version is published: the library offers it, and keeps the one Sam signed.
    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let current = publish_changed_cranbrook(&dpo).await;
    let library = sam.get("/s/cranbrook/library").await;
    library.assert_contains(&format!(
        r#"<a href="/s/cranbrook/library/{current}">Read version 2025-26<span class="visually-hidden"> of Staff and Governors AUP</span></a>"#
    ));
    library.assert_contains(&format!(
        r#"<a href="/s/cranbrook/library/{signed}">Version 2024-25<span class="visually-hidden"> of Staff and Governors AUP</span></a>"#
    ));
    let old = sam.get(&format!("/s/cranbrook/library/{signed}")).await;
    old.assert_contains("This version has been replaced.");
    old.assert_contains("I will not reveal my password(s) to anyone");
    let new = sam.get(&format!("/s/cranbrook/library/{current}")).await;
    new.assert_contains("This is the version in force now. You have not signed it yet.");
    new.assert_contains("I will use the password manager the school provides.");
    assert!(
        !new.body
            .contains("I will not reveal my password(s) to anyone")
    );
}

#[tokio::test]
async fn the_library_shows_only_the_persons_groups_policies_and_the_versions_they_signed() {
    let app = spawn_app().await;
    app.sign_in(GOVERNOR).await;
    let library = app.get("/s/cranbrook/library").await;
    library.assert_contains("Every policy for governors at the school");
    library.assert_contains("Staff and Governors AUP");
    assert!(!library.body.contains("Staff Acceptable Usage Policy"));
    // Another group's policy, and an old version the governor never signed, are not found.
    let staff_only = app.version_id(STAFF_AUP).await;
    assert_eq!(
        app.get(&format!("/s/cranbrook/library/{staff_only}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let old = app.version_id(CRANBROOK).await;
    let dpo = app.another();
    dpo.sign_in(DPO).await;
    publish_changed_cranbrook(&dpo).await;
    assert_eq!(
        app.get(&format!("/s/cranbrook/library/{old}")).await.status,
        StatusCode::NOT_FOUND
    );
    // And a draft.
    let draft = crate::publishing::start_clone(&dpo).await;
    let draft_id = draft.rsplit('/').next().unwrap();
    assert_eq!(
        app.get(&format!("/s/cranbrook/library/{draft_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
