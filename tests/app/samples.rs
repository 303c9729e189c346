//! The two real AUPs in shared/samples, stored as policy versions and rendered from the
//! database: every statement, section, numbered item, link and acknowledgement is there.

use crate::helpers::*;

const CRANBROOK_TEXT: &str = include_str!("../samples/cranbrook-staff-governors-aup.txt");
const STAFF_TEXT: &str = include_str!("../samples/staff-aup.txt");

/// The statements of a sample: its bullet ("- ") and numbered ("1. ") lines, without the marker.
fn statements(sample: &str) -> Vec<String> {
    sample
        .lines()
        .map(str::trim)
        .filter_map(|line| {
            if let Some(rest) = line.strip_prefix("- ") {
                return Some(rest.to_owned());
            }
            let (number, rest) = line.split_once(". ")?;
            number.parse::<u32>().ok().map(|_| rest.to_owned())
        })
        .collect()
}

/// The text a person reads: tags dropped, entities decoded, spaces folded.
fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn policy_body(page: &str) -> &str {
    let start = page
        .find(r#"<div class="policy-body">"#)
        .expect("policy body");
    let end = page[start..].find("</article>").expect("end of policy") + start;
    &page[start..end]
}

async fn sign_page(app: &TestApp, policy: &str) -> Page {
    let version = app.version_id(policy).await;
    let page = app
        .get(&format!("/s/cranbrook/versions/{version}/sign"))
        .await;
    assert_eq!(page.status, reqwest::StatusCode::OK);
    page
}

#[tokio::test]
async fn the_cranbrook_aup_is_rendered_faithfully() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let page = sign_page(&app, CRANBROOK).await;
    let body = policy_body(&page.body);
    let text = visible_text(&page.body);

    // Header facts, as the form's table prints them.
    for (name, value) in [
        ("Name of school", "Cranbrook Primary School"),
        ("AUP review date", "November 2024"),
        ("Date of next review", "November 2025"),
        ("Who reviewed this AUP?", "DPO and SBM"),
    ] {
        assert!(
            text.contains(&format!("{name} {value}")),
            "header fact {name}: {value}"
        );
    }
    assert!(text.contains("Acceptable Use Policy (AUP): Staff and Governors agreement form"));
    assert!(text.contains("Covers use of digital technologies in school"));

    // Every statement, and nothing more.
    let expected = statements(CRANBROOK_TEXT);
    assert_eq!(expected.len(), 48, "the sample's own count of statements");
    assert_eq!(body.matches("<li>").count(), expected.len());
    let body_text = visible_text(body);
    for statement in &expected {
        let readable = statement.split(" [").next().unwrap_or(statement);
        assert!(
            body_text.contains(readable),
            "missing statement: {readable}"
        );
    }

    // The numbered list, nested under its statement, and the section with its own heading.
    assert_eq!(body.matches("<ol>").count(), 1);
    let numbered = &body[body.find("<ol>").unwrap()..body.find("</ol>").unwrap()];
    assert_eq!(numbered.matches("<li>").count(), 4);
    assert!(numbered.contains("My class laptop will be secured at all times"));
    assert!(numbered.contains("I will not leave devices containing school data in my car"));
    assert!(body.contains("<h2>Within Social Networking</h2>"));
    assert!(body_text.contains(
        "I understand that failure to comply with this agreement could lead to disciplinary action."
    ));

    // Links are kept, and open safely.
    assert!(body.contains(
        r#"<a href="https://www.ncsc.gov.uk/information/cyber-security-training-schools" rel="noopener noreferrer">Cyber security training for school staff - NCSC.GOV.UK</a>"#
    ));

    // Three closing acknowledgements, the account one a choice.
    let closing: Vec<&str> = CRANBROOK_TEXT
        .split("User Signature")
        .nth(1)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("I "))
        .collect();
    assert_eq!(closing.len(), 3);
    assert_eq!(
        page.body.matches(r#"type="checkbox""#).count(),
        closing.len()
    );
    for ack in &closing {
        assert!(text.contains(ack), "acknowledgement {ack}");
    }
    assert_eq!(page.body.matches("(optional)").count(), 1);
    assert!(text.contains("I wish to have an email/computer account and be able to use the school's ICT resources and systems. (optional)"));

    // The signature block: signature as typed full name, date, full name printed, role.
    assert!(text.contains("User signature"));
    assert!(text.contains("Full name Typing your full name is your signature. It is also printed as your full name on the form."));
    assert!(text.contains("Role within the school"));
    assert!(text.contains("Date:"));
}

#[tokio::test]
async fn the_staff_aup_is_rendered_faithfully() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let page = sign_page(&app, STAFF_AUP).await;
    let body = policy_body(&page.body);
    let expected = statements(STAFF_TEXT);
    assert_eq!(expected.len(), 17);
    assert_eq!(body.matches("<li>").count(), expected.len());
    let body_text = visible_text(body);
    for statement in &expected {
        assert!(
            body_text.contains(statement.as_str()),
            "missing statement: {statement}"
        );
    }
    assert!(body.contains("<h2>Finally</h2>"));
    assert!(body_text.contains(
        "You understand that your files, communications and Internet activity may be monitored"
    ));
    // No header table and no acknowledgements on this form: signed and dated.
    assert!(!page.body.contains("Name of school"));
    assert_eq!(page.body.matches(r#"type="checkbox""#).count(), 0);
    assert!(visible_text(&page.body).contains("Date:"));
}

#[tokio::test]
async fn the_samples_apply_to_their_groups_and_carry_their_content_hash() {
    let app = spawn_app().await;
    let rows: Vec<(String, Vec<String>, String)> = sqlx::query_as(
        "select p.name, p.audience, v.content_sha256 from policies p join policy_versions v on v.policy_id = p.id order by p.name",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, STAFF_AUP);
    assert_eq!(rows[0].1, ["staff"]);
    assert_eq!(
        rows[0].2,
        aup_portal::domain::samples::staff().content.sha256()
    );
    assert_eq!(rows[1].0, CRANBROOK);
    assert_eq!(rows[1].1, ["staff", "governor"]);
    assert_eq!(
        rows[1].2,
        aup_portal::domain::samples::cranbrook().content.sha256()
    );
}
