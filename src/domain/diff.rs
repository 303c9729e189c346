//! What changed between two versions, statement by statement: each list item, paragraph,
//! heading and acknowledgement is a statement; changed ones carry their word-level changes.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use similar::{Algorithm, ChangeTag, DiffOp, TextDiff, capture_diff_slices};

use super::content::VersionContent;

/// The statements of a Markdown body, in reading order; a list item's own words come
/// before the items of a list nested in it.
pub fn statements(markdown: &str) -> Vec<String> {
    let mut out = vec![];
    let mut buffers: Vec<String> = vec![];
    let mut item_depth = 0usize;
    let flush = |buffer: &mut String, out: &mut Vec<String>| {
        let text = buffer.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            out.push(text);
        }
        buffer.clear();
    };
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Item) => {
                item_depth += 1;
                buffers.push(String::new());
            }
            Event::End(TagEnd::Item) => {
                item_depth = item_depth.saturating_sub(1);
                if let Some(mut buffer) = buffers.pop() {
                    flush(&mut buffer, &mut out);
                }
            }
            Event::Start(Tag::List(_)) => {
                if let Some(buffer) = buffers.last_mut() {
                    flush(buffer, &mut out);
                }
            }
            Event::Start(Tag::Paragraph | Tag::Heading { .. }) if item_depth == 0 => {
                buffers.push(String::new());
            }
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_)) if item_depth == 0 => {
                if let Some(mut buffer) = buffers.pop() {
                    flush(&mut buffer, &mut out);
                }
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some(buffer) = buffers.last_mut() {
                    buffer.push_str(&text);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(buffer) = buffers.last_mut() {
                    buffer.push(' ');
                }
            }
            _ => {}
        }
    }
    out
}

fn all_statements(content: &VersionContent) -> Vec<String> {
    let mut all = statements(&content.body_md);
    all.extend(content.acknowledgements.iter().map(|a| {
        if a.required {
            a.text.clone()
        } else {
            format!("{} (optional)", a.text)
        }
    }));
    all
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordChange {
    Same(String),
    Added(String),
    Removed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added(String),
    Removed(String),
    Changed(Vec<WordChange>),
}

fn word_changes(old: &str, new: &str) -> Vec<WordChange> {
    let diff = TextDiff::from_words(old, new);
    let mut words: Vec<WordChange> = vec![];
    for change in diff.iter_all_changes() {
        let value = change.value().to_owned();
        // Runs of the same kind read better as one mark.
        match (change.tag(), words.last_mut()) {
            (ChangeTag::Equal, Some(WordChange::Same(run)))
            | (ChangeTag::Insert, Some(WordChange::Added(run)))
            | (ChangeTag::Delete, Some(WordChange::Removed(run))) => run.push_str(&value),
            (ChangeTag::Equal, _) => words.push(WordChange::Same(value)),
            (ChangeTag::Insert, _) => words.push(WordChange::Added(value)),
            (ChangeTag::Delete, _) => words.push(WordChange::Removed(value)),
        }
    }
    words
}

/// Statements added, removed and changed from `old` to `new`, in the new version's order.
pub fn compare(old: &VersionContent, new: &VersionContent) -> Vec<Change> {
    let before = all_statements(old);
    let after = all_statements(new);
    let mut changes = vec![];
    let mut removed: Vec<&str> = vec![];
    let mut added: Vec<&str> = vec![];
    for op in capture_diff_slices(Algorithm::Myers, &before, &after) {
        match op {
            DiffOp::Equal { .. } => settle(&mut removed, &mut added, &mut changes),
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                removed.extend(
                    before[old_index..old_index + old_len]
                        .iter()
                        .map(String::as_str),
                );
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                added.extend(
                    after[new_index..new_index + new_len]
                        .iter()
                        .map(String::as_str),
                );
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                removed.extend(
                    before[old_index..old_index + old_len]
                        .iter()
                        .map(String::as_str),
                );
                added.extend(
                    after[new_index..new_index + new_len]
                        .iter()
                        .map(String::as_str),
                );
            }
        }
    }
    settle(&mut removed, &mut added, &mut changes);
    changes
}

/// Within one run of differences, a removed statement much like an added one was changed.
fn settle(removed: &mut Vec<&str>, added: &mut Vec<&str>, changes: &mut Vec<Change>) {
    let mut pairs: Vec<Option<usize>> = vec![None; added.len()];
    let mut paired = vec![false; removed.len()];
    for (a, new) in added.iter().enumerate() {
        let best = removed
            .iter()
            .enumerate()
            .filter(|(r, _)| !paired[*r])
            .map(|(r, old)| (r, TextDiff::from_words(*old, *new).ratio()))
            .filter(|(_, ratio)| *ratio >= 0.5)
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((r, _)) = best {
            paired[r] = true;
            pairs[a] = Some(r);
        }
    }
    for (r, old) in removed.iter().enumerate() {
        if !paired[r] {
            changes.push(Change::Removed((*old).to_owned()));
        }
    }
    for (a, new) in added.iter().enumerate() {
        changes.push(match pairs[a] {
            Some(r) => Change::Changed(word_changes(removed[r], new)),
            None => Change::Added((*new).to_owned()),
        });
    }
    removed.clear();
    added.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::samples;

    #[test]
    fn statements_are_items_paragraphs_and_headings_with_nested_items_after_their_parent() {
        let found =
            statements("Intro\nline.\n\n- One:\n   1. a\n   2. b\n- Two\n\n## Section\n\nEnd.");
        assert_eq!(
            found,
            ["Intro line.", "One:", "a", "b", "Two", "Section", "End."]
        );
    }

    #[test]
    fn the_cranbrook_sample_has_its_48_statements_and_more() {
        let all = statements(&samples::cranbrook().content.body_md);
        // 48 list items, the opening paragraph, the section heading and the closing paragraph.
        assert_eq!(all.len(), 51);
    }

    #[test]
    fn added_removed_and_changed_statements_are_found() {
        let old = samples::cranbrook().content;
        let mut new = old.clone();
        new.body_md = new
            .body_md
            .replace("- I will not reveal my password(s) to anyone\n", "")
            .replace("preferably 15 characters", "preferably 16 characters")
            .replace(
                "- I will always log out when I finish working.\n",
                "- I will always log out when I finish working.\n- I will use the password manager the school provides.\n",
            );
        let changes = compare(&old, &new);
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert_eq!(
            changes[0],
            Change::Removed("I will not reveal my password(s) to anyone".into())
        );
        let Change::Changed(words) = &changes[1] else {
            panic!("{changes:?}")
        };
        assert!(
            words.contains(&WordChange::Removed("15".into())),
            "{words:?}"
        );
        assert!(words.contains(&WordChange::Added("16".into())), "{words:?}");
        assert_eq!(
            changes[2],
            Change::Added("I will use the password manager the school provides.".into())
        );
        assert!(compare(&old, &old).is_empty());
    }
}
