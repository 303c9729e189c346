//! A whole school year in real browsers, as the people in it use the portal.

use aup_portal::{jobs, mail::sender};
use fantoccini::key::Key;
use serde_json::json;
use time::{OffsetDateTime, macros::date};

use super::{Browser, DESKTOP, PHONE, editor::item, run};
use crate::helpers::*;

const SCHOOL: &str = "oakfield";
const DPO: &str = "dpo@oakfield.example";
const SBM: &str = "sbm@oakfield.example";
const SAM: &str = "sam@oakfield.example";
const ALEX: &str = "alex@oakfield.example";
const POLICY: &str = "Staff and Governors AUP";
const NEW_STATEMENT: &str =
    "I will report any email that asks for my password to the school office straight away.";

async fn oakfield(app: &TestApp) {
    for (email, name, grp, job, roles) in [
        (
            DPO,
            "Dana Price",
            "external",
            "Data protection officer",
            "{dpo}",
        ),
        (
            SBM,
            "Bea Morgan",
            "staff",
            "School business manager",
            "{signer,sbm}",
        ),
        (SAM, "Sam Patel", "staff", "Class teacher", "{signer}"),
        (ALEX, "Alex Reid", "governor", "Parent governor", "{signer}"),
    ] {
        add_member(app, SCHOOL, email, name, grp, job, roles).await;
    }
}

/// Signs in with the keyboard alone: Tab to each field, the address and password typed, Tab
/// to the button and Enter.
async fn sign_in_with_keyboard(person: &Browser, email: &str) {
    person.goto("/sign-in").await;
    person.tab_to("email").await;
    person.type_keys(email).await;
    person.tab_to("password").await;
    person.type_keys(PASSWORD).await;
    person.tab_to("button:Sign in").await;
    person.enter().await;
}

/// Signs the policy with the keyboard alone: Tab to each control, Space to tick, the name
/// typed (the role is filled in already with their job title), then Tab to the button and
/// Enter. Every control reached must show where the focus is.
async fn sign_with_keyboard(person: &Browser, full_name: &str, tick: &[&str]) {
    let mut ticked = vec![];
    let mut typed = false;
    let mut sent = false;
    for _ in 0..400 {
        person.press(Key::Tab).await;
        let (id, visible) = person.focused().await;
        assert!(visible, "the focus on {id:?} cannot be seen");
        if tick.contains(&id.as_str()) {
            person.press(Key::Space).await;
            ticked.push(id);
        } else if id == "full_name" {
            person.type_keys(full_name).await;
            typed = true;
        } else if id == "button:Sign the policy" {
            person.enter().await;
            sent = true;
            break;
        }
    }
    assert_eq!(ticked, tick, "Tab reaches each statement to tick");
    assert!(typed, "Tab reaches the name field");
    assert!(sent, "Tab reaches the button");
    person.expect_text("Policy signed").await;
}

async fn sign_with_mouse(person: &Browser, full_name: &str) {
    person.click_link(&format!("Read and sign {POLICY}")).await;
    person.tick("ack-understand").await;
    person.tick("ack-agree").await;
    person.fill("full_name", full_name).await;
    person.click_button("Sign the policy").await;
    person.expect_text("Policy signed").await;
}

/// Types `date` (day, month, year) into the three boxes of the date input `field`.
async fn fill_date(browser: &Browser, field: &str, date: [&str; 3]) {
    for (part, value) in ["day", "month", "year"].into_iter().zip(date) {
        browser.fill(&format!("{field}-{part}"), value).await;
    }
}

/// `reviewed` and `next_review` as (day, month, year), typed into the three boxes of each;
/// published from the preview, with the date to sign by if there is one.
async fn edit_and_publish(
    dpo: &Browser,
    label: &str,
    reviewed: [&str; 3],
    next_review: [&str; 3],
    sign_by: Option<[&str; 3]>,
) {
    dpo.fill("label", label).await;
    fill_date(dpo, "reviewed_on", reviewed).await;
    fill_date(dpo, "next_review_due", next_review).await;
    dpo.click_button("Save and preview").await;
    dpo.expect_text("This is the page signers will see").await;
    dpo.click_link(&format!("Publish version {label}")).await;
    dpo.expect_text("3 people must sign it").await;
    if let Some(date) = sign_by {
        fill_date(dpo, "sign_by", date).await;
    }
    dpo.click_button(&format!("Publish version {label}")).await;
    dpo.expect_text(&format!("Version {label} is published"))
        .await;
}

