use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test]
async fn the_home_page_lists_what_is_waiting_for_this_persons_group() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let home = app.visit("/").await;
    home.assert_contains("Read and sign Staff and Governors AUP");
    home.assert_contains("Read and sign Staff Acceptable Usage Policy");
    home.assert_contains("You have not signed anything yet");

    let governor = app.another();
    governor.sign_in(GOVERNOR).await;
    let home = governor.visit("/").await;
    home.assert_contains("Read and sign Staff and Governors AUP");
    assert!(
        !home.body.contains("Staff Acceptable Usage Policy"),
        "governors do not sign the staff-only AUP"
    );
}

#[tokio::test]
async fn the_sign_page_shows_the_form_prefilled_with_the_job_title_and_todays_date() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let page = app
        .get(&format!("/s/cranbrook/versions/{version}/sign"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains(r#"<input type="checkbox" id="ack-agree" name="ack" value="agree">"#);
    page.assert_contains(r#"<label for="full_name">Full name</label>"#);
    page.assert_contains(
        r#"name="role" type="text" autocomplete="organization-title" value="Class teacher""#,
    );
    let today = aup_portal::domain::render::long_date(aup_portal::clock::today_uk());
    page.assert_contains(&format!("<strong>Date:</strong> {today}"));
}

#[derive(sqlx::FromRow)]
struct StoredAgreement {
    full_name: String,
    role_stated: Option<String>,
    acknowledgements: serde_json::Value,
    content_sha256: String,
    ip: Option<String>,
    user_agent: Option<String>,
    method: String,
    signed_at: time::OffsetDateTime,
}

#[tokio::test]
async fn a_good_signature_is_stored_with_its_evidence_and_a_receipt() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let mut fields = cranbrook_signature(&app).await;
    fields.push(("ack", "wish".into()));
    fields[3].1 = "  sam   TAYLOR ".into(); // case and spacing aside, the account's name
    let done = app
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let receipt_path = done.location().expect("receipt").to_owned();

    let row: StoredAgreement = sqlx::query_as(
        "select p.full_name, p.role_stated, a.acknowledgements, a.content_sha256, host(p.ip) as ip,
                p.user_agent, a.method, a.signed_at
         from agreements a join agreement_personal p on p.agreement_id = a.id
         where a.version_id = $1",
    )
    .bind(version)
    .fetch_one(&app.pool)
    .await
    .expect("one agreement");
    assert_eq!(row.full_name, "sam   TAYLOR");
    assert_eq!(row.role_stated.as_deref(), Some("Class teacher"));
    assert_eq!(
        row.acknowledgements,
        serde_json::json!({"understand": true, "agree": true, "wish": true})
    );
    assert_eq!(
        row.content_sha256, fields[0].1,
        "the hash of the version on screen"
    );
    assert_eq!(row.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(row.user_agent.as_deref(), Some("aup-portal-tests/1.0"));
    assert_eq!(row.method, "online");
    assert!(
        (time::OffsetDateTime::now_utc() - row.signed_at)
            .whole_seconds()
            .abs()
            < 60
    );

    let receipt = app.get(&receipt_path).await;
    assert_eq!(receipt.status, StatusCode::OK);
    receipt.assert_contains("Policy signed");
    receipt.assert_contains("Staff and Governors AUP");
    receipt.assert_contains("2024-25");
    receipt.assert_contains("sam   TAYLOR");
    receipt.assert_contains(&fields[0].1);
    receipt.assert_contains("127.0.0.1");
    receipt.assert_contains("Ticked:</span> I wish to have an email/computer account");
    // The name typed is under "Signed by", not a second "Signature"; the evidence behind
    // the receipt is folded away under its own heading.
    receipt.assert_contains("<h2>Signed by</h2>");
    assert!(!receipt.body.contains("<h2>Signature</h2>"));
    receipt.assert_contains("<summary>Technical details</summary>");
    let folded = receipt
        .body
        .split("<summary>Technical details</summary>")
        .nth(1)
        .unwrap();
    assert!(folded.contains("Content fingerprint") && folded.contains("127.0.0.1"));

    let home = app.visit("/").await;
    home.assert_contains("View receipt");
    assert!(!home.body.contains("Read and sign Staff and Governors AUP"));
}

#[tokio::test]
async fn the_audit_log_shows_each_online_signature_once_with_its_signer() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let version = sign_cranbrook(&app).await;
    let agreement: Uuid = sqlx::query_scalar("select id from agreements")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // A signature stored before agreements became their own audit record also has an event.
    sqlx::query(
        "insert into audit_events (school_id, actor_user_id, action, subject)
         select school_id, (select id from users where email = $2), 'agreement_signed', id::text
         from agreements where id = $1",
    )
    .bind(agreement)
    .bind(STAFF)
    .execute(&app.pool)
    .await
    .unwrap();

    add_cranbrook_admin(&app).await;
    let admin = app.another();
    admin.sign_in(ADMIN).await;
    for path in [
        "/s/cranbrook/admin/audit",
        "/s/cranbrook/admin/audit?action=agreement_signed",
    ] {
        let log = admin.visit(path).await;
        assert_eq!(log.status, StatusCode::OK, "{path}");
        let row = format!(
            r#"<td data-label="Who">Sam Taylor</td><td data-label="What">Signed a policy online</td><td class="small" data-label="Details">{agreement}"#
        );
        assert_eq!(log.body.matches(&row).count(), 1, "{path}:\n{}", log.body);
        log.assert_contains(&format!("{version}"));
        log.assert_contains(r#"<option value="agreement_signed""#);
    }
    let sign_ins = admin.visit("/s/cranbrook/admin/audit?action=sign_in").await;
    sign_ins.assert_contains(r#"<td data-label="What">Signed in with a password</td>"#);
    assert!(!sign_ins.body.contains("Signed a policy online</td>"));
}

#[tokio::test]
async fn an_optional_statement_may_be_left_unticked_and_is_recorded_so() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&app).await;
    let done = app
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let ticks: serde_json::Value = sqlx::query_scalar("select acknowledgements from agreements")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(ticks["wish"], false);
    let receipt = app.get(done.location().unwrap()).await;
    receipt.assert_contains("Not ticked:</span> I wish to have an email/computer account");
}

async fn refused(app: &TestApp, fields: &[(&'static str, String)]) -> Page {
    let version = app.version_id(CRANBROOK).await;
    let page = app
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(fields),
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    page.assert_contains("There is a problem");
    assert_eq!(
        app.count("select count(*) from agreements").await,
        0,
        "nothing stored"
    );
    page
}

#[tokio::test]
async fn a_missing_required_tick_is_refused_next_to_the_statement() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let mut fields = cranbrook_signature(&app).await;
    fields.remove(2); // "I agree to abide by all the points above."
    let page = refused(&app, &fields).await;
    page.assert_contains(r##"<a href="#ack-agree">Tick “I agree to abide by all the points above.” to sign the policy</a>"##);
    page.assert_contains(r#"<p id="ack-agree-error" class="error-message">"#);
    // What the person entered is kept.
    page.assert_contains(r#"value="understand" checked"#);
    page.assert_contains(r#"value="Sam Taylor""#);
}

#[tokio::test]
async fn an_empty_name_is_refused() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let mut fields = cranbrook_signature(&app).await;
    fields[3].1 = "   ".into();
    let page = refused(&app, &fields).await;
    page.assert_contains(r#"<p id="full_name-error" class="error-message"><span class="visually-hidden">Error:</span> Enter your full name</p>"#);
}

#[tokio::test]
async fn a_name_that_is_not_the_accounts_is_refused() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let mut fields = cranbrook_signature(&app).await;
    fields[3].1 = "Samantha Tailor".into();
    let page = refused(&app, &fields).await;
    page.assert_contains("Enter your full name as your school has it: Sam Taylor");
}

#[tokio::test]
async fn an_empty_role_is_refused() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let mut fields = cranbrook_signature(&app).await;
    fields[4].1 = String::new();
    let page = refused(&app, &fields).await;
    page.assert_contains("Enter your role within the school");
}

#[tokio::test]
async fn signing_the_same_version_twice_is_impossible() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&app).await;
    let path = format!("/s/cranbrook/versions/{version}/sign");
    let first = app.post(&path, &as_form(&fields)).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let again = app.post(&path, &as_form(&fields)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    again.assert_contains("You have already signed this policy");
    // From a tab left open, even a form not filled in is answered "already signed".
    let mut blank = fields.clone();
    blank[3].1 = String::new();
    let stale = app.post(&path, &as_form(&blank)).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    stale.assert_contains("You have already signed this policy");
    let form = app.get(&path).await;
    form.assert_contains("You have already signed this policy");
    assert_eq!(app.count("select count(*) from agreements").await, 1);

    // The database itself refuses a second agreement for the same version.
    let duplicate = sqlx::query(
        "insert into agreements (school_id, membership_id, version_id, acknowledgements, content_sha256)
         select school_id, membership_id, version_id, acknowledgements, content_sha256 from agreements",
    )
    .execute(&app.pool)
    .await
    .expect_err("unique (membership_id, version_id)");
    assert!(
        duplicate
            .to_string()
            .contains("agreements_membership_version_key"),
        "{duplicate}"
    );
}

#[tokio::test]
async fn a_person_cannot_open_another_persons_agreement() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&app).await;
    let done = app
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await;
    let receipt_path = done.location().expect("receipt").to_owned();
    assert_eq!(app.get(&receipt_path).await.status, StatusCode::OK);

    let governor = app.another();
    governor.sign_in(GOVERNOR).await;
    let page = governor.get(&receipt_path).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("Sam Taylor"));
    let random = governor
        .get(&format!("/s/cranbrook/agreements/{}", Uuid::new_v4()))
        .await;
    assert_eq!(random.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_governor_can_neither_open_nor_sign_the_staff_only_policy() {
    let app = spawn_app().await;
    app.sign_in(GOVERNOR).await;
    let version = app.version_id(STAFF_AUP).await;
    let path = format!("/s/cranbrook/versions/{version}/sign");
    let page = app.get(&path).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    // A signature sent anyway, complete and right but for the audience, is refused too...
    let hash = app.content_hash(version).await;
    let form = [
        ("content_sha256", hash.as_str()),
        ("full_name", "Alex Morgan"),
    ];
    let sent = app.post(&path, &form).await;
    assert_eq!(sent.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("select count(*) from agreements").await, 0);
    // ...and accepted once governors are in the audience.
    sqlx::query("update policies set audience = '{staff,governor}' where name = $1")
        .bind(STAFF_AUP)
        .execute(&app.pool)
        .await
        .unwrap();
    let signed = app.post(&path, &form).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(app.count("select count(*) from agreements").await, 1);
}

#[tokio::test]
async fn a_sign_page_naming_no_version_asks_strangers_to_sign_in_and_is_not_found_for_members() {
    let app = spawn_app().await;
    let nonsense = "/s/cranbrook/versions/not-a-version/sign";
    let stranger = app.another();
    let asked = stranger.get(nonsense).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert_eq!(asked.location(), Some("/sign-in"));
    app.sign_in(STAFF).await;
    let unknown = format!("/s/cranbrook/versions/{}/sign", Uuid::new_v4());
    for path in [nonsense, &unknown] {
        assert_eq!(app.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_member_of_another_school_cannot_reach_this_schools_versions_or_agreements() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&app).await;
    let done = app
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await;
    let agreement = done
        .location()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    // Oakfield Academy, with a member of staff of its own.
    add_member(
        &app,
        "oakfield",
        "teacher@oakfield.example",
        "Robin Hale",
        "staff",
        "Teacher",
        "{signer}",
    )
    .await;
    let other = app.another();
    other.sign_in("teacher@oakfield.example").await;
    assert_eq!(other.visit("/").await.status, StatusCode::OK);
    for path in [
        format!("/s/oakfield/versions/{version}/sign"),
        format!("/s/oakfield/agreements/{agreement}"),
        format!("/s/cranbrook/versions/{version}/sign"),
        format!("/s/cranbrook/agreements/{agreement}"),
        "/s/cranbrook/".to_owned(),
    ] {
        let page = other.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.body.contains("Sam Taylor"), "{path}");
    }
    let forged = other
        .post(
            &format!("/s/oakfield/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("select count(*) from agreements").await, 1);
}

#[tokio::test]
async fn a_person_sees_nothing_of_a_school_they_do_not_belong_to() {
    let app = spawn_app().await;
    sqlx::query("insert into schools (slug, name, require_two_factor) values ('oakfield', 'Oakfield Academy', false)")
        .execute(&app.pool)
        .await
        .unwrap();
    app.sign_in(STAFF).await;
    assert_eq!(app.get("/s/oakfield/").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/s/no-such-school/").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_policy_without_acknowledgements_or_role_is_signed_with_name_and_date() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let version = app.version_id(STAFF_AUP).await;
    let hash = app.content_hash(version).await;
    let path = format!("/s/cranbrook/versions/{version}/sign");
    let form = app.get(&path).await;
    assert!(
        !form.body.contains(r#"name="role""#),
        "the staff AUP's signature block has no role line"
    );
    let done = app
        .post(
            &path,
            &[
                ("content_sha256", hash.as_str()),
                ("full_name", "Sam Taylor"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let role: Option<String> = sqlx::query_scalar("select role_stated from agreement_personal")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(role, None);
}

#[tokio::test]
async fn many_people_signing_at_once_each_get_one_agreement_receipt_and_seal() {
    let app = spawn_app().await;
    let version = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&app).await;
    let mut people = vec![];
    for n in 0..24 {
        let email = format!("colleague{n}@cranbrook.example");
        let name = format!("Colleague Number{n}");
        add_member(
            &app,
            "cranbrook",
            &email,
            &name,
            "staff",
            "Teacher",
            "{signer}",
        )
        .await;
        let person = app.another();
        person.sign_in(&email).await;
        let mut form = fields.clone();
        form[3].1 = name;
        people.push((person, form));
    }
    let path = format!("/s/cranbrook/versions/{version}/sign");
    // Everyone presses "Sign" at once; the first person presses it twice, in two tabs.
    let forms: Vec<Vec<(&str, &str)>> = people.iter().map(|(_, form)| as_form(form)).collect();
    let answers = futures::future::join_all(
        people
            .iter()
            .zip(&forms)
            .map(|((person, _), form)| person.post(&path, form))
            .chain([people[0].0.post(&path, &forms[0])]),
    )
    .await;
    let mut statuses: Vec<StatusCode> = answers.iter().map(|a| a.status).collect();
    statuses.sort();
    let mut expected = vec![StatusCode::SEE_OTHER; 24];
    expected.push(StatusCode::CONFLICT);
    assert_eq!(statuses, expected);
    // Each receipt is its signer's own: the first person's opens, the others' do not exist
    // for them.
    let mut opened = vec![];
    for answer in answers.iter().filter(|a| a.status == StatusCode::SEE_OTHER) {
        let receipt = people[0].0.get(answer.location().expect("receipt")).await;
        opened.push(receipt.status);
    }
    opened.sort();
    let mut expected = vec![StatusCode::OK];
    expected.extend([StatusCode::NOT_FOUND; 23]);
    assert_eq!(opened, expected);

    for sql in [
        "select count(*) from agreements",
        "select count(distinct membership_id) from agreements",
        "select count(*) from outbox where dedupe_key like 'receipt:%'",
        "select count(*) from seal_queue where kind = 'agreement'",
    ] {
        assert_eq!(app.count(sql).await, 24, "{sql}");
    }
    // Each receipt email goes to the person who signed, and links to their own agreement.
    assert_eq!(
        app.count(
            "select count(*) from outbox o join agreements a on o.dedupe_key = 'receipt:' || a.id
             join memberships m on m.id = a.membership_id join users u on u.id = m.user_id
             where o.to_address = u.email and o.body_text like '%' || a.id || '%'"
        )
        .await,
        24
    );
}

/// A new member of staff at Cranbrook: their membership's id.
async fn new_signer(app: &TestApp, email: &str) -> Uuid {
    add_member(
        app,
        "cranbrook",
        email,
        "A Colleague",
        "staff",
        "Teacher",
        "{signer}",
    )
    .await;
    sqlx::query_scalar(
        "select m.id from memberships m join users u on u.id = m.user_id where u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .expect("member")
}

#[tokio::test]
async fn an_agreement_the_database_refuses_does_not_fail_the_others_written_with_it() {
    use aup_portal::store::agreements::{NewAgreement, Writer};

    let app = spawn_app().await;
    let version = app.version_id(CRANBROOK).await;
    let (school_id, sha): (Uuid, String) =
        sqlx::query_as("select school_id, content_sha256 from policy_versions where id = $1")
            .bind(version)
            .fetch_one(&app.pool)
            .await
            .expect("version");
    let mut members = vec![];
    for n in 0..12 {
        let email = format!("colleague{n}@cranbrook.example");
        let membership_id = new_signer(&app, &email).await;
        members.push((membership_id, email));
    }
    let agreement = |membership_id: Uuid, email: &str, full_name: &str| NewAgreement {
        id: Uuid::new_v4(),
        school_id,
        membership_id,
        version_id: version,
        full_name: full_name.to_owned(),
        role_stated: Some("Teacher".into()),
        acknowledgements: serde_json::json!({"understand": true, "agree": true}),
        content_sha256: sha.clone(),
        ip: "127.0.0.1".parse().expect("ip"),
        user_agent: None,
        receipt: aup_portal::mail::OutgoingEmail {
            to: email.to_owned(),
            subject: "Your receipt".into(),
            text: "Signed.".into(),
            html: "<p>Signed.</p>".into(),
        },
    };
    let writer = Writer::start(app.pool.clone());
    // The sixth is longer than the database allows a name to be.
    let too_long = "x".repeat(1000);
    let results = futures::future::join_all(members.iter().enumerate().map(
        |(n, (membership_id, email))| {
            let name = if n == 5 {
                too_long.as_str()
            } else {
                "A Colleague"
            };
            writer.write(agreement(*membership_id, email, name))
        },
    ))
    .await;
    for (n, result) in results.iter().enumerate() {
        if n == 5 {
            assert!(result.is_err(), "the overlong name is refused");
        } else {
            assert!(matches!(result, Ok(true)), "agreement {n}: {result:?}");
        }
    }
    assert_eq!(app.count("select count(*) from agreements").await, 11);
    assert_eq!(
        app.count("select count(*) from outbox where dedupe_key like 'receipt:%'")
            .await,
        11
    );

    // Once stored, the same person and version again is not stored twice, and says so.
    let again = writer.write(agreement(members[0].0, &members[0].1, "A Colleague"));
    assert!(matches!(again.await, Ok(false)));
    assert_eq!(app.count("select count(*) from agreements").await, 11);

    // Agreements handed in together are stored in one transaction.
    let mut later = vec![];
    for n in 0..6 {
        let email = format!("later{n}@cranbrook.example");
        let membership_id = new_signer(&app, &email).await;
        later.push(agreement(membership_id, &email, "A Colleague"));
    }
    let stored = futures::future::join_all(later.into_iter().map(|a| writer.write(a))).await;
    assert!(stored.iter().all(|s| matches!(s, Ok(true))));
    assert_eq!(
        app.count(
            "select count(distinct a.xmin::text) from agreements a join memberships m on m.id = a.membership_id
             join users u on u.id = m.user_id where u.email like 'later%'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_policy_changed_behind_the_portals_back_shows_on_the_next_sign_page() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let path = format!("/s/cranbrook/versions/{version}/sign");
    // The first page keeps the policy's facts in memory; the second is served with them.
    for _ in 0..2 {
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_contains("<title>Sign Staff and Governors AUP");
    }
    // Another portal on the same database, or someone at a SQL prompt, changes the policy.
    let change = |sql: &'static str| {
        let pool = app.pool.clone();
        async move { sqlx::query(sql).execute(&pool).await.unwrap() }
    };
    change("update policies set name = 'Staff AUP' where name = 'Staff and Governors AUP'").await;
    app.get(&path)
        .await
        .assert_contains("<title>Sign Staff AUP");
    change("update policies set audience = '{governor}' where name = 'Staff AUP'").await;
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    change("update policies set audience = '{staff,governor}' where name = 'Staff AUP'").await;
    assert_eq!(app.get(&path).await.status, StatusCode::OK);
}
