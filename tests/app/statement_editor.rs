//! The statement editor's buttons as the form posts them: each saves the draft and returns to
//! the item it was about, and an item that cannot be saved gets its message next to it.

use aup_portal::domain::{outline::Outline, samples};
use reqwest::StatusCode;

use crate::{
    helpers::*,
    publishing::{DPO, draft_fields, start_clone},
};

/// The edit form's fields with the Cranbrook text as the list shows it, item `i` as `s-{i}`.
fn list_fields() -> Vec<(&'static str, String)> {
    let mut fields: Vec<_> = draft_fields("")
        .into_iter()
        .filter(|(name, _)| *name != "body_md")
        .collect();
    for (i, item) in Outline::parse(&samples::cranbrook().content.body_md)
        .items()
        .into_iter()
        .enumerate()
    {
        fields.push(("item_id", format!("s-{i}")));
        fields.push(("item_kind", item.kind.as_str().to_owned()));
        fields.push(("item_level", item.level.to_string()));
        fields.push(("item_from", i.to_string()));
        fields.push(("item_text", item.text));
    }
    fields
}

async fn draft_text(app: &TestApp, draft: &str) -> (String, Vec<String>) {
    let id: uuid::Uuid = draft.rsplit('/').next().unwrap().parse().unwrap();
    sqlx::query_as("select body_md, block_ids from policy_versions where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn each_button_saves_the_draft_and_returns_to_the_item() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let draft = start_clone(&app).await;
    let body = samples::cranbrook().content.body_md;
    let items = Outline::parse(&body).items();

    // Saved as the list shows it, the text is as it was, and each item keeps its id.
    let mut fields = list_fields();
    fields.push(("action", "save".to_owned()));
    let saved = app.post(&draft, &as_form(&fields)).await;
    assert_eq!(saved.location(), Some(format!("{draft}?saved=1").as_str()));
    let (text, ids) = draft_text(&app, &draft).await;
    assert_eq!(text, body);
    assert_eq!(ids.len(), items.len());
    assert_eq!(ids[2], "s-2");

    // Statement 2 moved up: saved, and back to it with a word there.
    let mut fields = list_fields();
    fields.push(("action", "up:s-2".to_owned()));
    let moved = app.post(&draft, &as_form(&fields)).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    assert_eq!(
        moved.location(),
        Some(format!("{draft}?done=up&at=s-2").as_str())
    );
    let (text, ids) = draft_text(&app, &draft).await;
    assert_eq!(&ids[..3], ["s-0", "s-2", "s-1"]);
    let first = |words: &str| text.find(words).unwrap();
    assert!(first(&items[2].text) < first(&items[1].text));
    let page = app.get(moved.location().unwrap()).await;
    page.assert_contains(
        r#"<li class="outline-item outline-statement" id="item-s-2">
      <div class="notice" role="status"><p>Moved up.</p></div>"#,
    );

    // "Add a statement after" saves, then shows an empty box after it, with the focus.
    let mut fields = list_fields();
    fields.push(("action", "add:statement:s-3".to_owned()));
    let added = app.post(&draft, &as_form(&fields)).await;
    let to = added.location().unwrap().to_owned();
    assert!(
        to.starts_with(&format!("{draft}?add=statement&after=s-3&id=s-")),
        "{to}"
    );
    let page = app.get(&to).await;
    let new_id = to.rsplit("id=").next().unwrap();
    let after_three = &page.body[page.body.find(r#"id="item-s-3""#).unwrap()..];
    let next = &after_three[after_three.find("</li>").unwrap()..];
    assert!(
        next.find(&format!(r#"id="item-{new_id}""#)) < next.find(r#"id="item-s-4""#),
        "the new box comes straight after statement 3"
    );
    page.assert_contains(&format!(
        r#"<textarea id="text-{new_id}" name="item_text" rows="2" spellcheck="true" autofocus>"#
    ));
}

#[tokio::test]
async fn an_item_that_cannot_be_saved_gets_its_message_next_to_it_and_nothing_changes() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let draft = start_clone(&app).await;
    let mut fields = list_fields();
    let text = fields
        .iter_mut()
        .filter(|(name, _)| *name == "item_text")
        .nth(4)
        .unwrap();
    text.1 = "I will lock\u{7} my screen".to_owned();
    fields.push(("action", "down:s-4".to_owned()));
    let page = app.post(&draft, &as_form(&fields)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Numbered where the move put it, after the statement that was fifth.
    page.assert_contains(
        r##"<a href="#text-s-4">Statement 5 must not contain control characters"##,
    );
    page.assert_contains(r#"<p id="text-s-4-error" class="error-message">"#);
    // The move is shown, not saved.
    assert!(page.body.find(r#"id="item-s-5""#) < page.body.find(r#"id="item-s-4""#));
    let (text, ids) = draft_text(&app, &draft).await;
    assert_eq!(text, samples::cranbrook().content.body_md);
    assert!(ids.is_empty(), "{ids:?}");
}

#[tokio::test]
async fn a_form_with_more_parts_than_any_policy_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let draft = start_clone(&app).await;
    let mut fields: Vec<_> = draft_fields("")
        .into_iter()
        .filter(|(name, _)| *name != "body_md")
        .collect();
    // 3,000 items with one id between them: more than any policy has.
    for _ in 0..3_000 {
        fields.push(("item_id", "s-same".to_owned()));
        fields.push(("item_text", "I will".to_owned()));
    }
    fields.push(("action", "save".to_owned()));
    let page = app.post(&draft, &as_form(&fields)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("The text has more than 2,000 parts");
    let (text, _) = draft_text(&app, &draft).await;
    assert_eq!(text, samples::cranbrook().content.body_md);
}

#[tokio::test]
async fn a_blank_draft_gains_its_first_statement_without_a_complaint() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let policy: uuid::Uuid = sqlx::query_scalar("select id from policies where name = $1")
        .bind(CRANBROOK)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let started = app
        .post(
            &format!("/s/cranbrook/policies/{policy}/versions"),
            &[("start", "blank")],
        )
        .await;
    let draft = started.location().unwrap().to_owned();
    let page = app.get(&draft).await;
    page.assert_contains("Add a statement");
    let mut fields: Vec<_> = draft_fields("")
        .into_iter()
        .filter(|(name, _)| *name != "body_md")
        .collect();
    fields.push(("action", "add:statement".to_owned()));
    let added = app.post(&draft, &as_form(&fields)).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = app.get(added.location().unwrap()).await;
    assert!(!page.body.contains("There is a problem"), "{}", page.body);
    page.assert_contains(r#"name="item_text" rows="2" spellcheck="true" autofocus>"#);
}
