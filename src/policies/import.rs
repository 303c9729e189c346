//! Turning the pasted text of a Word AUP into a draft version: header facts become review
//! facts, bullets and numbered lines become lists, "Heading:" lines become sections, and
//! the closing "I agree…", "I understand…", "I wish…" lines become acknowledgements.

use time::Date;

use crate::domain::{
    content::{Acknowledgement, VersionContent},
    dates::parse_review_date,
    groups::Group,
};

/// What the import found, for the DPO to check before saving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub content: VersionContent,
    /// The school named in the header table, if any.
    pub school_name: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Blank,
    Bullet(&'a str),
    Numbered(u32, &'a str),
    Text(&'a str),
}

fn classify(raw: &str) -> Line<'_> {
    let line = raw.trim();
    if line.is_empty() {
        return Line::Blank;
    }
    for marker in ["- ", "• ", "* ", "· ", "– "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Line::Bullet(rest.trim());
        }
    }
    if let Some((number, rest)) = line.split_once(['.', ')'])
        && let Ok(n) = number.parse::<u32>()
        && rest.starts_with(' ')
    {
        return Line::Numbered(n, rest.trim());
    }
    Line::Text(line)
}

/// The school year a review date falls in: November 2024 -> "2024-25".
pub fn academic_year(date: Date) -> String {
    let start = if u8::from(date.month()) >= 8 {
        date.year()
    } else {
        date.year() - 1
    };
    format!("{start}-{:02}", (start + 1) % 100)
}