/// The date `days` from today, as the three boxes of a date input.
fn in_days(days: i64) -> [String; 3] {
    let date = aup_portal::clock::today_uk() + time::Duration::days(days);
    [
        date.day().to_string(),
        u8::from(date.month()).to_string(),
        date.year().to_string(),
    ]
}

/// The daily review job on `day`, then the mail it queued, sent.
async fn reviews_on(app: &TestApp, sink: &SmtpSink, day: time::Date) {
    jobs::reviews(&app.pool, day, &app.address, false)
        .await
        .unwrap();
    sender::send_due(
        &app.pool,
        &sink.mailer(&app.address),
        OffsetDateTime::now_utc(),
        100,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_school_year_in_the_browser() {
    let app = spawn_app().await;
    oakfield(&app).await;
    let sink = SmtpSink::start();
    let base = app.address.clone();
    run("a_school_year_in_the_browser", move |journey| async move {
        // September: the DPO imports the policy from its text and publishes it.
        let dpo = journey.open("dpo", &base, DESKTOP).await;
        dpo.sign_in(DPO).await;
        dpo.click_link("Manage policies").await;
        dpo.click_link("Create a policy").await;
        dpo.fill("name", POLICY).await;
        dpo.tick("audience-staff").await;
        dpo.tick("audience-governor").await;
        dpo.click_button("Create the policy").await;
        dpo.click_link("Import from the text of a document").await;
        dpo.paste(
            "text",
            include_str!("../../samples/cranbrook-staff-governors-aup.txt"),
        )
        .await;
        dpo.click_button("Import into a draft").await;
        dpo.expect_text("The text has been imported into this draft")
            .await;
        edit_and_publish(
            &dpo,
            "2026-27",
            ["1", "9", "2026"],
            ["1", "9", "2027"],
            None,
        )
        .await;
        // Then sets a date to sign it by, after publishing.
        dpo.click_link("Set a date to sign by").await;
        fill_date(&dpo, "sign_by", ["1", "1", "2026"]).await;
        dpo.click_button("Save the date").await;
        dpo.expect_text("The date to sign by must be in the future")
            .await;
        let [day, month, year] = in_days(30);
        fill_date(&dpo, "sign_by", [&day, &month, &year]).await;
        dpo.click_button("Save the date").await;
        dpo.expect_text("The date to sign by is now").await;

        // A member of staff signs on a phone, with the keyboard alone.
        let sam = journey.open("sam-phone", &base, PHONE).await;
        sam.goto("/sign-in").await;
        sam.fill("email", SAM).await;
        sam.fill("password", "not my password").await;
        sam.click_button("Sign in").await;
        sam.expect_text("Enter the email address and password of your account")
            .await;
        sign_in_with_keyboard(&sam, SAM).await;
        sam.tab_to(&format!("a:Read and sign {POLICY}")).await;
        sam.enter().await;
        sam.expect_text("Cyber security training for school staff")
            .await;
        sign_with_keyboard(&sam, "Sam Patel", &["ack-understand", "ack-agree"]).await;

        // A governor signs on a desktop, with the mouse; so does the SBM.
        let alex = journey.open("alex-desktop", &base, DESKTOP).await;
        alex.sign_in(ALEX).await;
        alex.click_link(&format!("Read and sign {POLICY}")).await;
        alex.click_button("Sign the policy").await;
        alex.expect_text("Enter your full name").await;
        alex.click_link("Your policies").await;
        sign_with_mouse(&alex, "Alex Reid").await;
        let sbm = journey.open("sbm", &base, DESKTOP).await;
        sbm.sign_in(SBM).await;
        sign_with_mouse(&sbm, "Bea Morgan").await;

        // The SBM sees everyone has signed.
        sbm.click_link("Who has signed").await;
        sbm.click_link(POLICY).await;
        sbm.expect_text("100%").await;
        sbm.expect_text("3 of 3 people").await;
        sbm.click_link("People").await;
        sbm.expect_text("Sam Patel").await;

        // Next September: the DPO publishes next year's version with one new statement and
        // one rewritten.
        dpo.click_link("Manage policies").await;
        dpo.click_link(POLICY).await;
        dpo.click_button("Start next year's version from 2026-27")
            .await;
        // In the statement editor: a new statement after the one on passwords, and the
        // rule on their length rewritten.
        let (_, name) = item(&dpo, "I will not reveal my password(s) to anyone").await;
        dpo.click_button(&format!("Add a statement after {}", name.to_lowercase()))
            .await;
        dpo.type_keys(NEW_STATEMENT).await;
        let (rule, _) = item(&dpo, "Passwords will be of at least").await;
        let text = dpo
            .script(&format!("return document.getElementById('{rule}').value"))
            .await;
        let text = text.as_str().unwrap_or_default();
        dpo.paste(
            &rule,
            &text.replace("preferably 15 characters", "preferably 16 characters"),
        )
        .await;
        let [day, month, year] = in_days(21);
        edit_and_publish(
            &dpo,
            "2027-28",
            ["1", "9", "2027"],
            ["1", "September", "2028"],
            Some([&day, &month, &year]),
        )
        .await;
        dpo.click_link("What changed in 2027-28").await;
        dpo.expect_text(NEW_STATEMENT).await;
        dpo.goto(&format!("/s/{SCHOOL}/policies")).await;
        dpo.click_link(POLICY).await;
        dpo.click_link("History of this policy").await;

        // The SBM's dashboard for the new version starts again from nobody.
        sbm.goto(&format!("/s/{SCHOOL}/compliance")).await;
        sbm.click_link(POLICY).await;
        sbm.expect_text("version 2027-28").await;
        sbm.expect_text("0 of 3 people").await;
        sbm.expect_text("Everyone is asked to sign it by").await;

        // Sam sees what changed, and by when, and signs again.
        sam.goto(&format!("/s/{SCHOOL}/")).await;
        sam.expect_text("Sign it by").await;
        sam.click_link(&format!("Read and sign {POLICY}")).await;
        sam.expect_text("What has changed since you signed 2026-27")
            .await;
        // As the phone shows them: the rewritten statement before and after, not marked inline.
        let changes = sam
            .script(
                "return [...document.querySelectorAll('.changes li')]
                   .map(e => e.innerText.replace(/\\s+/g, ' ').trim())",
            )
            .await;
        let rule = "Passwords will be of at least 8 characters and preferably";
        let rest = "characters. comprising small letters, capital letters, numbers and symbols";
        assert_eq!(
            changes,
            json!([
                format!("New statement: {NEW_STATEMENT}"),
                format!("Changed statement: Before: {rule} 15 {rest} After: {rule} 16 {rest}"),
                "Changed the date of the last review: from 1 September 2026 to 1 September 2027",
                "Changed the date of the next review: from 1 September 2027 to 1 September 2028",
            ])
        );
        sign_with_keyboard(&sam, "Sam Patel", &["ack-understand", "ack-agree"]).await;
        sam.goto(&format!("/s/{SCHOOL}/")).await;
        sam.click_link(&format!("View receipt for {POLICY} 2027-28"))
            .await;
        sam.expect_text("Sam Patel").await;

        let visited = journey.visited.lock().unwrap().clone();
        assert!(visited.len() >= 16, "pages checked: {visited:#?}");
    })
    .await;

    // The DPO and the SBM hear the review is overdue on the day after it was due, and not
    // before. (A heads-up 30 days ahead is a separate, earlier email.)
    let agreements = app
        .count("select count(*) from agreements a join schools s on s.id = a.school_id where s.slug = 'oakfield'")
        .await;
    assert_eq!(
        agreements, 4,
        "three signatures for 2026-27, one so far for 2027-28"
    );
    reviews_on(&app, &sink, date!(2028 - 09 - 01)).await;
    let is_overdue = |m: &Delivered| {
        m.subject.starts_with("Oakfield Academy") && m.subject.contains("is overdue")
    };
    assert!(
        !sink.messages().iter().any(is_overdue),
        "not overdue on the day it is due"
    );
    reviews_on(&app, &sink, date!(2028 - 09 - 02)).await;
    let mut told: Vec<String> = sink
        .messages()
        .into_iter()
        .filter(is_overdue)
        .inspect(|m| {
            assert_eq!(
                m.subject,
                "Oakfield Academy: the review of the Staff and Governors AUP is overdue (due 1 September 2028)"
            );
        })
        .flat_map(|m| m.rcpt_tos)
        .collect();
    told.sort();
    assert_eq!(told, [DPO, SBM]);
}
