//! The statement editor in a real browser: either sample saved unchanged stays the same text
//! byte for byte, and moving, removing and adding statements do what they say, without script.

use aup_portal::{
    domain::{content::VersionContent, render::markdown_to_html},
    store::versions::{StoredVersion, load},
};
use sqlx::PgPool;

use super::{Browser, PHONE, run};
use crate::{helpers::*, publishing::DPO};

/// The editor's field for the item whose text starts with `words`: its id and its name, as
/// its label says ("Statement 3").
pub async fn item(person: &Browser, words: &str) -> (String, String) {
    let found = person
        .script(&format!(
            "const t = [...document.querySelectorAll('.outline textarea, .outline input[type=text]')]
               .find(t => t.value.startsWith({words:?}));
             return t ? [t.id, document.querySelector(`label[for=\"${{t.id}}\"]`).innerText] : null;"
        ))
        .await;
    let id = found[0]
        .as_str()
        .unwrap_or_else(|| panic!("no item {words:?}"));
    (
        id.to_owned(),
        found[1].as_str().unwrap_or_default().to_owned(),
    )
}

/// The item texts in the editor's order.
async fn texts(person: &Browser) -> Vec<String> {
    let found = person
        .script(
            "return [...document.querySelectorAll('.outline textarea, .outline input[type=text]')]
               .map(t => t.value)",
        )
        .await;
    serde_json::from_value(found).unwrap_or_default()
}

/// The policy's published version and its draft.
async fn published_and_draft(pool: &PgPool, policy: &str) -> (StoredVersion, StoredVersion) {
    let mut conn = pool.acquire().await.unwrap();
    let ids: Vec<(uuid::Uuid, uuid::Uuid, String)> = sqlx::query_as(
        "select v.school_id, v.id, v.status from policy_versions v join policies p on p.id = v.policy_id
         where p.name = $1 and v.status in ('published', 'draft')",
    )
    .bind(policy)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut published = None;
    let mut draft = None;
    for (school, id, status) in ids {
        let version = load(&mut conn, school, id).await.unwrap();
        if status == "draft" {
            draft = version;
        } else {
            published = version;
        }
    }
    (published.expect("published"), draft.expect("a draft"))
}

#[tokio::test]
async fn the_dpo_edits_the_text_as_a_list_of_statements() {
    let app = spawn_app().await;
    let base = app.address.clone();
    let pool = app.pool.clone();
    run(
        "the_dpo_edits_the_text_as_a_list_of_statements",
        move |journey| async move {
            let dpo = journey.open("dpo-phone", &base, PHONE).await;
            dpo.sign_in(DPO).await;
            let mut cranbrook_draft = String::new();
            for policy in [STAFF_AUP, CRANBROOK] {
                dpo.goto("/s/cranbrook/policies").await;
                dpo.click_link(policy).await;
                let start = dpo
                    .script(
                        "return [...document.querySelectorAll('button')].map(b => b.innerText)
                       .find(t => t.startsWith(\"Start next year's version\"))",
                    )
                    .await;
                dpo.click_button(start.as_str().unwrap_or_default()).await;
                cranbrook_draft = dpo.path().await;
                dpo.click_button("Save the draft").await;
                dpo.expect_text("Your changes have been saved").await;

                // Saved unchanged, the text is the same byte for byte: so is its HTML, and the
                // content's hash but for the new version's label.
                let (published, draft) = published_and_draft(&pool, policy).await;
                assert_eq!(draft.content.body_md, published.content.body_md, "{policy}");
                assert_eq!(
                    markdown_to_html(&draft.content.body_md),
                    markdown_to_html(&published.content.body_md)
                );
                let relabelled = VersionContent {
                    label: published.content.label.clone(),
                    ..draft.content.clone()
                };
                assert_eq!(Some(relabelled.sha256()), published.content_sha256);
            }

            // On the Cranbrook draft: move a statement down, remove one, add one after another.
            let reveal = "I will not reveal my password(s) to anyone";
            let passwords = "Passwords will be of at least 8 characters";
            let links = "I will not click on email links from untrusted sources";
            let (reveal_id, name) = item(&dpo, reveal).await;
            dpo.click_button(&format!("Move down {}", name.to_lowercase()))
                .await;
            dpo.expect_text("Moved down.").await;
            let (moved_id, _) = item(&dpo, reveal).await;
            assert_eq!(
                moved_id, reveal_id,
                "a statement keeps its id when it moves"
            );
            let order = texts(&dpo).await;
            let at = |words: &str| order.iter().position(|t| t.starts_with(words)).unwrap();
            assert_eq!(at(reveal), at(passwords) + 1);

            let (_, name) = item(&dpo, links).await;
            dpo.click_button(&format!("Remove {}", name.to_lowercase()))
                .await;
            dpo.expect_text("The statement above this has been removed.")
                .await;
            assert!(!texts(&dpo).await.iter().any(|t| t.starts_with(links)));

            let (_, name) = item(&dpo, reveal).await;
            dpo.click_button(&format!("Add a statement after {}", name.to_lowercase()))
                .await;
            // The new statement's box has the focus, empty, right after the one asked for.
            let focused = dpo
                .script("const e = document.activeElement; return [e.tagName, e.value]")
                .await;
            assert_eq!(focused, serde_json::json!(["TEXTAREA", ""]));
            let added = "I will report a lost school laptop to the school office the same day.";
            dpo.type_keys(added).await;
            dpo.click_button("Save the draft").await;
            dpo.expect_text("Your changes have been saved").await;

            let (published, draft) = published_and_draft(&pool, CRANBROOK).await;
            let line = |words: &str| {
                let body = &published.content.body_md;
                let start = body.find(words).unwrap();
                format!(
                    "- {}",
                    &body[start..start + body[start..].find('\n').unwrap()]
                )
            };
            let expected = published.content.body_md.replace(
                &format!("{}\n{}\n{}\n", line(reveal), line(passwords), line(links)),
                &format!("{}\n{}\n- {added}\n", line(passwords), line(reveal)),
            );
            assert_ne!(expected, published.content.body_md);
            assert_eq!(draft.content.body_md, expected);

            // The whole text stays available as Markdown, and back again.
            dpo.click_button("Edit the whole text as Markdown").await;
            let markdown = dpo
                .script("return document.getElementById('body_md').value")
                .await;
            assert_eq!(markdown.as_str(), Some(expected.as_str()));
            dpo.click_button("Edit the text as a list of statements")
                .await;
            assert_eq!(item(&dpo, reveal).await.0, reveal_id);
            assert!(dpo.path().await.starts_with(&cranbrook_draft));
        },
    )
    .await;
}
