//! The SBM's week in September: who has signed, chasing, the list of people, imports,
//! paper forms and evidence; and the head's read-only view.

use reqwest::{StatusCode, multipart};
use uuid::Uuid;

use crate::{helpers::*, publishing::DPO};

const SBM: &str = "sbm@cranbrook.example";
const HEAD: &str = "head@cranbrook.example";

async fn sam_signs_cranbrook(app: &TestApp) {
    let sam = app.another();
    sam.sign_in(STAFF).await;
    sign_cranbrook(&sam).await;
}

#[tokio::test]
async fn the_dashboard_counts_signatures_overall_by_group_and_job_title() {
    let app = spawn_app().await;
    sam_signs_cranbrook(&app).await;
    app.sign_in(SBM).await;
    let index = app.get("/s/cranbrook/compliance").await;
    index.assert_contains("1 of 3 (33%)");
    index.assert_contains("0 of 2 (0%)");

    let version = app.version_id(CRANBROOK).await;
    let page = app.get(&format!("/s/cranbrook/compliance/{version}")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains(r#"<span class="stat-number">33%</span> signed<br>1 of 3 people"#);
    page.assert_contains(r#"<td data-label="Group">Governors</td><td class="numeric" data-label="Signed">0</td><td class="numeric" data-label="Outstanding">1</td><td class="numeric" data-label="Signed %">0%</td>"#);
    page.assert_contains(r#"<td data-label="Group">Staff</td><td class="numeric" data-label="Signed">1</td><td class="numeric" data-label="Outstanding">1</td><td class="numeric" data-label="Signed %">50%</td>"#);
    page.assert_contains(r#"<td data-label="Job title">Class teacher</td><td class="numeric" data-label="Signed">1</td><td class="numeric" data-label="Outstanding">0</td><td class="numeric" data-label="Signed %">100%</td>"#);
    // The chart, drawn on the server, with a text alternative.
    page.assert_contains(r#"<svg class="chart" viewBox="0 0 640 240" role="img" aria-labelledby="chart-title chart-desc""#);
    page.assert_contains("<figcaption>1 of 3 people have signed since it was published on");
    page.assert_contains("<summary>Signatures by day, as a table</summary>");
    // The outstanding list: longest first, with days and reminders, linked to each person.
    page.assert_contains("Outstanding (2)");
    let alex = membership(&app, GOVERNOR).await;
    page.assert_contains(&format!(
        r#"<a href="/s/cranbrook/people/{alex}">Alex Morgan</a>"#
    ));
    page.assert_contains(r#"<td data-label="Last reminded">Not yet</td>"#);
    assert!(!page.body.contains(">Sam Taylor</a>"), "Sam has signed");
}

#[tokio::test]
async fn chasing_reminds_each_outstanding_person_at_most_once_a_day() {
    let app = spawn_app_with(|s| s.mail_configured = true).await;
    sam_signs_cranbrook(&app).await;
    app.sign_in(SBM).await;
    let version = app.version_id(CRANBROOK).await;
    let first = app
        .post(&format!("/s/cranbrook/compliance/{version}/remind"), &[])
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    app.get(first.location().unwrap())
        .await
        .assert_contains("2 people were reminded.");
    let again = app
        .post(&format!("/s/cranbrook/compliance/{version}/remind"), &[])
        .await;
    app.get(again.location().unwrap()).await.assert_contains(
        "Nobody was reminded. 2 had already been reminded today, so were not reminded again.",
    );
    let alex = membership(&app, GOVERNOR).await;
    let one = app
        .post(
            &format!("/s/cranbrook/compliance/{version}/remind/{alex}"),
            &[],
        )
        .await;
    assert_eq!(one.status, StatusCode::SEE_OTHER);
    let to: Vec<String> = sqlx::query_scalar(
        "select to_address from outbox where dedupe_key like 'chase:%' order by to_address",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(to, [GOVERNOR, SBM]);
    assert_eq!(
        app.count("select count(*) from reminders where kind = 'chase'")
            .await,
        2
    );
    let page = app.get(&format!("/s/cranbrook/compliance/{version}")).await;
    assert!(
        !page
            .body
            .contains(r#"<td data-label="Last reminded">Not yet</td>"#),
        "both show when they were reminded"
    );
    // Someone who has signed is not chased.
    let sam = membership(&app, STAFF).await;
    let signed = app
        .post(
            &format!("/s/cranbrook/compliance/{version}/remind/{sam}"),
            &[],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    app.get(signed.location().unwrap())
        .await
        .assert_contains("Nobody was reminded.");
    assert_eq!(app.count("select count(*) from reminders").await, 2);
}

#[tokio::test]
async fn reminders_go_only_from_a_check_page_that_shows_who_and_the_email() {
    let app = spawn_app_with(|s| s.mail_configured = true).await;
    sam_signs_cranbrook(&app).await;
    app.sign_in(SBM).await;
    let version = app.version_id(CRANBROOK).await;
    let check = format!("/s/cranbrook/compliance/{version}/check-reminders");
    let chase_count = "select count(*) from outbox where dedupe_key like 'chase:%'";

    // Everyone outstanding: the count, the people and the email's words, and nothing sent.
    let all = app.post(&check, &[("scope", "all")]).await;
    assert_eq!(all.status, StatusCode::OK);
    all.assert_contains("Remind 2 people to sign?");
    all.assert_contains(&format!("({GOVERNOR})"));
    all.assert_contains(&format!("({SBM})"));
    all.assert_contains(&format!(
        "<strong>Subject:</strong> Cranbrook Primary School: reminder to sign the {CRANBROOK}"
    ));
    all.assert_contains("This is a reminder that you have not yet signed version");
    all.assert_contains("Send 2 reminders");
    all.assert_contains(&format!(
        r#"action="/s/cranbrook/compliance/{version}/remind""#
    ));
    assert_eq!(
        app.count(chase_count).await,
        0,
        "the check page sends nothing"
    );
    assert_eq!(app.count("select count(*) from reminders").await, 0);

    // "Remind selected" with nobody ticked: the message next to the list.
    let none = app.post(&check, &[("scope", "selected")]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    none.assert_contains(r##"<a href="#who">Select the people to remind</a>"##);
    none.assert_contains(r#"<p id="who-error" class="error-message">"#);

    // One ticked: only them, and only them reminded once confirmed.
    let alex = membership(&app, GOVERNOR).await.to_string();
    let one = app
        .post(&check, &[("scope", "selected"), ("who", &alex)])
        .await;
    one.assert_contains("Remind 1 person to sign?");
    one.assert_contains(&format!("({GOVERNOR})"));
    assert!(!one.body.contains(&format!("({SBM})")), "{}", one.body);
    one.assert_contains("Send 1 reminder");
    let sent = app
        .post(
            &format!("/s/cranbrook/compliance/{version}/remind-selected"),
            &[("who", &alex)],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let to = sent.location().unwrap();
    assert!(
        !to.contains('#'),
        "the notice at the top stays in view: {to}"
    );
    app.get(to).await.assert_contains("1 person was reminded.");
    let to: Vec<String> =
        sqlx::query_scalar("select to_address from outbox where dedupe_key like 'chase:%'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(to, [GOVERNOR]);

    // Checked again the same day: Alex is not reminded twice.
    let again = app.post(&check, &[("scope", "all")]).await;
    again.assert_contains("Remind 1 person to sign?");
    again.assert_contains("1 other person chosen has already been reminded today");
    let alex_again = app
        .post(&check, &[("scope", "selected"), ("who", &alex)])
        .await;
    alex_again.assert_contains("Nobody to remind today");
    alex_again.assert_contains("The person chosen has already been reminded today.");
    assert!(!alex_again.body.contains("Send 1 reminder"));

    // Once everyone has signed, an old page's button finds nobody to remind.
    let governor = app.another();
    governor.sign_in(GOVERNOR).await;
    for (who, email) in [(&governor, GOVERNOR), (&app, SBM)] {
        let name: String = sqlx::query_scalar("select signing_name from users where email = $1")
            .bind(email)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let mut fields = cranbrook_signature(who).await;
        for (key, value) in &mut fields {
            if *key == "full_name" {
                *value = name.clone();
            }
        }
        let signed = who
            .post(
                &format!("/s/cranbrook/versions/{version}/sign"),
                &as_form(&fields),
            )
            .await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    }
    app.post(&check, &[("scope", "all")])
        .await
        .assert_contains("Everyone has signed: there is nobody left to remind.");
}

#[tokio::test]
async fn the_sbm_finds_people_by_name_group_job_title_status_and_signature() {
    let app = spawn_app().await;
    sam_signs_cranbrook(&app).await;
    app.sign_in(SBM).await;
    let names = |page: &Page| -> Vec<String> {
        page.body
            .split("<td data-label=\"Name\"><a href=\"/s/cranbrook/people/")
            .skip(1)
            .map(|s| {
                s.split('>')
                    .nth(1)
                    .unwrap()
                    .split('<')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        names(&app.get("/s/cranbrook/people").await),
        [
            "Robin Hughes",
            "Jordan Lee",
            "Alex Morgan",
            "Priya Shah",
            "Sam Taylor"
        ],
        "in surname order"
    );
    assert_eq!(
        names(&app.get("/s/cranbrook/people?q=TAYLOR").await),
        ["Sam Taylor"]
    );
    assert_eq!(
        names(&app.get("/s/cranbrook/people?q=governor%40").await),
        ["Alex Morgan"]
    );
    assert_eq!(
        names(&app.get("/s/cranbrook/people?group=staff").await),
        ["Priya Shah", "Sam Taylor"]
    );
    assert_eq!(
        names(&app.get("/s/cranbrook/people?job_title=Class+teacher").await),
        ["Sam Taylor"]
    );
    let version = app.version_id(CRANBROOK).await;
    assert_eq!(
        names(
            &app.get(&format!("/s/cranbrook/people?policy={version}&signed=no"))
                .await
        ),
        ["Alex Morgan", "Priya Shah"],
        "outstanding as the dashboard counts: the external DPO is not in the AUP's audience"
    );
    let by_policy = app
        .get(&format!("/s/cranbrook/people?policy={version}"))
        .await;
    by_policy.assert_contains(r#"<td data-label="Signed">Not asked to sign</td>"#);
    let dashboard = app.get(&format!("/s/cranbrook/compliance/{version}")).await;
    dashboard.assert_contains("Priya Shah");
    assert!(!dashboard.body.contains("Jordan Lee"));
    assert_eq!(
        names(
            &app.get(&format!("/s/cranbrook/people?policy={version}&signed=yes"))
                .await
        ),
        ["Sam Taylor"]
    );
    assert!(names(&app.get("/s/cranbrook/people?status=left").await).is_empty());
    assert!(
        names(&app.get("/s/cranbrook/people?q=%25").await).is_empty(),
        "a % is searched for, not a wildcard"
    );
}

#[tokio::test]
async fn the_sbm_adds_edits_and_marks_a_leaver_who_is_then_neither_counted_nor_chased() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let bad = app
        .post(
            "/s/cranbrook/people/new",
            &[
                ("legal_forename", "Jamie"),
                ("surname", "Fox"),
                ("email", "not-an-email"),
                ("grp", "staff"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Enter an email address in the right format");
    let added = app
        .post(
            "/s/cranbrook/people/new",
            &[
                ("legal_forename", " Jamie "),
                ("surname", " Fox "),
                ("email", "jamie@cranbrook.example"),
                ("grp", "staff"),
                ("job_title", "Teaching assistant"),
                ("roles", "signer"),
                ("roles", "superuser"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let jamie = membership(&app, "jamie@cranbrook.example").await;
    let (name, roles): (String, Vec<String>) = sqlx::query_as(
        "select u.full_name, m.roles from memberships m join users u on u.id = m.user_id where m.id = $1",
    )
    .bind(jamie)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(name, "Jamie Fox");
    assert_eq!(roles, ["signer"], "a forged role is ignored");
    assert_eq!(
        app.count("select count(*) from outbox where dedupe_key like 'invite:%'")
            .await,
        1,
        "invited"
    );
    let duplicate = app
        .post(
            "/s/cranbrook/people/new",
            &[
                ("legal_forename", "Jamie"),
                ("surname", "Fox"),
                ("email", "JAMIE@cranbrook.example"),
                ("grp", "staff"),
            ],
        )
        .await;
    duplicate.assert_contains("This person is already on the school&#39;s list");

    let edited = app
        .post(
            &format!("/s/cranbrook/people/{jamie}/edit"),
            &[
                ("legal_forename", "Jamie"),
                ("surname", "Fox"),
                ("email", "jamie@cranbrook.example"),
                ("grp", "staff"),
                ("job_title", "Higher level teaching assistant"),
                ("roles", "signer"),
                ("roles", "head"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'roles_changed'")
            .await,
        1
    );
    let stored: (String, String, Vec<String>) =
        sqlx::query_as("select grp, job_title, roles from memberships where id = $1")
            .bind(jamie)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        stored,
        (
            "staff".to_owned(),
            "Higher level teaching assistant".to_owned(),
            vec!["signer".to_owned(), "head".to_owned()]
        )
    );

    let version = app.version_id(CRANBROOK).await;
    let before = app.get(&format!("/s/cranbrook/compliance/{version}")).await;
    before.assert_contains("0 of 4 people");
    app.post(&format!("/s/cranbrook/people/{jamie}/leave"), &LEFT_ON)
        .await;
    app.get(&format!("/s/cranbrook/people/{jamie}?left=1"))
        .await
        .assert_contains("Left on");
    let after = app.get(&format!("/s/cranbrook/compliance/{version}")).await;
    after.assert_contains("0 of 3 people");
    assert!(!after.body.contains("Jamie Fox"));
    let chased = app
        .post(&format!("/s/cranbrook/compliance/{version}/remind"), &[])
        .await;
    assert_eq!(chased.status, StatusCode::SEE_OTHER);
    app.get(chased.location().unwrap()).await.assert_contains(
        "3 reminders are queued: email is not set up, so they are sent once it is.",
    );
    assert_eq!(
        app.count(&format!(
            "select count(*) from reminders where membership_id = '{jamie}'"
        ))
        .await,
        0,
        "a leaver is never chased"
    );
    assert_eq!(
        app.count("select count(*) from reminders where kind = 'chase'")
            .await,
        3,
        "the others were"
    );
    app.post(&format!("/s/cranbrook/people/{jamie}/reactivate"), &[])
        .await;
    app.get(&format!("/s/cranbrook/compliance/{version}"))
        .await
        .assert_contains("0 of 4 people");

    // The admin's audit log says each step in words, from the event's fields.
    add_cranbrook_admin(&app).await;
    let admin = app.another();
    admin.sign_in(ADMIN).await;
    let log = admin.get("/s/cranbrook/admin/audit").await;
    for step in [
        "Added a person to Staff, as Signer",
        "Changed a person&#39;s roles from Signer to Signer, Headteacher",
        "Marked a person as left",
        "Reminded 3 people to sign",
        "Brought back a person who had left",
    ] {
        log.assert_contains(step);
    }
}

const STAFF_CSV: &str = "\u{feff}Name,Email,Group,Job title\r\n\
Sam Taylor,staff@cranbrook.example,Staff,Class teacher\r\n\
Alex Morgan,governor@cranbrook.example,Governors,Chair of governors\r\n\
Robin Hale,robin@cranbrook.example,staff,Teaching assistant\r\n\
,nameless@cranbrook.example,staff,\r\n\
Kim Wu,kim@cranbrook.example,teachers,Cook\r\n\
Robin Again,ROBIN@cranbrook.example,staff,\r\n";

pub async fn upload(app: &TestApp, csv: &str) -> Page {
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(csv.as_bytes().to_vec())
            .file_name("staff.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    let response = app
        .client
        .post(app.url("/s/cranbrook/people/import"))
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

/// The file an import preview keeps in its form, to confirm it with.
pub fn kept_csv(preview: &Page) -> String {
    preview
        .body
        .split(r#"name="csv" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#13;", "\r")
        .replace("&#10;", "\n")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn a_csv_import_is_previewed_with_its_bad_rows_then_applied_once() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let preview = upload(&app, STAFF_CSV).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    preview.assert_contains("<li>1 to add</li>");
    preview.assert_contains("<li>1 to change</li>");
    preview.assert_contains("<li>1 already up to date</li>");
    preview.assert_contains("<li>3 with problems</li>");
    preview.assert_contains("Line 5: the name is missing");
    preview.assert_contains("Line 6: &#39;teachers&#39; is not a group");
    preview.assert_contains("Line 7: ROBIN@cranbrook.example is also on line 4");
    preview.assert_contains("job title from Parent governor");
    assert_eq!(
        app.count("select count(*) from users where email = 'robin@cranbrook.example'")
            .await,
        0,
        "nothing saved yet"
    );

    let csv = kept_csv(&preview);
    let applied = app
        .post(
            "/s/cranbrook/people/import/confirm",
            &[("csv", csv.as_str())],
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    app.get(applied.location().unwrap())
        .await
        .assert_contains("The file has been imported: 1 added, 1 changed.");
    let title: String = sqlx::query_scalar("select job_title from memberships where id = $1")
        .bind(membership(&app, GOVERNOR).await)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(title, "Chair of governors");
    assert_eq!(
        app.count("select count(*) from outbox where to_address = 'robin@cranbrook.example'")
            .await,
        1,
        "invited"
    );

    // The same file again changes nothing.
    let again = upload(&app, STAFF_CSV).await;
    again.assert_contains("<li>0 to add</li>");
    again.assert_contains("<li>0 to change</li>");
    again.assert_contains("There is nothing to import.");
    let (users, memberships): (i64, i64) =
        sqlx::query_as("select (select count(*) from users), (select count(*) from memberships)")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((users, memberships), (6, 6));

    let not_csv = upload(&app, "Who,What\r\nx,y\r\n").await;
    assert_eq!(not_csv.status, StatusCode::UNPROCESSABLE_ENTITY);
    not_csv.assert_contains("Choose the column with each person&#39;s email address");
}

#[tokio::test]
async fn import_staff_on_the_command_line_does_the_same() {
    let (pool, url) = fresh_database().await;
    aup_portal::demo::seed(&pool, PASSWORD).await.unwrap();
    let file = std::env::temp_dir().join(format!("staff-{}.csv", Uuid::new_v4().simple()));
    std::fs::write(&file, STAFF_CSV).unwrap();
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_aup-portal"))
            .args([
                "import-staff",
                file.to_str().unwrap(),
                "--school",
                "cranbrook",
            ])
            .args(extra)
            .env("DATABASE_URL", &url)
            .env_remove("AUP_DATA_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let dry = run(&["--dry-run"]);
    assert!(
        dry.contains("line 4: add: Robin Hale <robin@cranbrook.example>"),
        "{dry}"
    );
    assert!(
        dry.contains("line 5: not imported: the name is missing"),
        "{dry}"
    );
    assert!(dry.contains("Dry run: nothing was changed."));
    let real = run(&[]);
    assert!(
        real.contains(
            "Added 1, changed 1, already up to date 1, marked as left 0, not imported 3."
        ),
        "{real}"
    );
    let again = run(&[]);
    assert!(
        again.contains(
            "Added 0, changed 0, already up to date 3, marked as left 0, not imported 3."
        ),
        "{again}"
    );
    let _ = std::fs::remove_file(file);
}

async fn record_paper(
    app: &TestApp,
    who: Uuid,
    version: Uuid,
    scan: Option<(&str, Vec<u8>)>,
    ticks: &[&str],
) -> Page {
    let today = aup_portal::clock::today_uk();
    let mut form = multipart::Form::new()
        .text("version_id", version.to_string())
        .text("signed_on_day", today.day().to_string())
        .text("signed_on_month", u8::from(today.month()).to_string())
        .text("signed_on_year", today.year().to_string())
        .text("note", "Filed in the staff room cabinet");
    for tick in ticks {
        form = form.text("ack", (*tick).to_owned());
    }
    if let Some((name, bytes)) = scan {
        form = form.part(
            "scan",
            multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    }
    let response = app
        .client
        .post(app.url(&format!("/s/cranbrook/people/{who}/paper")))
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

#[tokio::test]
async fn a_paper_signature_with_its_scan_counts_as_signed_and_is_evidence() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let alex = membership(&app, GOVERNOR).await;
    let version = app.version_id(CRANBROOK).await;
    let form = app
        .get(&format!(
            "/s/cranbrook/people/{alex}/paper?version={version}"
        ))
        .await;
    form.assert_contains("Statements ticked on the paper form");

    let fake = record_paper(
        &app,
        alex,
        version,
        Some(("form.pdf", b"not really a pdf".to_vec())),
        &["understand", "agree"],
    )
    .await;
    assert_eq!(fake.status, StatusCode::UNPROCESSABLE_ENTITY);
    fake.assert_contains("The scan must be a PDF, JPEG or PNG file");
    let early = app
        .client
        .post(app.url(&format!("/s/cranbrook/people/{alex}/paper")))
        .multipart(
            multipart::Form::new()
                .text("version_id", version.to_string())
                .text("signed_on_day", "3")
                .text("signed_on_month", "September")
                .text("signed_on_year", "2020")
                .text("note", "Old form")
                .text("ack", "understand")
                .text("ack", "agree"),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Dated before the version was published: kept only with a reason.
    assert!(
        early.contains("The date signed is before this version was published on"),
        "{early}"
    );
    assert_eq!(app.count("select count(*) from agreements").await, 0);
    let no_month = app
        .client
        .post(app.url(&format!("/s/cranbrook/people/{alex}/paper")))
        .multipart(
            multipart::Form::new()
                .text("version_id", version.to_string())
                .text("signed_on_day", "3")
                .text("signed_on_year", "2026")
                .text("note", "Old form"),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        no_month.contains(r##"<a href="#signed_on">The date signed must include a month</a>"##)
    );
    let unticked = record_paper(&app, alex, version, None, &["understand"]).await;
    unticked.assert_contains("to count as signed");
    let huge = record_paper(
        &app,
        alex,
        version,
        Some(("big.png", vec![0x89; 10 * 1024 * 1024 + 1])),
        &["understand", "agree"],
    )
    .await;
    assert_eq!(huge.status, StatusCode::UNPROCESSABLE_ENTITY);
    huge.assert_contains("The scan must be 10 MB or smaller");
    assert_eq!(app.count("select count(*) from agreements").await, 0);

    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake image body".to_vec();
    let done = record_paper(
        &app,
        alex,
        version,
        Some(("scan.png", png.clone())),
        &["understand", "agree"],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (method, note, signed_on, scan_sha): (String, String, String, String) = sqlx::query_as(
        "select a.method, p.note, to_char(a.signed_at at time zone 'Europe/London', 'YYYY-MM-DD'), s.sha256
         from agreements a join scans s on s.id = a.scan_id
         join agreement_personal p on p.agreement_id = a.id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let today = aup_portal::clock::today_uk();
    let today = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    assert_eq!(
        (method.as_str(), note.as_str(), signed_on.as_str()),
        ("paper", "Filed in the staff room cabinet", today.as_str())
    );
    use sha2::Digest;
    let expected: String = sha2::Sha256::digest(&png)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(scan_sha, expected);
    let dashboard = app.get(&format!("/s/cranbrook/compliance/{version}")).await;
    dashboard.assert_contains("1 of 3 people");

    let evidence = app
        .get(&format!("/s/cranbrook/people/{alex}/evidence"))
        .await;
    evidence.assert_contains("Paper form, recorded by Priya Shah");
    // A paper form has a day, not a time, and a name written by hand.
    let today = aup_portal::domain::render::long_date(aup_portal::clock::today_uk());
    evidence.assert_contains(&format!("<div><dt>Signed</dt><dd>{today}</dd></div>"));
    evidence.assert_contains("<div><dt>Name written</dt>");
    assert!(!evidence.body.contains("Name typed"));
    evidence.assert_contains(&expected);
    let scan_id: Uuid = sqlx::query_scalar("select id from scans")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let scan = app
        .client
        .get(app.url(&format!("/s/cranbrook/scans/{scan_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(scan.headers()["content-type"], "image/png");
    assert_eq!(scan.bytes().await.unwrap().to_vec(), png);
}

#[tokio::test]
async fn exports_hold_the_evidence_neutralise_formulas_and_are_audited() {
    let app = spawn_app().await;
    add_member(
        &app,
        "cranbrook",
        "formula@cranbrook.example",
        "=HYPERLINK(\"http://evil.example\")",
        "staff",
        "@SUM(A1)",
        "{signer}",
    )
    .await;
    // The forms refuse control characters, but a list may come from elsewhere.
    add_member(
        &app,
        "cranbrook",
        "tab@cranbrook.example",
        "Tab Person",
        "staff",
        "\t=1+2",
        "{signer}",
    )
    .await;
    add_member(
        &app,
        "cranbrook",
        "return@cranbrook.example",
        "Return Person",
        "staff",
        "\r=3+4",
        "{signer}",
    )
    .await;
    sam_signs_cranbrook(&app).await;
    app.sign_in(SBM).await;
    let version = app.version_id(CRANBROOK).await;
    let response = app
        .client
        .get(app.url(&format!("/s/cranbrook/compliance/{version}/export.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let csv = response.text().await.unwrap();
    let hash: String = sqlx::query_scalar("select content_sha256 from agreements")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "Name,Email,Group,Job title,Status,Signed at,Version,Content SHA-256,Method"
    );
    let sam = lines.iter().find(|l| l.starts_with("Sam Taylor,")).unwrap();
    assert!(
        sam.contains(",Signed,") && sam.contains(&hash) && sam.ends_with(",Online"),
        "{sam}"
    );
    let alex = lines
        .iter()
        .find(|l| l.starts_with("Alex Morgan,"))
        .unwrap();
    assert!(alex.contains(",Outstanding,"), "{alex}");
    assert!(
        csv.contains(r#""'=HYPERLINK(""http://evil.example"")""#),
        "{csv}"
    );
    assert!(csv.contains("'@SUM(A1)"), "{csv}");
    assert!(csv.contains(",'\t=1+2,"), "{csv:?}");
    assert!(csv.contains(",\"'\r=3+4\","), "{csv:?}");
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'dashboard_exported'")
            .await,
        1
    );

    let sam_id = membership(&app, STAFF).await;
    let evidence = app
        .client
        .get(app.url(&format!("/s/cranbrook/people/{sam_id}/evidence.csv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        evidence.contains("aup-portal-tests/1.0")
            && evidence.contains("127.0.0.1")
            && evidence.contains(&hash),
        "{evidence}"
    );
    assert!(
        evidence.contains("understand: ticked; wish: not ticked")
            || evidence.contains("agree: ticked"),
        "{evidence}"
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'evidence_exported'")
            .await,
        1
    );
}

#[tokio::test]
async fn only_the_schools_sbm_head_and_admin_reach_these_pages_and_the_head_changes_nothing() {
    let app = spawn_app().await;
    add_member(
        &app,
        "cranbrook",
        HEAD,
        "Dana Hughes",
        "staff",
        "Headteacher",
        "{signer,head}",
    )
    .await;
    add_cranbrook_admin(&app).await;
    add_member(
        &app,
        "oakfield",
        "sbm@oakfield.example",
        "Lee Grant",
        "staff",
        "School business manager",
        "{signer,sbm}",
    )
    .await;
    let version = app.version_id(CRANBROOK).await;
    let alex = membership(&app, GOVERNOR).await;
    // (path, may the head see it?)
    let views = [
        ("/s/cranbrook/compliance".to_owned(), true),
        (format!("/s/cranbrook/compliance/{version}"), true),
        (
            format!("/s/cranbrook/compliance/{version}/export.csv"),
            true,
        ),
        (format!("/s/cranbrook/people/{alex}"), true),
        (format!("/s/cranbrook/people/{alex}/evidence"), true),
        (format!("/s/cranbrook/people/{alex}/evidence.csv"), true),
        ("/s/cranbrook/people".to_owned(), false),
        ("/s/cranbrook/people/new".to_owned(), false),
        ("/s/cranbrook/people/import".to_owned(), false),
        (format!("/s/cranbrook/people/{alex}/edit"), false),
        (format!("/s/cranbrook/people/{alex}/paper"), false),
    ];
    let changes = [
        format!("/s/cranbrook/compliance/{version}/remind"),
        format!("/s/cranbrook/compliance/{version}/remind/{alex}"),
        "/s/cranbrook/people/new".to_owned(),
        format!("/s/cranbrook/people/{alex}/edit"),
        format!("/s/cranbrook/people/{alex}/leave"),
        format!("/s/cranbrook/people/{alex}/reactivate"),
        format!("/s/cranbrook/people/{alex}/invite"),
        "/s/cranbrook/people/import/confirm".to_owned(),
    ];
    for (who, views_allowed, changes_allowed) in [
        (SBM, true, true),
        ("it@cranbrook.example", true, true),
        (HEAD, false, false),
        (STAFF, false, false),
        (DPO, false, false),
        ("sbm@oakfield.example", false, false),
    ] {
        let visitor = app.another();
        visitor.sign_in(who).await;
        let refused = if who.ends_with("oakfield.example") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::FORBIDDEN
        };
        for (path, head_may) in &views {
            let allowed = views_allowed || (who == HEAD && *head_may);
            let status = visitor.get(path).await.status;
            if allowed {
                assert_eq!(status, StatusCode::OK, "{who} GET {path}");
            } else {
                assert_eq!(status, refused, "{who} GET {path}");
            }
        }
        if !changes_allowed {
            for path in &changes {
                let page = visitor
                    .post(
                        path,
                        &[
                            ("legal_forename", "Hijack"),
                            ("email", "x@y.example"),
                            ("grp", "staff"),
                            ("roles", "admin"),
                        ],
                    )
                    .await;
                assert_eq!(page.status, refused, "{who} POST {path}");
            }
        }
    }
    assert_eq!(app.count("select count(*) from reminders").await, 0);
    assert_eq!(
        app.count("select count(*) from users where legal_forename = 'Hijack'")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from memberships where status = 'left'")
            .await,
        0
    );
    // The head sees the dashboard without the buttons that change things.
    let head = app.another();
    head.sign_in(HEAD).await;
    let page = head
        .get(&format!("/s/cranbrook/compliance/{version}"))
        .await;
    assert!(!page.body.contains("Remind everyone outstanding"));
    assert!(
        !head
            .get(&format!("/s/cranbrook/people/{alex}"))
            .await
            .body
            .contains("Mark as left")
    );
}

#[tokio::test]
async fn the_paper_form_asks_for_the_policy_first_and_says_when_the_scan_must_be_chosen_again() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    // Sam owes two policies: the first step is choosing one, and nothing else.
    let sam = membership(&app, STAFF).await;
    let first = app.get(&format!("/s/cranbrook/people/{sam}/paper")).await;
    first.assert_contains("<legend>Which policy did Sam Taylor sign on paper?</legend>");
    assert!(!first.body.contains("Record the paper signature</button>"));
    let version = app.version_id(CRANBROOK).await;
    let second = app
        .get(&format!(
            "/s/cranbrook/people/{sam}/paper?version={version}"
        ))
        .await;
    second.assert_contains(&format!(
        r#"<dt>Policy</dt><dd>{CRANBROOK} 2024-25 <a href="/s/cranbrook/people/{sam}/paper">Change"#
    ));
    second.assert_contains("Record the paper signature</button>");
    assert!(!second.body.contains("Which policy did"));
    // Alex owes one: it is named, with nothing to change.
    let alex = membership(&app, GOVERNOR).await;
    let only = app.get(&format!("/s/cranbrook/people/{alex}/paper")).await;
    only.assert_contains(&format!("<dt>Policy</dt><dd>{CRANBROOK} 2024-25</dd>"));

    // A good scan with another answer to fix: the page says to choose it again.
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake image body".to_vec();
    let unticked = record_paper(
        &app,
        alex,
        version,
        Some(("form.png", png)),
        &["understand"],
    )
    .await;
    assert_eq!(unticked.status, StatusCode::UNPROCESSABLE_ENTITY);
    unticked.assert_contains(
        "Choose the scan again: a file is not kept when another answer needs changing",
    );
    assert_eq!(app.count("select count(*) from scans").await, 0);
}

#[tokio::test]
async fn a_paper_form_dated_before_its_version_was_published_is_kept_with_the_reason() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let alex = membership(&app, GOVERNOR).await;
    let version = app.version_id(CRANBROOK).await;
    let form = app
        .get(&format!(
            "/s/cranbrook/people/{alex}/paper?version={version}"
        ))
        .await;
    form.assert_contains("This version was published on");
    let reason = "Signed on the paper form in 2020, before the school used the portal";
    let send = |reason: &'static str| {
        app.client
            .post(app.url(&format!("/s/cranbrook/people/{alex}/paper")))
            .multipart(
                multipart::Form::new()
                    .text("version_id", version.to_string())
                    .text("signed_on_day", "3")
                    .text("signed_on_month", "9")
                    .text("signed_on_year", "2020")
                    .text("note", "Filed in the staff room cabinet")
                    .text("backdate_reason", reason)
                    .text("ack", "understand")
                    .text("ack", "agree"),
            )
            .send()
    };
    let refused = send("  ").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains(r#"<p id="backdate_reason-error" class="error-message"><span class="visually-hidden">Error:</span> The date signed is before this version was published on"#),
        "{body}"
    );
    let kept = send(reason).await.unwrap();
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
    let (signed_on, stored): (String, String) = sqlx::query_as(
        "select to_char(a.signed_at at time zone 'Europe/London', 'YYYY-MM-DD'), p.backdate_reason
         from agreements a join agreement_personal p on p.agreement_id = a.id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (signed_on.as_str(), stored.as_str()),
        ("2020-09-03", reason)
    );
    let evidence = app
        .get(&format!("/s/cranbrook/people/{alex}/evidence"))
        .await;
    evidence.assert_contains(&format!(
        "<dt>Dated before the version was published, because</dt><dd>{reason}</dd>"
    ));
    // Sealed with a commitment, like every personal field, and erasable.
    aup_portal::seal::seal_all(&app.pool).await.unwrap();
    let agreement: Uuid = sqlx::query_scalar("select id from agreements")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::raw_sql(
        "alter table agreement_personal disable trigger agreement_personal_guard;
         update agreement_personal set backdate_reason = 'Another reason';
         alter table agreement_personal enable trigger agreement_personal_guard;",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let tampered = aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
        .await
        .unwrap()
        .tampered()
        .expect("a changed reason is found");
    assert!(
        tampered.contains("has had its backdate_reason changed"),
        "{tampered}"
    );
    sqlx::query("select erase_personal('agreement', $1, array['backdate_reason'], 'test')")
        .bind(agreement.to_string())
        .execute(&app.pool)
        .await
        .unwrap();
    let verified = aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
        .await
        .unwrap();
    assert!(verified.intact().is_some());
}
