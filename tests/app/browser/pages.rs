//! Every kind of page, in a real browser, checked like the journeys' (axe-core, 320 px): the
//! account and its second step, the code page, refusals and missing pages, the SBM's people
//! pages and paper form, the admin's pages; and the receipt, printed.

use totp_rs::{Builder, Secret};

use super::{DESKTOP, PHONE, run};
use crate::helpers::*;

const SBM: &str = "sbm@cranbrook.example";

/// The code an authenticator app with this key shows now.
fn code_now(key: &str) -> String {
    let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    Builder::new()
        .with_secret(Secret::try_from_base32(key).expect("a base32 key"))
        .build()
        .expect("TOTP")
        .generate(now)
        .to_string()
}

#[tokio::test]
async fn every_kind_of_page_in_the_browser() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    let alex = membership(&app, GOVERNOR).await;
    let sam_id = membership(&app, STAFF).await;
    let priya = membership(&app, SBM).await;
    // A cook with no email that works, who has never set a password.
    sqlx::query(
        "with u as (insert into users (email, full_name, signing_name) values ('cook@cranbrook.example', 'Jo Baker', 'Jo Baker') returning id)
         insert into memberships (user_id, school_id, grp, job_title) select u.id, s.id, 'staff', 'Cook' from u, schools s where s.slug = 'cranbrook'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let cook = membership(&app, "cook@cranbrook.example").await;
    let base = app.address.clone();
    let app_pool = app.pool.clone();
    run(
        "every_kind_of_page_in_the_browser",
        move |journey| async move {
            // Sam forgets their password, remembers it, signs and prints the receipt.
            let sam = journey.open("sam-phone", &base, PHONE).await;
            sam.goto("/sign-in").await;
            sam.click_link("I have forgotten my password").await;
            sam.sign_in(STAFF).await;
            sam.click_link(&format!("Read and sign {CRANBROOK}")).await;
            // The counting counts: the policy itself takes several pages.
            let policy_pages = sam.printed_pages().await;
            assert!(policy_pages > 1, "{policy_pages}");
            sam.tick("ack-understand").await;
            sam.tick("ack-agree").await;
            sam.fill("full_name", "Sam Taylor").await;
            sam.click_button("Sign the policy").await;
            sam.expect_text("Policy signed").await;
            assert_eq!(
                sam.printed_pages().await,
                1,
                "the receipt prints on one A4 page"
            );
            // The policy again, from the receipt, and the library.
            sam.click_link("Read the policy you signed").await;
            sam.expect_text("You signed this version on").await;
            sam.click_link("Back to the policy library").await;
            sam.expect_text("Every policy for staff at the school")
                .await;

            // The notices at the foot of every page.
            sam.click_link("Privacy notice").await;
            sam.expect_text("is the data controller").await;
            sam.click_link("Accessibility statement").await;

            // Their account, and a second step turned on.
            sam.goto("/account").await;
            sam.click_link("Change your password").await;
            sam.goto("/account").await;
            sam.click_link("Change your email address").await;
            sam.goto("/account").await;
            sam.click_link("Set up an authenticator app").await;
            let key = sam
                .script("return document.querySelector('strong.hash').textContent")
                .await;
            sam.fill("current", PASSWORD).await;
            sam.fill("code", &code_now(key.as_str().unwrap_or_default()))
                .await;
            sam.click_button("Turn on the second step").await;
            sam.expect_text("Your recovery codes").await;
            let recovery = sam
                .script("return document.querySelector('.codes li').textContent")
                .await;

            // On another device the code page asks for the second step.
            let again = journey.open("sam-laptop", &base, DESKTOP).await;
            again.sign_in(STAFF).await;
            again.expect_text("Enter your code").await;
            again.fill("code", "12").await;
            again.click_button("Continue").await;
            again.expect_text("There is a problem").await;
            again
                .fill("code", recovery.as_str().unwrap_or_default())
                .await;
            again.click_button("Continue").await;
            // A page not for them, and one that does not exist.
            again.goto("/s/cranbrook/people").await;
            again.expect_text("You cannot use this page").await;
            again.goto("/s/cranbrook/no-such-page").await;
            again.expect_text("Page not found").await;

            // The SBM's people pages and the paper form.
            let sbm = journey.open("sbm", &base, DESKTOP).await;
            sbm.sign_in(SBM).await;
            sbm.goto("/s/cranbrook/people").await;
            sbm.click_link("Alex Morgan").await;
            sbm.goto(&format!("/s/cranbrook/people/{alex}/edit")).await;
            sbm.goto(&format!("/s/cranbrook/people/{alex}/paper")).await;
            // Someone owing two policies: the paper form's first step is choosing one.
            sbm.goto(&format!("/s/cranbrook/people/{priya}/paper")).await;
            sbm.expect_text("Which policy did Priya Shah sign on paper?").await;
            sbm.click_button("Continue").await;
            sbm.expect_text("The date written on the form").await;
            sbm.goto(&format!("/s/cranbrook/people/{sam_id}/evidence"))
                .await;
            sbm.expect_text("Sam Taylor").await;
            sbm.goto("/s/cranbrook/people/new").await;
            sbm.click_button("Add the person").await;
            sbm.expect_text("There is a problem").await;
            sbm.goto("/s/cranbrook/people/import").await;
            // The import's preview of an MIS export: its column choices, counts and problems.
            let file = sbm
                .client
                .find(fantoccini::Locator::Id("file"))
                .await
                .expect("the file field");
            file.send_keys(&format!(
                "{}/tests/fixtures/mis/sims_staff.csv",
                env!("CARGO_MANIFEST_DIR")
            ))
            .await
            .expect("choose the file");
            sbm.click_button("Check the file").await;
            sbm.expect_text("Which column holds what").await;
            // Leaving out the email column: the columns open, with the error next to it.
            sbm.client
                .find(fantoccini::Locator::Css("main details summary"))
                .await
                .expect("the columns")
                .click()
                .await
                .expect("open the columns");
            sbm.client
                .find(fantoccini::Locator::Id("col_email"))
                .await
                .expect("the email column")
                .select_by_value("")
                .await
                .expect("choose none");
            sbm.click_button("Check again with these columns").await;
            sbm.expect_text("Choose the column with each person's email address")
                .await;

            // The admin's pages.
            let admin = journey.open("admin", &base, PHONE).await;
            admin.sign_in(ADMIN).await;
            // The school's first admin is guided by a checklist.
            admin.goto("/s/cranbrook/").await;
            admin.expect_text("Getting started").await;
            // On a phone the sections fold behind a menu button, and the page shown is marked.
            let shown = |text: &'static str| {
                let admin = &admin;
                async move {
                    admin
                        .script(&format!(
                            "return [...document.querySelectorAll('header a')]
                               .filter(a => a.textContent === '{text}' && a.checkVisibility())
                               .map(a => a.getAttribute('aria-current'));"
                        ))
                        .await
                }
            };
            assert_eq!(shown("Audit log").await, serde_json::json!([]));
            admin.open_menu().await;
            assert_eq!(shown("Audit log").await, serde_json::json!([null]));
            admin.click_link("Audit log").await;
            assert_eq!(shown("Audit log").await, serde_json::json!([]));
            admin.open_menu().await;
            assert_eq!(shown("Audit log").await, serde_json::json!(["page"]));
            // An invitation handed over in person, its long link wrapped on a phone.
            admin
                .goto(&format!("/s/cranbrook/people/{cook}/hand-over"))
                .await;
            admin.click_button("Make the link").await;
            admin.expect_text("Invitation for Jo Baker").await;
            admin.goto("/s/cranbrook/admin/mail").await;
            admin.goto("/s/cranbrook/admin/audit").await;
            admin.goto("/s/cranbrook/admin/settings").await;
            // The school's colour must carry white text; its crest shows in the top bar.
            admin.fill("colour", "#ffdd00").await;
            admin.click_button("Save how the school is shown").await;
            admin.expect_text("White text on #ffdd00 has a contrast of only 1.3 to 1").await;
            admin.fill("colour", "#0b6e4f").await;
            admin
                .choose_file(
                    "crest",
                    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/look/crest.png"),
                )
                .await;
            admin.click_button("Save how the school is shown").await;
            admin.expect_text("The settings have been saved").await;
            let header = admin
                .script(
                    "const crest = document.querySelector('header img.crest'); \
                     return [getComputedStyle(document.querySelector('.site-header')).backgroundColor, \
                             crest.complete && crest.naturalWidth];",
                )
                .await;
            assert_eq!(header, serde_json::json!(["rgb(11, 110, 79)", 48]));
            admin
                .goto(&format!("/s/cranbrook/people/{alex}/email"))
                .await;

            // Chasing goes through a check page with the count and the email; nobody ticked
            // is an error next to the list; after sending, the result is in view.
            sbm.goto("/s/cranbrook/compliance").await;
            sbm.click_link(CRANBROOK).await;
            sbm.click_button("Remind selected").await;
            sbm.expect_text("Select the people to remind").await;
            sbm.tick("who").await;
            sbm.click_button("Remind selected").await;
            sbm.expect_text("Remind 1 person to sign?").await;
            sbm.expect_text("This is a reminder that you have not yet signed")
                .await;
            sbm.click_button("Queue 1 reminder").await;
            sbm.expect_text("1 reminder is queued").await;
            let in_view = sbm
                .script(
                    "const r = document.querySelector('.notice').getBoundingClientRect(); \
                     return r.top >= 0 && r.bottom <= window.innerHeight;",
                )
                .await;
            assert_eq!(
                in_view,
                serde_json::json!(true),
                "the result notice is in view"
            );

            // Alex leaves: the date is asked for, and required.
            sbm.goto("/s/cranbrook/people").await;
            sbm.click_link("Alex Morgan").await;
            sbm.click_link("Mark as left").await;
            sbm.click_button("Mark as left").await;
            sbm.expect_text("Enter the leaving date").await;
            sbm.fill("left_on-day", "31").await;
            sbm.fill("left_on-month", "8").await;
            sbm.fill("left_on-year", "2026").await;
            sbm.click_button("Mark as left").await;
            sbm.expect_text("The person is marked as having left").await;

            // Several leave at once from the people list, through a check page with the date.
            sbm.goto("/s/cranbrook/people").await;
            sbm.click_button("Mark selected as left").await;
            sbm.expect_text("Select the people who have left").await;
            sbm.tick("who").await;
            sbm.click_button("Mark selected as left").await;
            sbm.expect_text("Mark 1 person as left").await;
            sbm.fill("left_on-day", "31").await;
            sbm.fill("left_on-month", "8").await;
            sbm.fill("left_on-year", "2026").await;
            sbm.click_button("Mark 1 person as left").await;
            sbm.expect_text("1 person is marked as having left").await;

            // At school size the lists come 50 to a page, with links to the others.
            crate::lists::staff_of_120(&app_pool).await;
            sbm.goto("/s/cranbrook/people").await;
            sbm.click_link("Next page").await;
            sbm.expect_text("Showing 51 to 100 of").await;
            sbm.click_link("Page 3").await;
            sbm.click_link("Previous page").await;
            sbm.expect_text("Showing 51 to 100 of").await;

            let visited = journey.visited.lock().unwrap().clone();
            for page in [
                "/account/two-factor",
                "/sign-in/code",
                "/password/reset",
                "/s/cranbrook/people/{id}/paper",
                "/s/cranbrook/people/{id}/leave",
                "/s/cranbrook/compliance/{id}/check-reminders",
                "/s/cranbrook/people/leave-selected",
                "/s/cranbrook/admin/settings",
            ] {
                assert!(visited.contains(page), "{page} checked: {visited:#?}");
            }
        },
    )
    .await;
    assert_eq!(
        app.count("select count(*) from agreements").await,
        1,
        "Sam's signature"
    );
}
