//! What changed between two versions, block by block: each list item (a statement),
//! paragraph, heading and statement to tick; changed ones carry their word-level changes.
//! Then the review facts: the title and the review dates and reviewer.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use similar::{Algorithm, ChangeTag, DiffOp, TextDiff, capture_diff_slices};

use super::content::VersionContent;
use super::render::long_date;

/// What a block of a policy is, as "what changed" names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Heading,
    Paragraph,
    /// A list item: "I will…".
    Statement,
    /// One of the closing statements people tick.
    ToTick,
}

impl Kind {
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Heading => "heading",
            Kind::Paragraph => "paragraph",
            Kind::Statement => "statement",
            Kind::ToTick => "statement to tick",
        }
    }
}

/// A block of text: its kind and its words, with the spacing made even.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Block {
    pub kind: Kind,
    pub text: String,
}

/// The statements of a Markdown body, in reading order; a list item's own words come
/// before the items of a list nested in it.
pub fn statements(markdown: &str) -> Vec<String> {
    blocks(markdown).into_iter().map(|b| b.text).collect()
}

/// The blocks of a Markdown body, in the order of `statements`.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = vec![];
    let mut buffers: Vec<(Kind, String)> = vec![];
    let mut item_depth = 0usize;
    let flush = |(kind, buffer): &mut (Kind, String), out: &mut Vec<Block>| {
        let text = buffer.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            out.push(Block { kind: *kind, text });
        }
        buffer.clear();
    };
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Item) => {
                item_depth += 1;
                buffers.push((Kind::Statement, String::new()));
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
            Event::Start(Tag::Paragraph) if item_depth == 0 => {
                buffers.push((Kind::Paragraph, String::new()));
            }
            Event::Start(Tag::Heading { .. }) if item_depth == 0 => {
                buffers.push((Kind::Heading, String::new()));
            }
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_)) if item_depth == 0 => {
                if let Some(mut buffer) = buffers.pop() {
                    flush(&mut buffer, &mut out);
                }
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, buffer)) = buffers.last_mut() {
                    buffer.push_str(&text);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, buffer)) = buffers.last_mut() {
                    buffer.push(' ');
                }
            }
            _ => {}
        }
    }
    out
}

