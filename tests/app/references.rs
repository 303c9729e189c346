//! Receipt references: every agreement gets a short one, such as CRA-2026-000123, from the
//! school's code (fixed when the school is created, so a rename leaves it) and a number per
//! school and year; the receipt page, its email and the evidence all show it.

use aup_portal::mail::sender;
use time::OffsetDateTime;

use crate::helpers::*;

#[tokio::test]
async fn each_agreement_has_a_reference_from_the_schools_code_and_a_count_per_year() {
    let sink = SmtpSink::start();
    let app = spawn_app().await;
    let staff = app.another();
    staff.sign_in(STAFF).await;
    sign_cranbrook(&staff).await;
    let governor = app.another();
    governor.sign_in(GOVERNOR).await;
    let mut fields = cranbrook_signature(&governor).await;
    fields[3].1 = "Alex Morgan".into();
    let version = app.version_id(CRANBROOK).await;
    let signed = governor
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(
        signed.status,
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        signed.body
    );

    let year = aup_portal::clock::today_uk().year();
    let references: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("select id, reference from agreements order by recorded_at, id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let numbers: Vec<&str> = references.iter().map(|(_, r)| r.as_str()).collect();
    let first = format!("CRA-{year}-000001");
    let second = format!("CRA-{year}-000002");
    assert_eq!(numbers, [first.as_str(), second.as_str()]);

    // The receipt page and the receipt email say it.
    let (agreement, reference) = &references[0];
    let page = staff
        .get(&format!("/s/cranbrook/agreements/{agreement}"))
        .await;
    page.assert_contains(&format!(
        r#"<strong class="reference">{reference}</strong>"#
    ));
    sender::send_due(
        &app.pool,
        &sink.mailer(&app.address),
        OffsetDateTime::now_utc(),
        100,
    )
    .await
    .unwrap();
    let receipt = sink
        .messages()
        .into_iter()
        .find(|m| m.rcpt_tos[0] == STAFF)
        .expect("the receipt email");
    let text = receipt.text.unwrap_or_default();
    assert!(
        text.contains(&format!("Receipt reference: {reference}")),
        "{text}"
    );
    assert!(!text.contains("AUP-RECEIPT-REFERENCE"), "{text}");
    assert!(
        receipt
            .html
            .unwrap_or_default()
            .contains(reference.as_str()),
        "the HTML part too"
    );

    // A rename leaves the code, and so every reference; the code itself cannot change.
    sqlx::query("update schools set name = 'Cranbrook Academy' where slug = 'cranbrook'")
        .execute(&app.pool)
        .await
        .unwrap();
    let refused = sqlx::query("update schools set code = 'NEW' where slug = 'cranbrook'")
        .execute(&app.pool)
        .await
        .expect_err("a school's code is fixed");
    assert!(
        refused.to_string().contains("fixed when it is created"),
        "{refused}"
    );
    // A new school with the same letters gets a code of its own.
    let code: String = sqlx::query_scalar(
        "insert into schools (slug, name) values ('cranford', 'Cranford Infants') returning code",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(code, "CRA2");

    // The evidence shows it, on the page and in the spreadsheet.
    let sbm = app.another();
    sbm.sign_in("sbm@cranbrook.example").await;
    let membership = membership(&app, STAFF).await;
    let evidence = sbm
        .get(&format!("/s/cranbrook/people/{membership}/evidence"))
        .await;
    evidence.assert_contains(reference);
    let csv = sbm
        .get(&format!("/s/cranbrook/people/{membership}/evidence.csv"))
        .await;
    csv.assert_contains(reference);
}
