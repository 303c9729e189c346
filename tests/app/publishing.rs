//! The DPO's year: write or import the new version, preview it, publish it, and everyone
//! in its audience owes a new signature.

use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::*;

pub const DPO: &str = "dpo@cranbrook.example";

async fn policy_id(app: &TestApp, name: &str) -> Uuid {
    sqlx::query_scalar("select id from policies where name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .expect("policy")
}

/// A year from today, as the three boxes of the date input.
fn next_year() -> [String; 3] {
    let d = aup_portal::clock::today_uk() + time::Duration::days(365);
    [
        d.day().to_string(),
        u8::from(d.month()).to_string(),
        d.year().to_string(),
    ]
}

/// Starts next year's Cranbrook version from the published one; returns the draft's path.
pub async fn start_clone(app: &TestApp) -> String {
    let policy = policy_id(app, CRANBROOK).await;
    let page = app
        .post(
            &format!("/s/cranbrook/policies/{policy}/versions"),
            &[("start", "clone")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    page.location().expect("draft").to_owned()
}

/// The edit form's fields for a Cranbrook draft, with `body` as its text.
pub fn draft_fields(body: &str) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("label", "2025-26".to_owned()),
        (
            "title",
            "Acceptable Use Policy (AUP): Staff and Governors agreement form".to_owned(),
        ),
        ("body_md", body.to_owned()),
        ("reviewed_on_day", "3".to_owned()),
        ("reviewed_on_month", "11".to_owned()),
        ("reviewed_on_year", "2025".to_owned()),
        ("reviewed_by", "DPO and SBM".to_owned()),
        ("signature_fields", "signature".to_owned()),
        ("signature_fields", "date".to_owned()),
        ("signature_fields", "full_name".to_owned()),
        ("signature_fields", "role".to_owned()),
    ];
    let [day, month, year] = next_year();
    fields.extend([
        ("next_review_due_day", day),
        ("next_review_due_month", month),
        ("next_review_due_year", year),
    ]);
    let acks = aup_portal::domain::samples::cranbrook()
        .content
        .acknowledgements;
    for (i, ack) in acks.iter().enumerate() {
        fields.push(("ack_id", ack.id.clone()));
        fields.push(("ack_text", ack.text.clone()));
        fields.push(("ack_position", (i + 1).to_string()));
        if ack.required {
            fields.push(("ack_required", i.to_string()));
        }
    }
    fields
}

fn changed_body() -> String {
    aup_portal::domain::samples::cranbrook()
        .content
        .body_md
        .replace("- I will not reveal my password(s) to anyone\n", "")
        .replace("preferably 15 characters", "preferably 16 characters")
        .replace(
            "- I will always log out when I finish working.\n",
            "- I will always log out when I finish working.\n- I will use the password manager the school provides.\n",
        )
}

/// Confirms and publishes a draft, as the DPO does on the confirmation page.
pub async fn publish_draft(app: &TestApp, draft: &str) -> Page {
    let confirm = app.get(&format!("{draft}/publish")).await;
    let marker = r#"name="content_sha256" value=""#;
    let start = confirm.body.find(marker).expect("a confirmation form") + marker.len();
    let hash = confirm.body[start..start + 64].to_owned();
    app.post(
        &format!("{draft}/publish"),
        &[("content_sha256", hash.as_str())],
    )
    .await
}

pub async fn publish_changed_cranbrook(app: &TestApp) -> Uuid {
    let draft = start_clone(app).await;
    let saved = app
        .post(&draft, &as_form(&draft_fields(&changed_body())))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let published = publish_draft(app, &draft).await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );
    draft.rsplit('/').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_dpo_sees_the_policies_with_an_overdue_review_highlighted() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let page = app.get("/s/cranbrook/policies").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Staff and Governors AUP");
    page.assert_contains(r#"<td data-label="Who signs it">Staff, Governors</td>"#);
    page.assert_contains("2024-25, published");
    page.assert_contains(r#"1 November 2025 <strong class="overdue">Overdue</strong>"#);
    page.assert_contains("Staff Acceptable Usage Policy");
    page.assert_contains("Not set");
    let home = app.visit("/").await;
    home.assert_contains(r#"<a href="/s/cranbrook/policies">Manage policies</a>"#);
}

#[tokio::test]
async fn the_dpo_creates_a_policy_and_changes_who_must_sign_it() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let missing = app
        .post("/s/cranbrook/policies/new", &[("name", "Volunteers AUP")])
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    missing.assert_contains("Select who must sign this policy");
    let taken = app
        .post(
            "/s/cranbrook/policies/new",
            &[("name", CRANBROOK), ("audience", "staff")],
        )
        .await;
    taken.assert_contains("There is already a policy with this name");

    let created = app
        .post(
            "/s/cranbrook/policies/new",
            &[("name", "Volunteers AUP"), ("audience", "volunteer")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let policy = policy_id(&app, "Volunteers AUP").await;
    let changed = app
        .post(
            &format!("/s/cranbrook/policies/{policy}/audience"),
            &[("audience", "volunteer"), ("audience", "staff")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    let audience: Vec<String> = sqlx::query_scalar("select audience from policies where id = $1")
        .bind(policy)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(audience, ["staff", "volunteer"]);
    let show = app.get(&format!("/s/cranbrook/policies/{policy}")).await;
    show.assert_contains("Staff, Volunteers");
    show.assert_contains("Start a blank version");
}

#[tokio::test]
async fn a_blank_version_never_starts_with_a_label_another_version_has() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let policy = policy_id(&app, CRANBROOK).await;
    // This school year's version came in on paper last term, and is already superseded.
    let this_year = aup_portal::policies::import::academic_year(aup_portal::clock::today_uk());
    sqlx::query(
        "insert into policy_versions (policy_id, school_id, label, title, body_md, status, published_at, content_sha256)
         select p.id, p.school_id, $2, 'Staff AUP', 'Text', 'superseded', now(), repeat('0', 64)
         from policies p where p.id = $1",
    )
    .bind(policy)
    .bind(&this_year)
    .execute(&app.pool)
    .await
    .unwrap();
    let started = app
        .post(
            &format!("/s/cranbrook/policies/{policy}/versions"),
            &[("start", "blank")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let form = app.get(started.location().unwrap()).await;
    form.assert_contains(&format!(r#"value="{this_year} (2)""#));
}

#[tokio::test]
async fn next_years_version_is_cloned_edited_previewed_and_published() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let draft = start_clone(&app).await;
    let form = app.get(&draft).await;
    assert_eq!(form.status, StatusCode::OK);
    form.assert_contains(r#"value="2025-26""#);
    // The review dates in the three boxes of the GOV.UK date input.
    form.assert_contains(r#"<label for="reviewed_on-day">Day</label>"#);
    form.assert_contains(r#"<label for="next_review_due-year">Year</label>"#);
    form.assert_contains("I will not reveal my password(s) to anyone");

    let saved = app
        .post(&draft, &as_form(&draft_fields(&changed_body())))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    app.get(saved.location().unwrap())
        .await
        .assert_contains("Your changes have been saved.");

    let preview = app.get(&format!("{draft}/preview")).await;
    assert_eq!(preview.status, StatusCode::OK);
    preview.assert_contains("This is the page signers will see");
    preview.assert_contains("I will use the password manager the school provides.");
    preview.assert_contains(r#"<input type="checkbox" id="ack-agree" name="ack" value="agree">"#);
    assert!(
        !preview.body.contains("/sign\""),
        "a preview cannot be submitted"
    );

    let confirm = app.get(&format!("{draft}/publish")).await;
    confirm.assert_contains("3 people must sign it</strong> (Staff, Governors)");
    confirm.assert_contains("it replaces version 2024-25");

    let old = app.version_id(CRANBROOK).await;
    // A confirmation for other content (the draft changed since) is refused.
    let stale = app
        .post(
            &format!("{draft}/publish"),
            &[("content_sha256", "0".repeat(64).as_str())],
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    stale.assert_contains("The draft has changed since you opened this page");
    let published = publish_draft(&app, &draft).await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );
    app.get(published.location().unwrap())
        .await
        .assert_contains("Version 2025-26 is published. 3 people have been asked to sign it.");

    let new = app.version_id(CRANBROOK).await;
    assert_ne!(old, new);
    let (status, hash, by): (String, String, Option<Uuid>) = sqlx::query_as(
        "select status, content_sha256, published_by from policy_versions where id = $1",
    )
    .bind(new)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(status, "published");
    assert!(by.is_some());
    let mut expected = aup_portal::domain::samples::cranbrook().content;
    expected.label = "2025-26".into();
    expected.body_md = changed_body();
    expected.reviewed_on = Some(time::macros::date!(2025 - 11 - 03));
    expected.next_review_due = Some(aup_portal::clock::today_uk() + time::Duration::days(365));
    assert_eq!(hash, expected.sha256(), "the hash of the canonical content");
    let old_status: String = sqlx::query_scalar("select status from policy_versions where id = $1")
        .bind(old)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(old_status, "superseded");

    // Everyone in the audience is emailed, once.
    let mail: Vec<(String, String, String, String)> = sqlx::query_as(
        "select to_address, subject, body_text, dedupe_key from outbox order by to_address",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let to: Vec<&str> = mail.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(to, [GOVERNOR, "sbm@cranbrook.example", STAFF]);
    for (_, subject, text, key) in &mail {
        assert_eq!(
            subject,
            "Cranbrook Primary School: please read and sign the Staff and Governors AUP (2025-26)"
        );
        assert!(
            text.contains(&format!("{}/s/cranbrook/versions/{new}/sign", app.address)),
            "{text}"
        );
        assert!(key.starts_with(&format!("published:{new}:")));
    }
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'version_published'")
            .await,
        1
    );

    // Published is final: the draft pages are gone, and the database refuses edits.
    assert_eq!(app.get(&draft).await.status, StatusCode::NOT_FOUND);
    let again = app.post(&draft, &as_form(&draft_fields("changed"))).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    for sql in [
        "update policy_versions set body_md = 'x' where id = $1",
        "delete from policy_versions where id = $1",
    ] {
        let refused = sqlx::query(sql)
            .bind(new)
            .execute(&app.pool)
            .await
            .expect_err(sql);
        assert!(
            refused.to_string().contains("can no longer be"),
            "{refused}"
        );
    }
    let refused = sqlx::query("update policy_versions set body_md = 'x' where id = $1")
        .bind(old)
        .execute(&app.pool)
        .await
        .expect_err("a superseded version is final too");
    assert!(
        refused
            .to_string()
            .contains("is superseded, and can no longer be changed")
    );
    // A second click on Publish lands on the policy page, publishing nothing more.
    assert_eq!(
        app.get(&format!("{draft}/publish")).await.status,
        StatusCode::NOT_FOUND
    );
    let again = app
        .post(
            &format!("{draft}/publish"),
            &[("content_sha256", hash.as_str())],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(
        again
            .location()
            .unwrap()
            .starts_with("/s/cranbrook/policies/")
    );
    assert_eq!(
        app.count("select count(*) from outbox").await,
        3,
        "nobody is emailed twice"
    );
}

#[tokio::test]
async fn after_a_new_version_the_signer_sees_what_changed_and_signs_again() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let old = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&app).await;
    let signed = app
        .post(
            &format!("/s/cranbrook/versions/{old}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);

    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let new = publish_changed_cranbrook(&dpo).await;

    let home = app.visit("/").await;
    home.assert_contains(&format!("/s/cranbrook/versions/{new}/sign"));
    // What the signature above kept in memory of last year's version no longer holds.
    assert_eq!(
        app.get(&format!("/s/cranbrook/versions/{old}/sign"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let page = app.get(&format!("/s/cranbrook/versions/{new}/sign")).await;
    page.assert_contains("What has changed since you signed 2024-25");
    page.assert_contains(
        "Removed statement:</span> <del>I will not reveal my password(s) to anyone</del>",
    );
    page.assert_contains(
        "New statement:</span> <ins>I will use the password manager the school provides.</ins>",
    );
    page.assert_contains(r#"<del><span class="visually-hidden">[removed: </span>15<span class="visually-hidden">]</span></del>"#);
    page.assert_contains(r#"<ins><span class="visually-hidden">[added: </span>16<span class="visually-hidden">]</span></ins>"#);

    let hash = app.content_hash(new).await;
    let mut fields = fields;
    fields[0].1 = hash;
    // A form sent back to be put right still says what changed.
    let unnamed: Vec<(&str, String)> = fields
        .iter()
        .map(|(k, v)| {
            (
                *k,
                if *k == "full_name" {
                    String::new()
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    let put_right = app
        .post(
            &format!("/s/cranbrook/versions/{new}/sign"),
            &as_form(&unnamed),
        )
        .await;
    assert_eq!(put_right.status, StatusCode::UNPROCESSABLE_ENTITY);
    put_right.assert_contains("Enter your full name");
    put_right.assert_contains("What has changed since you signed 2024-25");
    let again = app
        .post(
            &format!("/s/cranbrook/versions/{new}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let versions: Vec<Uuid> =
        sqlx::query_scalar("select version_id from agreements order by signed_at")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        versions,
        [old, new],
        "each agreement points at the version signed"
    );
}

#[tokio::test]
async fn a_form_left_open_while_a_new_version_is_published_asks_to_read_the_new_one() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let old = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&app).await;
    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let new = publish_changed_cranbrook(&dpo).await;
    let page = app
        .post(
            &format!("/s/cranbrook/versions/{old}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("This policy was updated while you were reading it");
    page.assert_contains(&format!("/s/cranbrook/versions/{new}/sign"));
    assert_eq!(app.count("select count(*) from agreements").await, 0);
}

#[tokio::test]
async fn a_draft_that_is_not_ready_cannot_be_published_and_bad_input_is_refused() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let policy = policy_id(&app, STAFF_AUP).await;
    let draft = app
        .post(
            &format!("/s/cranbrook/policies/{policy}/versions"),
            &[("start", "clone")],
        )
        .await
        .location()
        .unwrap()
        .to_owned();
    let confirm = app.get(&format!("{draft}/publish")).await;
    confirm.assert_contains("This version cannot be published yet");
    confirm.assert_contains("Set the date of the next review.");
    // The page offers no button; a hand-made request with the draft's right fingerprint is
    // refused for the missing date, and for nothing else.
    let draft_id: Uuid = draft.rsplit('/').next().unwrap().parse().unwrap();
    let school: Uuid = sqlx::query_scalar("select id from schools where slug = 'cranbrook'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let hash = aup_portal::store::versions::load(&mut conn, school, draft_id)
        .await
        .unwrap()
        .expect("the draft")
        .content
        .sha256();
    drop(conn);
    let refused = app
        .post(
            &format!("{draft}/publish"),
            &[("content_sha256", hash.as_str())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("Set the date of the next review.");
    assert!(
        !refused.body.contains("The draft has changed"),
        "{}",
        refused.body
    );
    assert_eq!(
        app.count("select count(*) from policy_versions where status = 'draft'")
            .await,
        1
    );

    let mut fields = draft_fields("- One statement");
    fields[0].1 = String::new();
    for (name, value) in &mut fields {
        if *name == "reviewed_on_month" {
            *value = "13".into();
        }
    }
    let page = app.post(&draft, &as_form(&fields)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains(
        r##"<a href="#label">Enter a label for this version, for example 2026-27</a>"##,
    );
    page.assert_contains(r##"<a href="#reviewed_on">The review date must be a real date</a>"##);
    page.assert_contains("- One statement");
    let body: String =
        sqlx::query_scalar("select body_md from policy_versions where status = 'draft'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(body.starts_with("- All staff must follow"), "nothing saved");
}

#[tokio::test]
async fn a_draft_can_be_deleted_and_the_history_shows_each_step() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let draft = start_clone(&app).await;
    app.post(&draft, &as_form(&draft_fields(&changed_body())))
        .await;
    let confirm = app.get(&format!("{draft}/delete")).await;
    confirm.assert_contains("Are you sure you want to delete the draft 2025-26?");
    let deleted = app.post(&format!("{draft}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    app.get(deleted.location().unwrap())
        .await
        .assert_contains("The draft 2025-26 has been deleted.");
    assert_eq!(
        app.count("select count(*) from policy_versions where status = 'draft'")
            .await,
        0
    );

    publish_changed_cranbrook(&app).await;
    let policy = policy_id(&app, CRANBROOK).await;
    let history = app
        .get(&format!("/s/cranbrook/policies/{policy}/history"))
        .await;
    for step in [
        "Started version 2025-26 from 2024-25",
        "Edited the draft 2025-26",
        "Deleted the draft 2025-26",
        "Published version 2025-26 and asked 3 people to sign it",
    ] {
        history.assert_contains(step);
    }
    history.assert_contains("Jordan Lee");
}

#[tokio::test]
async fn the_differences_page_marks_added_removed_and_changed_statements_and_review_facts() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let old = app.version_id(CRANBROOK).await;
    let new = publish_changed_cranbrook(&app).await;
    let policy = policy_id(&app, CRANBROOK).await;
    let show = app.get(&format!("/s/cranbrook/policies/{policy}")).await;
    show.assert_contains(&format!("compare?from={old}&amp;to={new}"));
    let page = app
        .get(&format!(
            "/s/cranbrook/policies/{policy}/compare?from={old}&to={new}"
        ))
        .await;
    page.assert_contains("What changed between 2024-25 and 2025-26");
    // Three statements, then the two review dates the new version set.
    assert_eq!(page.body.matches("class=\"change change-").count(), 5);
    page.assert_contains(
        "Changed the date of the last review:</span> from 1 November 2024 to 3 November 2025",
    );
    page.assert_contains("Changed the date of the next review:</span> from 1 November 2025 to ");
    // The rewritten statement, before and after, for a narrow screen.
    page.assert_contains(r#"<span class="change-side">Before:</span> <del>"#);
    page.assert_contains("preferably 16 characters");
}

#[tokio::test]
async fn pasted_text_of_either_sample_becomes_a_draft_with_its_structure() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    for (sample, text, name) in [
        (
            aup_portal::domain::samples::cranbrook(),
            include_str!("../samples/cranbrook-staff-governors-aup.txt"),
            "Imported Cranbrook AUP",
        ),
        (
            aup_portal::domain::samples::staff(),
            include_str!("../samples/staff-aup.txt"),
            "Imported staff AUP",
        ),
    ] {
        app.post(
            "/s/cranbrook/policies/new",
            &[("name", name), ("audience", "staff")],
        )
        .await;
        let policy = policy_id(&app, name).await;
        let imported = app
            .post(
                &format!("/s/cranbrook/policies/{policy}/import"),
                &[("text", text)],
            )
            .await;
        assert_eq!(imported.status, StatusCode::SEE_OTHER, "{}", imported.body);
        let draft = imported.location().unwrap().to_owned();
        app.get(&draft)
            .await
            .assert_contains("The text has been imported into this draft");
        let draft_id: Uuid = draft
            .split('/')
            .nth(4)
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let stored: (String, String, serde_json::Value, Vec<String>, Option<time::Date>, Option<time::Date>, String) =
            sqlx::query_as(
                "select title, body_md, acknowledgements, signature_fields, reviewed_on, next_review_due, reviewed_by
                 from policy_versions where id = $1",
            )
            .bind(draft_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let expected = sample.content;
        assert_eq!(stored.0, expected.title);
        assert_eq!(
            stored.1, expected.body_md,
            "{name}: the same statements, sections and lists"
        );
        assert_eq!(
            stored.2,
            serde_json::to_value(&expected.acknowledgements).unwrap()
        );
        assert_eq!(stored.3, expected.signature_fields);
        assert_eq!(
            (stored.4, stored.5),
            (expected.reviewed_on, expected.next_review_due)
        );
        assert_eq!(stored.6, expected.reviewed_by);
    }
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'version_imported'")
            .await,
        2
    );
}

#[tokio::test]
async fn unsafe_markup_in_a_policy_never_reaches_the_signer() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let body = "- Safe statement\n- <script>alert('x')</script>Scripted\n- [Click](javascript:alert(1))\n\
                - <img src=x onerror=\"alert(2)\">\n\n<iframe src=\"https://evil.example\"></iframe>\n\n\
                <style>body { display: none }</style>\n\n<a href=\"https://ok.example\" onclick=\"alert(3)\">ok</a>\n";
    let draft = start_clone(&app).await;
    let saved = app.post(&draft, &as_form(&draft_fields(body))).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let preview = app.get(&format!("{draft}/preview")).await;
    assert_eq!(
        publish_draft(&app, &draft).await.status,
        StatusCode::SEE_OTHER
    );
    let signer = app.another();
    signer.sign_in(STAFF).await;
    let version = signer.version_id(CRANBROOK).await;
    let page = signer
        .get(&format!("/s/cranbrook/versions/{version}/sign"))
        .await;
    for html in [&preview.body, &page.body] {
        assert!(html.contains("Safe statement"));
        for bad in [
            "<script",
            "alert(",
            "javascript:",
            "onerror",
            "onclick",
            "<iframe",
            "<style",
            "display: none",
        ] {
            assert!(!html.contains(bad), "{bad} reached the page");
        }
    }
}

#[tokio::test]
async fn only_the_schools_dpo_or_admin_reaches_the_policy_pages() {
    let app = spawn_app().await;
    let policy = policy_id(&app, CRANBROOK).await;
    let version = app.version_id(CRANBROOK).await;
    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let draft = start_clone(&dpo).await;
    let draft_id = draft.rsplit('/').next().unwrap().to_owned();

    // A DPO of another school.
    add_member(
        &app,
        "oakfield",
        "dpo@oakfield.example",
        "Morgan Ellis",
        "external",
        "Data protection officer",
        "{dpo}",
    )
    .await;

    let gets = [
        "/s/cranbrook/policies".to_owned(),
        "/s/cranbrook/policies/new".to_owned(),
        format!("/s/cranbrook/policies/{policy}"),
        format!("/s/cranbrook/policies/{policy}/audience"),
        format!("/s/cranbrook/policies/{policy}/import"),
        format!("/s/cranbrook/policies/{policy}/compare?from={version}&to={draft_id}"),
        format!("/s/cranbrook/policies/{policy}/history"),
        format!("/s/cranbrook/drafts/{draft_id}"),
        format!("/s/cranbrook/drafts/{draft_id}/preview"),
        format!("/s/cranbrook/drafts/{draft_id}/delete"),
        format!("/s/cranbrook/drafts/{draft_id}/publish"),
    ];
    let posts = [
        "/s/cranbrook/policies/new".to_owned(),
        format!("/s/cranbrook/policies/{policy}/audience"),
        format!("/s/cranbrook/policies/{policy}/versions"),
        format!("/s/cranbrook/policies/{policy}/import"),
        format!("/s/cranbrook/drafts/{draft_id}"),
        format!("/s/cranbrook/drafts/{draft_id}/delete"),
        format!("/s/cranbrook/drafts/{draft_id}/publish"),
    ];
    for (who, expected) in [
        (STAFF, StatusCode::FORBIDDEN),
        ("sbm@cranbrook.example", StatusCode::FORBIDDEN),
        ("dpo@oakfield.example", StatusCode::NOT_FOUND),
    ] {
        let person = app.another();
        person.sign_in(who).await;
        for path in &gets {
            assert_eq!(person.get(path).await.status, expected, "{who} GET {path}");
        }
        for path in &posts {
            let page = person
                .post(
                    path,
                    &[
                        ("name", "Hijack"),
                        ("audience", "staff"),
                        ("start", "blank"),
                        ("text", "- x"),
                    ],
                )
                .await;
            assert_eq!(page.status, expected, "{who} POST {path}");
        }
    }
    // Nothing changed: still one draft, no new policy, and the refusals were audited.
    assert_eq!(
        app.count("select count(*) from policy_versions where status = 'draft'")
            .await,
        1
    );
    assert_eq!(app.count("select count(*) from policies").await, 2);
    assert!(
        app.count("select count(*) from audit_events where action = 'access_denied'")
            .await
            >= 36
    );
    // And the DPO and an admin of this school reach every page.
    add_cranbrook_admin(&app).await;
    let admin = app.another();
    admin.sign_in(ADMIN).await;
    for path in &gets {
        assert_eq!(dpo.get(path).await.status, StatusCode::OK, "DPO GET {path}");
        assert_eq!(
            admin.get(path).await.status,
            StatusCode::OK,
            "admin GET {path}"
        );
    }
}

#[tokio::test]
async fn starting_a_version_when_a_draft_exists_opens_that_draft() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let first = start_clone(&app).await;
    let policy = policy_id(&app, CRANBROOK).await;
    let second = app
        .post(
            &format!("/s/cranbrook/policies/{policy}/versions"),
            &[("start", "blank")],
        )
        .await;
    assert_eq!(second.location(), Some(first.as_str()));
    let imported = app
        .post(
            &format!("/s/cranbrook/policies/{policy}/import"),
            &[("text", "- One")],
        )
        .await;
    assert_eq!(imported.status, StatusCode::UNPROCESSABLE_ENTITY);
    imported.assert_contains("This policy already has a draft");
    assert_eq!(
        app.count("select count(*) from policy_versions where status = 'draft'")
            .await,
        1
    );

    // A label another version already has is refused.
    let mut fields = draft_fields("- One statement");
    fields[0].1 = "2024-25".into();
    let page = app.post(&first, &as_form(&fields)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("Another version of this policy already has this label");
}

#[tokio::test]
async fn a_dpo_of_another_school_cannot_use_this_schools_ids_under_their_own_school() {
    let app = spawn_app().await;
    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let draft = start_clone(&dpo).await;
    let draft_id = draft.rsplit('/').next().unwrap().to_owned();
    let policy = policy_id(&app, CRANBROOK).await;
    let version = app.version_id(CRANBROOK).await;
    add_member(
        &app,
        "oakfield",
        "dpo@oakfield.example",
        "Morgan Ellis",
        "external",
        "Data protection officer",
        "{dpo}",
    )
    .await;
    let other = app.another();
    other.sign_in("dpo@oakfield.example").await;
    assert_eq!(
        other.get("/s/oakfield/policies").await.status,
        StatusCode::OK
    );
    for path in [
        format!("/s/oakfield/policies/{policy}"),
        format!("/s/oakfield/policies/{policy}/history"),
        format!("/s/oakfield/policies/{policy}/compare?from={version}&to={draft_id}"),
        format!("/s/oakfield/drafts/{draft_id}"),
        format!("/s/oakfield/drafts/{draft_id}/preview"),
        format!("/s/oakfield/drafts/{draft_id}/publish"),
    ] {
        assert_eq!(
            other.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for path in [
        format!("/s/oakfield/drafts/{draft_id}"),
        format!("/s/oakfield/drafts/{draft_id}/delete"),
        format!("/s/oakfield/drafts/{draft_id}/publish"),
        format!("/s/oakfield/policies/{policy}/versions"),
        format!("/s/oakfield/policies/{policy}/audience"),
    ] {
        let page = other
            .post(&path, &[("start", "blank"), ("audience", "staff")])
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "POST {path}");
    }
    assert_eq!(
        app.count("select count(*) from policy_versions where status = 'draft'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_preview_leads_to_publishing_and_both_prompt_for_a_closing_i_agree() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let draft = start_clone(&app).await;
    let preview = app.get(&format!("{draft}/preview")).await;
    preview.assert_contains(&format!(
        r#"<a class="button" href="{draft}/publish">Publish version 2025-26</a>"#
    ));
    assert!(
        !preview
            .body
            .contains("No statement to tick asks people to agree")
    );

    // Without "I agree to abide by all the points above", both pages say so and link to it.
    let fields: Vec<(&str, String)> = draft_fields(&changed_body())
        .into_iter()
        .map(|(name, value)| match (name, value.as_str()) {
            ("ack_text", "I agree to abide by all the points above.") => (name, String::new()),
            _ => (name, value),
        })
        .collect();
    let saved = app.post(&draft, &as_form(&fields)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let prompt = format!(
        r#"Without one, only their signature says they agree. <a href="{draft}#statements-to-tick">Add a closing statement to the draft</a>"#
    );
    app.get(&format!("{draft}/preview"))
        .await
        .assert_contains(&prompt);
    let check = app.get(&format!("{draft}/publish")).await;
    check.assert_contains(&prompt);
    // A prompt, not a bar: it can still be published.
    assert_eq!(
        publish_draft(&app, &draft).await.status,
        StatusCode::SEE_OTHER
    );
}