fn all_blocks(content: &VersionContent) -> Vec<Block> {
    let mut all = blocks(&content.body_md);
    all.extend(content.acknowledgements.iter().map(|a| Block {
        kind: Kind::ToTick,
        text: if a.required {
            a.text.clone()
        } else {
            format!("{} (optional)", a.text)
        },
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
    Added(Block),
    Removed(Block),
    /// Rewritten: the words before and after, and the words changed between them.
    Changed {
        kind: Kind,
        before: String,
        after: String,
        words: Vec<WordChange>,
    },
    /// A review fact ("the date of the next review"), as it was and is ("not set" if empty).
    Fact {
        name: &'static str,
        before: String,
        after: String,
    },
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

/// The review facts that differ from `old` to `new`, after the blocks.
fn facts(old: &VersionContent, new: &VersionContent) -> Vec<Change> {
    let date = |d: Option<time::Date>| d.map(long_date).unwrap_or_else(|| "not set".to_owned());
    let text = |t: &str| {
        if t.trim().is_empty() {
            "not set".to_owned()
        } else {
            t.trim().to_owned()
        }
    };
    [
        ("the title", text(&old.title), text(&new.title)),
        (
            "the date of the last review",
            date(old.reviewed_on),
            date(new.reviewed_on),
        ),
        (
            "the date of the next review",
            date(old.next_review_due),
            date(new.next_review_due),
        ),
        (
            "who reviewed it",
            text(&old.reviewed_by),
            text(&new.reviewed_by),
        ),
    ]
    .into_iter()
    .filter(|(_, before, after)| before != after)
    .map(|(name, before, after)| Change::Fact {
        name,
        before,
        after,
    })
    .collect()
}

/// Blocks added, removed and changed from `old` to `new`, in the new version's order, then
/// the review facts that changed.
pub fn compare(old: &VersionContent, new: &VersionContent) -> Vec<Change> {
    let before = all_blocks(old);
    let after = all_blocks(new);
    let mut changes = vec![];
    let mut removed: Vec<&Block> = vec![];
    let mut added: Vec<&Block> = vec![];
    for op in capture_diff_slices(Algorithm::Myers, &before, &after) {
        match op {
            DiffOp::Equal { .. } => settle(&mut removed, &mut added, &mut changes),
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                removed.extend(&before[old_index..old_index + old_len]);
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                added.extend(&after[new_index..new_index + new_len]);
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                removed.extend(&before[old_index..old_index + old_len]);
                added.extend(&after[new_index..new_index + new_len]);
            }
        }
    }
    settle(&mut removed, &mut added, &mut changes);
    changes.extend(facts(old, new));
    changes
}

/// Within one run of differences, a removed statement much like an added one was changed.
fn settle(removed: &mut Vec<&Block>, added: &mut Vec<&Block>, changes: &mut Vec<Change>) {
    let mut pairs: Vec<Option<usize>> = vec![None; added.len()];
    let mut paired = vec![false; removed.len()];
    for (a, new) in added.iter().enumerate() {
        let best = removed
            .iter()
            .enumerate()
            .filter(|(r, _)| !paired[*r])
            .map(|(r, old)| (r, TextDiff::from_words(&old.text, &new.text).ratio()))
            .filter(|(_, ratio)| *ratio >= 0.5)
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((r, _)) = best {
            paired[r] = true;
            pairs[a] = Some(r);
        }
    }
    for (r, old) in removed.iter().enumerate() {
        if !paired[r] {
            changes.push(Change::Removed((*old).clone()));
        }
    }
    for (a, new) in added.iter().enumerate() {
        changes.push(match pairs[a] {
            Some(r) => Change::Changed {
                kind: new.kind,
                before: removed[r].text.clone(),
                after: new.text.clone(),
                words: word_changes(&removed[r].text, &new.text),
            },
            None => Change::Added((*new).clone()),
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
        let statement = |text: &str| Block {
            kind: Kind::Statement,
            text: text.into(),
        };
        assert_eq!(
            changes[0],
            Change::Removed(statement("I will not reveal my password(s) to anyone"))
        );
        let Change::Changed { words, kind, .. } = &changes[1] else {
            panic!("{changes:?}")
        };
        assert_eq!(*kind, Kind::Statement);
        assert!(
            words.contains(&WordChange::Removed("15".into())),
            "{words:?}"
        );
        assert!(words.contains(&WordChange::Added("16".into())), "{words:?}");
        assert_eq!(
            changes[2],
            Change::Added(statement(
                "I will use the password manager the school provides."
            ))
        );
        assert!(compare(&old, &old).is_empty());
    }

    #[test]
    fn paragraphs_headings_and_review_facts_are_named_as_what_they_are() {
        let old = samples::cranbrook().content;
        let mut new = old.clone();
        new.body_md = new.body_md.replace(
            "I understand that failure to comply with this agreement could lead to disciplinary action.",
            "I understand that failure to comply with this agreement will lead to disciplinary action.",
        );
        new.body_md
            .push_str("\n## Reporting\n\nTell the DPO at once.\n");
        new.next_review_due = Some(time::macros::date!(2027 - 09 - 01));
        new.reviewed_by = String::new();
        let changes = compare(&old, &new);
        let kinds: Vec<String> = changes
            .iter()
            .map(|c| match c {
                Change::Added(b) => format!("new {}", b.kind.noun()),
                Change::Removed(b) => format!("removed {}", b.kind.noun()),
                Change::Changed { kind, .. } => format!("changed {}", kind.noun()),
                Change::Fact { name, after, .. } => format!("{name}: {after}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "changed paragraph",
                "new heading",
                "new paragraph",
                "the date of the next review: 1 September 2027",
                "who reviewed it: not set",
            ],
            "{changes:?}"
        );
    }
}