fn title_case_if_shouting(title: &str) -> String {
    if title.chars().any(char::is_lowercase) {
        return title.to_owned();
    }
    title
        .split_whitespace()
        .map(|word| {
            let lower = word.to_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_signature_line(line: &str) -> Option<&'static str> {
    let lower = line.to_lowercase();
    if lower.starts_with("signature") || lower.starts_with("signed") {
        Some("signature")
    } else if lower.starts_with("date") {
        Some("date")
    } else if lower.starts_with("full name")
        || lower.starts_with("print name")
        || lower.starts_with("name (printed)")
    {
        Some("full_name")
    } else if lower.starts_with("role")
        || lower.starts_with("job title")
        || lower.starts_with("position")
    {
        Some("role")
    } else {
        None
    }
}

fn is_acknowledgement(line: &str) -> bool {
    [
        "I agree",
        "I understand",
        "I wish",
        "I confirm",
        "I have read",
    ]
    .iter()
    .any(|start| line.starts_with(start))
}

fn slug(text: &str, taken: &[Acknowledgement]) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .skip(1) // "I"
        .take(1)
        .map(str::to_lowercase)
        .collect();
    let base = words
        .first()
        .cloned()
        .unwrap_or_else(|| "statement".to_owned());
    let mut id = base.clone();
    let mut n = 2;
    while taken.iter().any(|a| a.id == id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

/// Imports pasted policy text. `label_if_unknown` names the version when the text has no review date.
pub fn import_text(text: &str, label_if_unknown: &str) -> Imported {
    let lines: Vec<&str> = text.lines().collect();
    let mut school_name = None;
    let mut reviewed_on = None;
    let mut next_review_due = None;
    let mut reviewed_by = String::new();
    let mut title = None;
    let mut index = 0;

    // The header table ("Name of School<TAB>Cranbrook…") and the title line.
    while index < lines.len() {
        let line = lines[index].trim();
        index += 1;
        if line.is_empty() {
            continue;
        }
        if let Some((key, value)) = line
            .split_once('\t')
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim()))
        {
            if key.contains("next review") {
                next_review_due = parse_review_date(value);
            } else if key.contains("who reviewed") || key.contains("reviewed by") {
                reviewed_by = value.to_owned();
            } else if key.contains("review") {
                reviewed_on = parse_review_date(value);
            } else if key.contains("school") {
                school_name = Some(value.to_owned());
            }
            continue;
        }
        let stripped = line.trim_start_matches('#').trim();
        if matches!(classify(line), Line::Text(_)) && stripped.len() <= 120 {
            title = Some(title_case_if_shouting(stripped));
        } else {
            index -= 1;
        }
        break;
    }

    // The signature block: from the end, signature lines, then the closing statements above them.
    let mut end = lines.len();
    let mut signature_fields: Vec<String> = vec![];
    while end > index {
        let line = lines[end - 1].trim();
        if line.is_empty() {
            end -= 1;
            continue;
        }
        match is_signature_line(line) {
            Some(field) => {
                // "Signature ____ Date:" names two fields on one line.
                if field == "signature" && line.to_lowercase().contains("date") {
                    signature_fields.insert(0, "date".to_owned());
                }
                signature_fields.insert(0, field.to_owned());
                end -= 1;
            }
            None => break,
        }
    }
    let mut acknowledgements = vec![];
    while end > index {
        let line = lines[end - 1].trim();
        if line.is_empty() {
            end -= 1;
        } else if is_acknowledgement(line) {
            let ack = Acknowledgement {
                id: String::new(),
                text: line.to_owned(),
                required: !line.starts_with("I wish"),
            };
            acknowledgements.insert(0, ack);
            end -= 1;
        } else {
            break;
        }
    }
    let mut with_ids: Vec<Acknowledgement> = vec![];
    for mut ack in acknowledgements {
        ack.id = slug(&ack.text, &with_ids);
        with_ids.push(ack);
    }
    // A "User Signature" heading above the closing statements belongs to the form, not the body.
    while end > index && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    if end > index
        && !with_ids.is_empty()
        && lines[end - 1].trim().eq_ignore_ascii_case("user signature")
    {
        end -= 1;
    }
    signature_fields.dedup();
    let order = ["signature", "date", "full_name", "role"];
    signature_fields.sort_by_key(|f| order.iter().position(|o| o == f));
    if signature_fields.is_empty() {
        signature_fields = order.map(String::from).to_vec();
    }

    let body_md = body_markdown(&lines[index..end]);
    Imported {
        content: VersionContent {
            label: reviewed_on.map_or_else(|| label_if_unknown.to_owned(), academic_year),
            title: title.unwrap_or_else(|| "Acceptable Use Policy".to_owned()),
            body_md,
            acknowledgements: with_ids,
            signature_fields,
            reviewed_on,
            next_review_due,
            reviewed_by,
        },
        school_name,
    }
}

#[derive(PartialEq)]
enum Block {
    None,
    Bullets,
    /// A numbered list nested under the bullet before it, and the last number seen.
    Nested(u32),
    Numbered(u32),
}

fn body_markdown(lines: &[&str]) -> String {
    let mut out: Vec<String> = vec![];
    let mut block = Block::None;
    let mut last_bullet_opens_list = false;
    for raw in lines {
        match classify(raw) {
            Line::Blank => {
                // Lists survive blank lines between their items; anything else ends them.
                if block == Block::None && out.last().is_some_and(|l| !l.is_empty()) {
                    out.push(String::new());
                }
            }
            Line::Bullet(text) => {
                if block == Block::None && out.last().is_some_and(|l| !l.is_empty()) {
                    out.push(String::new());
                }
                out.push(format!("- {text}"));
                last_bullet_opens_list = text.ends_with(':');
                block = Block::Bullets;
            }
            Line::Numbered(n, text) => {
                let nested = match block {
                    Block::Nested(last) => n == last + 1,
                    Block::Bullets => last_bullet_opens_list || n == 1,
                    _ => false,
                };
                if nested {
                    out.push(format!("   {n}. {text}"));
                    block = Block::Nested(n);
                } else {
                    if !matches!(block, Block::Numbered(_))
                        && out.last().is_some_and(|l| !l.is_empty())
                    {
                        out.push(String::new());
                    }
                    out.push(format!("{n}. {text}"));
                    block = Block::Numbered(n);
                }
            }
            Line::Text(text) => {
                if block != Block::None || out.last().is_some_and(|l| !l.is_empty()) {
                    out.push(String::new());
                }
                block = Block::None;
                match text.strip_suffix(':') {
                    Some(heading) if heading.len() <= 60 && !heading.contains(". ") => {
                        out.push(format!("## {}", heading.trim()));
                    }
                    _ => out.push(text.to_owned()),
                }
                out.push(String::new());
            }
        }
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    let mut body = out.join("\n");
    // Collapse the double blank lines that a text line after a blank line leaves.
    while body.contains("\n\n\n") {
        body = body.replace("\n\n\n", "\n\n");
    }
    body.push('\n');
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn school_years_run_from_august() {
        assert_eq!(academic_year(date!(2024 - 11 - 01)), "2024-25");
        assert_eq!(academic_year(date!(2025 - 07 - 31)), "2024-25");
        assert_eq!(academic_year(date!(2099 - 09 - 01)), "2099-00");
    }
}

#[cfg(test)]
mod sample_tests {
    use super::*;
    use crate::domain::samples;

    #[test]
    fn the_cranbrook_form_imports_to_the_stored_sample() {
        let imported = import_text(
            include_str!("../../tests/samples/cranbrook-staff-governors-aup.txt"),
            "unused",
        );
        assert_eq!(
            imported.school_name.as_deref(),
            Some("Cranbrook Primary School")
        );
        let expected = samples::cranbrook().content;
        assert_eq!(imported.content.body_md, expected.body_md);
        assert_eq!(imported.content, expected);
    }

    #[test]
    fn the_staff_aup_imports_to_the_stored_sample() {
        let imported = import_text(include_str!("../../tests/samples/staff-aup.txt"), "2025-26");
        let expected = samples::staff().content;
        assert_eq!(imported.content.body_md, expected.body_md);
        assert_eq!(imported.content, expected);
    }
}

/// `aup-portal import-policy`: one file's text into a draft (or published) version.
pub struct ImportRequest<'a> {
    pub school_slug: &'a str,
    pub policy_name: Option<&'a str>,
    pub audience: &'a [String],
    pub text: &'a str,
    pub publish: bool,
    pub base_url: &'a str,
    pub today: Date,
}

pub async fn import_into_school(
    pool: &sqlx::PgPool,
    request: &ImportRequest<'_>,
) -> anyhow::Result<String> {
    use anyhow::{Context, bail};
    let imported = import_text(request.text, &academic_year(request.today));
    let content = &imported.content;
    let mut tx = pool.begin().await?;
    let school_id = sqlx::query_scalar!(
        "select id from schools where slug = $1",
        request.school_slug
    )
    .fetch_optional(&mut *tx)
    .await?
    .with_context(|| format!("no school has the web address '{}'", request.school_slug))?;
    let name = request
        .policy_name
        .map_or_else(|| content.title.clone(), str::to_owned);
    let mut audience = Vec::with_capacity(request.audience.len());
    for word in request.audience {
        match word.parse::<Group>() {
            Ok(group) => audience.push(group),
            Err(()) => bail!(
                "'{word}' is not a group: use {}",
                Group::ALL.map(Group::as_str).join(", ")
            ),
        }
    }
    let policy_id = match sqlx::query_scalar!(
        "select id from policies where school_id = $1 and lower(name) = lower($2)",
        school_id,
        name
    )
    .fetch_optional(&mut *tx)
    .await?
    {
        Some(id) => id,
        None => {
            let id = sqlx::query_scalar!(
                "insert into policies (school_id, name, audience) values ($1, $2, $3) returning id",
                school_id,
                name,
                &audience as &[Group]
            )
            .fetch_one(&mut *tx)
            .await?;
            crate::audit::record(
                &mut *tx,
                Some(school_id),
                None,
                &crate::audit::Event::PolicyCreated {
                    policy_name: name.clone(),
                    policy_id: id,
                },
            )
            .await?;
            id
        }
    };
    let draft_id =
        match crate::store::versions::insert_draft(&mut tx, school_id, policy_id, content, &[])
            .await?
        {
            crate::store::versions::NewDraft::Inserted(id) => id,
            crate::store::versions::NewDraft::Exists(_) => {
                bail!("{name} already has a draft: publish or delete it first")
            }
        };
    crate::audit::record(
        &mut *tx,
        Some(school_id),
        None,
        &crate::audit::Event::VersionImported {
            policy_name: name.clone(),
            policy_id,
            version_id: draft_id,
            label: content.label.clone(),
        },
    )
    .await?;
    tx.commit().await?;

    let statements = crate::domain::diff::statements(&content.body_md).len();
    let mut report = format!(
        "a draft {} of {name} with {statements} statements and {} to tick",
        content.label,
        content.acknowledgements.len()
    );
    if request.publish {
        match super::publish::publish(
            pool,
            school_id,
            draft_id,
            super::publish::Request {
                confirmed_sha256: None,
                sign_by: None,
                publisher: None,
            },
            request.base_url,
            request.today,
        )
        .await
        {
            Ok(done) => {
                report = format!(
                    "published {} of {name}; {} people asked to sign it",
                    done.label, done.notified
                )
            }
            Err(super::publish::PublishError::NotReady(problems)) => {
                let reasons: Vec<String> = problems.into_iter().map(|p| p.message).collect();
                bail!(
                    "imported as a draft, but not published: {}",
                    reasons.join(" ")
                )
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(report)
}
