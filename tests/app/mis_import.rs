//! Staff lists straight from the MIS: SIMS, Arbor and Bromcom exports and School Data
//! Sync, read as their systems write them (tests/fixtures/mis/README.md says where the
//! shapes come from), mapped, matched by MIS ID, and leavers proposed but never marked
//! without a tick.

use reqwest::{StatusCode, multipart};
use uuid::Uuid;

use crate::helpers::*;

const SBM: &str = "sbm@cranbrook.example";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/mis/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|_| panic!("{path}"))
}

/// Uploads files to the import, as (form field, file name, bytes).
async fn upload(app: &TestApp, files: &[(&'static str, &str, Vec<u8>)]) -> Page {
    let mut form = multipart::Form::new();
    for (field, name, bytes) in files {
        form = form.part(
            *field,
            multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
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

fn unescape(text: &str) -> String {
    text.replace("&#13;", "\r")
        .replace("&#10;", "\n")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the form posting to `action`, as the browser would send them.
fn hidden_fields(body: &str, action: &str) -> Vec<(String, String)> {
    let form = body
        .split(&format!(r#"action="/s/cranbrook/people/import/{action}""#))
        .nth(1)
        .unwrap_or_else(|| panic!("no {action} form:\n{body}"))
        .split("</form>")
        .next()
        .unwrap();
    form.split(r#"<input type="hidden" name=""#)
        .skip(1)
        .map(|input| {
            let (name, rest) = input.split_once('"').unwrap();
            let value = rest
                .split_once(r#"value=""#)
                .unwrap()
                .1
                .split('"')
                .next()
                .unwrap();
            (name.to_owned(), unescape(value))
        })
        .collect()
}

/// Confirms the preview's import, ticking the leavers given.
async fn confirm(app: &TestApp, preview: &Page, leave: &[Uuid]) -> Page {
    let mut fields = hidden_fields(&preview.body, "confirm");
    fields.extend(leave.iter().map(|id| ("leave".to_owned(), id.to_string())));
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.post("/s/cranbrook/people/import/confirm", &form).await
}

async fn person(
    app: &TestApp,
    email: &str,
) -> (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
) {
    sqlx::query_as(
        "select u.full_name, u.legal_forename, u.preferred_forename, u.signing_name, m.mis_id,
                m.staff_type, m.status
         from users u join memberships m on m.user_id = u.id where u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .unwrap_or_else(|_| panic!("{email} is on the list"))
}

#[tokio::test]
async fn a_sims_export_is_read_with_its_bom_crlf_preferred_names_and_staff_codes() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let sims = fixture("sims_staff.csv");
    let preview = upload(&app, &[("file", "Staff.csv", sims.clone())]).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    preview.assert_contains(
        r#"<option value="Legal Surname" selected>Legal Surname (for example, Taylor)</option>"#,
    );
    preview.assert_contains(r#"<option value="Staff Code" selected>"#);
    preview.assert_contains("<li>1 to add</li>");
    preview.assert_contains("<li>2 to change</li>");
    preview.assert_contains("<li>0 who may have left</li>");
    preview.assert_contains("Line 6: &#39;not-an-email&#39; is not an email address");
    preview.assert_contains(
        "not added, as their employment has ended: Chidi Okafor (line 5, left on 31 August 2025)",
    );
    preview.assert_contains("name from Sam Taylor; MIS person ID recorded; Teaching staff");
    assert_eq!(
        app.count("select count(*) from memberships where mis_id is not null")
            .await,
        0,
        "nothing saved before the confirmation"
    );

    let done = confirm(&app, &preview, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    app.get(done.location().unwrap())
        .await
        .assert_contains("The file has been imported: 1 added, 2 changed.");
    assert_eq!(
        person(&app, STAFF).await,
        (
            "Sam Taylor".into(),
            "Samuel".into(),
            "Sam".into(),
            "Samuel Taylor".into(),
            Some("STA".into()),
            Some("teaching".into()),
            "active".into()
        ),
        "pages show Sam; Samuel Taylor signs"
    );
    let robin = person(&app, "robin@cranbrook.example").await;
    assert_eq!(
        (robin.4.as_deref(), robin.5.as_deref()),
        (Some("RHA"), Some("support"))
    );
    let page = app
        .get(&format!(
            "/s/cranbrook/people/{}",
            membership(&app, "robin@cranbrook.example").await
        ))
        .await;
    page.assert_contains("<div><dt>Teaching or support</dt><dd>Support</dd></div>");
    page.assert_contains("<div><dt>MIS person ID</dt><dd>RHA</dd></div>");
    assert_eq!(
        app.count("select count(*) from users where email = 'chidi@cranbrook.example'")
            .await,
        0
    );
    let remembered: serde_json::Value = sqlx::query_scalar("select columns from import_mappings")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(remembered["surname"], "Legal Surname");

    let again = upload(&app, &[("file", "Staff.csv", sims)]).await;
    again.assert_contains("<li>0 to add</li>");
    again.assert_contains("<li>0 to change</li>");
    again.assert_contains("There is nothing to import.");
}

const SIMS_HEADERS: &str = "Staff Code,Title,Legal Forename,Preferred Forename,Legal Surname,Email,Staff Role,Employment Start Date,Employment End Date,Teaching/Support\r\n";

#[tokio::test]
async fn a_row_whose_mis_id_is_one_persons_and_address_anothers_changes_neither() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let first = upload(&app, &[("file", "Staff.csv", fixture("sims_staff.csv"))]).await;
    confirm(&app, &first, &[]).await;
    // Sam's and Robin's staff codes swapped in the MIS.
    let swapped = format!(
        "{SIMS_HEADERS}RHA,Mr,Samuel,Sam,Taylor,staff@cranbrook.example,Class teacher,01/09/2019,,Teaching\r\n\
         PSH,Mrs,Priya,,Shah,sbm@cranbrook.example,School business manager,01/04/2015,,Support\r\n\
         STA,Ms,Robin,,Hale,robin@cranbrook.example,Teaching assistant,02/09/2024,,Support\r\n"
    );
    let preview = upload(&app, &[("file", "Staff.csv", swapped.into_bytes())]).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    preview.assert_contains("<li>2 with problems</li>");
    preview.assert_contains(
        "Line 2: its MIS ID is Robin Hale&#39;s on the list, but staff@cranbrook.example is Sam Taylor&#39;s: correct the file or the list, then import again",
    );
    preview.assert_contains("Line 4: its MIS ID is Sam Taylor&#39;s on the list");
    preview.assert_contains("<li>0 to change</li>");
    preview.assert_contains("<li>0 who may have left</li>");
    preview.assert_contains("There is nothing to import.");
    let (sam, robin) = (
        person(&app, STAFF).await,
        person(&app, "robin@cranbrook.example").await,
    );
    assert_eq!(
        (
            sam.0.as_str(),
            sam.4.as_deref(),
            robin.0.as_str(),
            robin.4.as_deref()
        ),
        ("Sam Taylor", Some("STA"), "Robin Hale", Some("RHA"))
    );
}

#[tokio::test]
async fn a_signing_name_the_sbm_set_outlives_the_next_import_until_the_legal_name_changes() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let sims = fixture("sims_staff.csv");
    let first = upload(&app, &[("file", "Staff.csv", sims.clone())]).await;
    confirm(&app, &first, &[]).await;
    // Sam signs with his middle initial, as on his contract.
    let sam = membership(&app, STAFF).await;
    let edited = app
        .post(
            &format!("/s/cranbrook/people/{sam}/edit"),
            &[
                ("legal_forename", "Samuel"),
                ("preferred_forename", "Sam"),
                ("surname", "Taylor"),
                ("signing_name", "Samuel J Taylor"),
                ("email", STAFF),
                ("grp", "staff"),
                ("job_title", "Class teacher"),
                ("roles", "signer"),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);

    let again = upload(&app, &[("file", "Staff.csv", sims)]).await;
    again.assert_contains("<li>0 to change</li>");
    again.assert_contains("There is nothing to import.");

    // He takes his husband's surname: the MIS says so, and he signs with the new one.
    let renamed = format!(
        "{SIMS_HEADERS}STA,Mr,Samuel,Sam,Okoro,staff@cranbrook.example,Class teacher,01/09/2019,,Teaching\r\n"
    );
    let preview = upload(&app, &[("file", "Staff.csv", renamed.into_bytes())]).await;
    preview.assert_contains("<li>1 to change</li>");
    preview.assert_contains("name from Sam Taylor");
    confirm(&app, &preview, &[]).await;
    let after = person(&app, STAFF).await;
    assert_eq!(
        (after.0.as_str(), after.3.as_str()),
        ("Sam Okoro", "Samuel Okoro")
    );
}

#[tokio::test]
async fn leavers_are_proposed_only_for_mis_matched_members_of_the_files_groups_and_only_a_tick_marks_them()
 {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let first = upload(&app, &[("file", "Staff.csv", fixture("sims_staff.csv"))]).await;
    confirm(&app, &first, &[]).await;
    // A supply teacher the SBM added by hand carries no MIS ID: the export cannot speak for them.
    add_member(
        &app,
        "cranbrook",
        "supply@cranbrook.example",
        "Casey Supply",
        "staff",
        "Supply teacher",
        "{signer}",
    )
    .await;
    // Robin has gone from the export; Sam's contract ended in the summer.
    let next = format!(
        "{SIMS_HEADERS}STA,Mr,Samuel,Sam,Taylor,staff@cranbrook.example,Class teacher,01/09/2019,31/08/2026,Teaching\r\n\
         PSH,Mrs,Priya,,Shah,sbm@cranbrook.example,School business manager,01/04/2015,,Support\r\n"
    );
    let preview = upload(&app, &[("file", "Staff.csv", next.into_bytes())]).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    preview.assert_contains("<li>2 who may have left</li>");
    let robin = membership(&app, "robin@cranbrook.example").await;
    let sam = membership(&app, STAFF).await;
    preview.assert_contains(&format!(
        r#"<input type="checkbox" id="leave-{robin}" name="leave" value="{robin}""#
    ));
    let today = aup_portal::domain::render::long_date(aup_portal::clock::today_uk());
    preview.assert_contains(&format!(
        "Robin Hale (robin@cranbrook.example), left on {today}"
    ));
    preview.assert_contains("Sam Taylor (staff@cranbrook.example), left on 31 August 2026");
    preview.assert_contains("Line 2 gives an employment end date");
    // The governor and the external DPO are not in a staff export, and carry no MIS ID.
    assert!(
        !preview.body.contains("Alex Morgan (governor"),
        "{}",
        preview.body
    );
    assert!(!preview.body.contains("Jordan Lee (dpo"));
    assert!(!preview.body.contains("Casey Supply"));
    assert_eq!(preview.body.matches(r#"name="leave""#).count(), 2);

    // Without a tick, no one leaves.
    let unticked = confirm(&app, &preview, &[]).await;
    assert_eq!(unticked.status, StatusCode::SEE_OTHER, "{}", unticked.body);
    assert_eq!(
        app.count("select count(*) from memberships where status = 'left'")
            .await,
        0
    );
    let preview = upload(
        &app,
        &[(
            "file",
            "Staff.csv",
            format!(
                "{SIMS_HEADERS}STA,Mr,Samuel,Sam,Taylor,staff@cranbrook.example,Class teacher,01/09/2019,31/08/2026,Teaching\r\n\
                 PSH,Mrs,Priya,,Shah,sbm@cranbrook.example,School business manager,01/04/2015,,Support\r\n"
            )
            .into_bytes(),
        )],
    )
    .await;
    let ticked = confirm(&app, &preview, &[robin, sam]).await;
    app.get(ticked.location().unwrap())
        .await
        .assert_contains("0 changed, 2 marked as left.");
    let left: Vec<(String, String)> = sqlx::query_as(
        "select u.email, m.left_on::text from memberships m join users u on u.id = m.user_id
         where m.status = 'left' order by u.email",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let today = aup_portal::clock::today_uk().to_string();
    assert_eq!(
        left,
        [
            ("robin@cranbrook.example".to_owned(), today),
            (STAFF.to_owned(), "2026-08-31".to_owned())
        ]
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'person_left'")
            .await,
        2
    );
}

#[tokio::test]
async fn an_address_the_mis_changes_is_corrected_only_for_someone_who_never_activated() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let first = upload(&app, &[("file", "Staff.csv", fixture("sims_staff.csv"))]).await;
    confirm(&app, &first, &[]).await;
    let robin = membership(&app, "robin@cranbrook.example").await;
    // Matched by staff code: Robin (never activated) and Sam (has a password) have new addresses.
    let next = format!(
        "{SIMS_HEADERS}STA,Mr,Samuel,Sam,Taylor,sam.taylor@cranbrook.example,Class teacher,01/09/2019,,Teaching\r\n\
         RHA,Ms,Robin,,Hale-Jones,r.hale@cranbrook.example,Teaching assistant,02/09/2024,,Support\r\n\
         PSM,Mrs,Priya,,Shah,sbm@cranbrook.example,School business manager,01/04/2015,,Support\r\n"
    );
    let preview = upload(&app, &[("file", "Staff.csv", next.into_bytes())]).await;
    preview.assert_contains("name from Robin Hale; email corrected to r.hale@cranbrook.example, and the invitation sent there");
    // Priya's staff code changed; her address finds her.
    preview.assert_contains("MIS person ID from PSH");
    preview.assert_contains("<li>0 to add</li>");
    preview.assert_contains("The MIS now has sam.taylor@cranbrook.example, but the import does not change it. Sam Taylor has activated their account");
    confirm(&app, &preview, &[]).await;
    let (email, name): (String, String) = sqlx::query_as(
        "select u.email, u.full_name from memberships m join users u on u.id = m.user_id where m.id = $1",
    )
    .bind(robin)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (email.as_str(), name.as_str()),
        ("r.hale@cranbrook.example", "Robin Hale-Jones")
    );
    assert_eq!(
        app.count("select count(*) from email_changes where how = 'correction' and new_email = 'r.hale@cranbrook.example'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from users where email = 'staff@cranbrook.example'")
            .await,
        1,
        "Sam's address is theirs to change"
    );
}

#[tokio::test]
async fn an_arbor_workbook_is_read_below_its_title_with_sheet_row_numbers() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let preview = upload(
        &app,
        &[("file", "Arbor staff.xlsx", fixture("arbor_staff.xlsx"))],
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    preview.assert_contains("<li>2 to add</li>");
    preview.assert_contains("Line 6: the email address is missing");
    preview.assert_contains(r#"<td data-label="Line">4</td><td data-label="Name">Seun Bello</td>"#);
    confirm(&app, &preview, &[]).await;
    let seun = person(&app, "seun.bello@cranbrook.example").await;
    assert_eq!(seun.0, "Seun Bello");
    assert_eq!(seun.3, "Oluwaseun Bello");
    assert_eq!(seun.4.as_deref(), Some("A-301"));
}

#[tokio::test]
async fn a_windows_1252_bromcom_export_is_converted_and_the_preview_says_so() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let preview = upload(&app, &[("file", "Staff.csv", fixture("bromcom_staff.csv"))]).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    preview
        .assert_contains("The file was saved as Windows-1252 text, not UTF-8: it was converted.");
    preview.assert_contains("Zoë Brontë");
    confirm(&app, &preview, &[]).await;
    let zoe = person(&app, "zoe@cranbrook.example").await;
    assert_eq!(
        (zoe.0.as_str(), zoe.5.as_deref()),
        ("Zoë Brontë", Some("support"))
    );
    let sian = person(&app, "sian@cranbrook.example").await;
    assert_eq!(
        (sian.0.as_str(), sian.4.as_deref(), sian.5.as_deref()),
        ("Siân Evans", Some("10042"), Some("teaching"))
    );
}

#[tokio::test]
async fn school_data_sync_users_are_joined_to_their_roles_and_students_left_out() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let preview = upload(
        &app,
        &[
            ("file", "users.csv", fixture("sds/users.csv")),
            ("roles", "roles.csv", fixture("sds/roles.csv")),
        ],
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    preview.assert_contains("1 person is in users.csv not staff (students, guardians, or no role in roles.csv): left out.");
    preview.assert_contains("<li>2 to add</li>");
    assert!(!preview.body.contains("Jack Smith"));
    confirm(&app, &preview, &[]).await;
    let michael = person(&app, "m.adeyemi@cranbrook.example").await;
    assert_eq!(
        (michael.4.as_deref(), michael.5.as_deref()),
        (Some("u-7001"), Some("teaching"))
    );
    let katie = person(&app, "k.ward@cranbrook.example").await;
    assert_eq!(katie.5.as_deref(), Some("support"));
    assert_eq!(
        app.count("select count(*) from users where email = '22smithj@cranbrook.example'")
            .await,
        0
    );
}

#[tokio::test]
async fn columns_without_an_email_are_refused_next_to_the_field_and_a_correction_is_remembered() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let preview = upload(&app, &[("file", "Staff.csv", fixture("sims_staff.csv"))]).await;
    let mut fields = hidden_fields(&preview.body, "confirm");
    for (name, value) in &mut fields {
        if name == "col_email" {
            value.clear();
        }
        // The SBM files everyone in this list as external people instead.
        if name == "default_group" {
            *value = "external".to_owned();
        }
    }
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for action in ["columns", "confirm"] {
        let refused = app
            .post(&format!("/s/cranbrook/people/import/{action}"), &form)
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{action}");
        refused.assert_contains(
            r##"<a href="#col_email">Choose the column with each person&#39;s email address</a>"##,
        );
        refused.assert_contains(r#"<p id="col_email-error" class="error-message"><span class="visually-hidden">Error:</span> Choose the column with each person&#39;s email address</p>"#);
    }
    assert_eq!(
        app.count("select count(*) from memberships where mis_id is not null")
            .await,
        0
    );
    assert_eq!(app.count("select count(*) from import_mappings").await, 0);

    // The SBM says the job title is not in the file: the next upload remembers that.
    for (name, value) in &mut fields {
        if name == "col_email" {
            *value = "Email".to_owned();
        }
        if name == "col_job_title" {
            value.clear();
        }
    }
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let checked = app.post("/s/cranbrook/people/import/columns", &form).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    confirm(&app, &checked, &[]).await;
    let (grp, title): (String, String) = sqlx::query_as(
        "select m.grp, m.job_title from memberships m join users u on u.id = m.user_id
         where u.email = 'robin@cranbrook.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((grp.as_str(), title.as_str()), ("external", ""));
    let next = upload(&app, &[("file", "Staff.csv", fixture("sims_staff.csv"))]).await;
    let job_title_select = next
        .body
        .split(r#"<select id="col_job_title""#)
        .nth(1)
        .unwrap()
        .split("</select>")
        .next()
        .unwrap();
    assert!(
        !job_title_select.contains(" selected"),
        "{job_title_select}"
    );
    next.assert_contains(
        r#"id="default_group-external" name="default_group" value="external" checked"#,
    );
}

#[tokio::test]
async fn import_staff_takes_a_workbook_a_mapping_and_a_group_on_the_command_line() {
    let (pool, url) = fresh_database().await;
    aup_portal::demo::seed(&pool, PASSWORD).await.unwrap();
    let dir = std::env::temp_dir().join(format!("mis-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let workbook = dir.join("arbor.xlsx");
    std::fs::write(&workbook, fixture("arbor_staff.xlsx")).unwrap();
    let mapping = dir.join("mapping.json");
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_aup-portal"))
            .args([
                "import-staff",
                workbook.to_str().unwrap(),
                "--school",
                "cranbrook",
            ])
            .args(extra)
            .env("DATABASE_URL", &url)
            .env_remove("AUP_DATA_DIR")
            .output()
            .unwrap()
    };
    std::fs::write(&mapping, r#"{"surname": "Surname"}"#).unwrap();
    let wrong = run(&["--mapping", mapping.to_str().unwrap()]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("the file has no column 'Surname'"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    std::fs::write(
        &mapping,
        r#"{"legal_forename": "Legal First Name", "surname": "Legal Last Name", "email": "Work Email", "mis_id": "Staff ID"}"#,
    )
    .unwrap();
    let args = [
        "--mapping",
        mapping.to_str().unwrap(),
        "--group",
        "volunteer",
    ];
    let dry = run(&[&args[..], &["--dry-run"]].concat());
    let dry_out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        dry_out.contains("line 4: add: Oluwaseun Bello <seun.bello@cranbrook.example>"),
        "{dry_out}"
    );
    assert!(
        dry_out.contains("line 6: not imported: the email address is missing"),
        "{dry_out}"
    );
    assert!(dry_out.contains("Dry run: nothing was changed."));
    let real = run(&args);
    let out = String::from_utf8_lossy(&real.stdout);
    assert!(
        out.contains("Added 2, changed 0, already up to date 0, marked as left 0, not imported 1."),
        "{out}"
    );
    let grp: String = sqlx::query_scalar(
        "select m.grp from memberships m join users u on u.id = m.user_id where u.email = 'h.clough@cranbrook.example'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(grp, "volunteer");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_staff_list_over_a_megabyte_is_previewed_and_one_over_the_limit_is_refused_with_a_message()
 {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    // 15,000 rows, about 1.4 MB: more than the portal's usual 1 MB body.
    let mut big = String::from("Legal Forename,Legal Surname,Email,Staff Code,Job Title\n");
    for n in 0..15_000 {
        big.push_str(&format!(
            "Person,Number {n},person.{n}@cranbrook.example,P{n:05},Teaching assistant\n"
        ));
    }
    assert!(big.len() > 1024 * 1024);
    let preview = upload(&app, &[("file", "Staff.csv", big.into_bytes())]).await;
    assert_eq!(preview.status, StatusCode::OK);
    preview.assert_contains("<li>15000 to add</li>");
    // Its forms carry the file back, URL-encoded.
    let fields = hidden_fields(&preview.body, "confirm");
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let again = app.post("/s/cranbrook/people/import/columns", &form).await;
    assert_eq!(again.status, StatusCode::OK);
    again.assert_contains("<li>15000 to add</li>");

    let huge = vec![b'a'; 6 * 1024 * 1024];
    let refused = upload(&app, &[("file", "Staff.csv", huge)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("The file is larger than 5 MB: upload the staff list alone");
    assert_eq!(
        app.count("select count(*) from users where email like 'person.%'")
            .await,
        0
    );
}
