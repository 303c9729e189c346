//! The statement editor's part of the draft form: the policy's text as a list of section
//! headings, statements and paragraphs, each a field of its own, with add, remove, move up
//! and move down as buttons of the same form, so each works without JavaScript.

use std::collections::HashSet;

use super::shared::MAX_BODY;
use crate::{
    domain::{
        outline::{Item, ItemKind, Outline, align_ids, fresh_id, is_empty, valid_id},
        render,
    },
    page::FieldErrors,
};

/// At most this many items are taken from a form: the longest real policies have about a
/// hundred. More is refused before anything is parsed.
pub(super) const MAX_ITEMS: usize = 2_000;

/// An item of the text as the form sent it: its id, its words, and the index of the saved
/// item it was shown from (none for one added since).
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) id: String,
    pub(super) item: Item,
    pub(super) from: Option<usize>,
}

/// The saved text's items with their ids: the stored ids when they fit, new ones otherwise.
pub(super) fn saved_entries(outline: &Outline, block_ids: &[String]) -> Vec<Entry> {
    let items = outline.items();
    let ids = if block_ids.len() == items.len() && block_ids.iter().all(|id| valid_id(id)) {
        block_ids.to_vec()
    } else {
        align_ids(&[], &[], &items)
    };
    items
        .into_iter()
        .zip(ids)
        .enumerate()
        .map(|(i, (item, id))| Entry {
            id,
            item,
            from: Some(i),
        })
        .collect()
}

/// The items as posted, in the `item_*` fields' order. An id that is missing, malformed or
/// repeated gets a new one.
pub(super) fn posted_entries(
    ids: &[String],
    kinds: &[String],
    levels: &[String],
    froms: &[String],
    texts: &[String],
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = vec![];
    let mut taken: HashSet<String> = HashSet::new();
    for (i, text) in texts.iter().enumerate().take(MAX_ITEMS) {
        let kind = kinds
            .get(i)
            .and_then(|k| ItemKind::parse(k))
            .unwrap_or(ItemKind::Statement);
        let level = match kind {
            ItemKind::Heading => levels
                .get(i)
                .and_then(|l| l.parse::<u8>().ok())
                .filter(|l| (1..=6).contains(l))
                .unwrap_or(2),
            _ => 0,
        };
        let id = match ids.get(i) {
            Some(id) if valid_id(id) && !taken.contains(id) => id.clone(),
            _ => fresh_id(&taken),
        };
        taken.insert(id.clone());
        entries.push(Entry {
            id,
            item: Item {
                kind,
                level,
                text: text.replace("\r\n", "\n"),
            },
            from: froms.get(i).and_then(|f| f.parse().ok()),
        });
    }
    entries
}

/// What a button of the draft form asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Action {
    Save,
    Preview,
    /// Save, then edit the whole text as Markdown, or as the list again.
    AsMarkdown,
    AsList,
    Up(String),
    Down(String),
    Remove(String),
    /// A new empty item of this kind, after the item with this id or at the end.
    Add(ItemKind, Option<String>),
}

impl Action {
    pub(super) fn parse(action: &str) -> Action {
        let mut parts = action.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("preview"), None, None) => Action::Preview,
            (Some("markdown"), None, None) => Action::AsMarkdown,
            (Some("list"), None, None) => Action::AsList,
            (Some("up"), Some(id), None) => Action::Up(id.to_owned()),
            (Some("down"), Some(id), None) => Action::Down(id.to_owned()),
            (Some("remove"), Some(id), None) => Action::Remove(id.to_owned()),
            (Some("add"), Some(kind), after) => match ItemKind::parse(kind) {
                Some(kind) if kind != ItemKind::Markdown => {
                    Action::Add(kind, after.map(str::to_owned))
                }
                _ => Action::Save,
            },
            _ => Action::Save,
        }
    }
}

/// Where the page goes back to after an action, and what it says there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Place {
    /// The item the page scrolls to.
    pub(super) at: Option<String>,
    /// What was done, as the page's address says it after saving: see `notice`.
    pub(super) done: Option<&'static str>,
}

/// What the page says where an action was done.
pub(super) fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "up" => "Moved up.",
        "down" => "Moved down.",
        "removed-heading-above" => "The section heading above this has been removed.",
        "removed-heading-below" => "The section heading below this has been removed.",
        "removed-paragraph-above" => "The paragraph above this has been removed.",
        "removed-paragraph-below" => "The paragraph below this has been removed.",
        "removed-markdown-above" => "The Markdown block above this has been removed.",
        "removed-markdown-below" => "The Markdown block below this has been removed.",
        "removed-statement-above" => "The statement above this has been removed.",
        "removed-statement-below" => "The statement below this has been removed.",
        "removed" => "The item has been removed.",
        _ => return None,
    })
}

/// `entries` with a move or removal done. Adding is left to `with_blank`, since an empty
/// item is not saved.
pub(super) fn apply(mut entries: Vec<Entry>, action: &Action) -> (Vec<Entry>, Place) {
    let position = |entries: &[Entry], id: &str| entries.iter().position(|e| e.id == id);
    match action {
        Action::Up(id) => {
            if let Some(i) = position(&entries, id).filter(|i| *i > 0) {
                entries.swap(i - 1, i);
            }
            let at = Some(id.clone());
            (
                entries,
                Place {
                    at,
                    done: Some("up"),
                },
            )
        }
        Action::Down(id) => {
            if let Some(i) = position(&entries, id).filter(|i| i + 1 < entries.len()) {
                entries.swap(i, i + 1);
            }
            let at = Some(id.clone());
            (
                entries,
                Place {
                    at,
                    done: Some("down"),
                },
            )
        }
        Action::Remove(id) => {
            let Some(i) = position(&entries, id) else {
                return (entries, Place::default());
            };
            let removed = entries.remove(i);
            // The notice goes where the item was: on the item that took its place.
            let place = match (
                entries.get(i),
                i.checked_sub(1).and_then(|p| entries.get(p)),
            ) {
                (Some(next), _) => Place {
                    at: Some(next.id.clone()),
                    done: Some(removed_code(removed.item.kind, true)),
                },
                (None, Some(previous)) => Place {
                    at: Some(previous.id.clone()),
                    done: Some(removed_code(removed.item.kind, false)),
                },
                (None, None) => Place {
                    at: None,
                    done: Some("removed"),
                },
            };
            (entries, place)
        }
        _ => (entries, Place::default()),
    }
}

fn removed_code(kind: ItemKind, above: bool) -> &'static str {
    match (kind, above) {
        (ItemKind::Heading, true) => "removed-heading-above",
        (ItemKind::Heading, false) => "removed-heading-below",
        (ItemKind::Paragraph, true) => "removed-paragraph-above",
        (ItemKind::Paragraph, false) => "removed-paragraph-below",
        (ItemKind::Markdown, true) => "removed-markdown-above",
        (ItemKind::Markdown, false) => "removed-markdown-below",
        (ItemKind::Statement, true) => "removed-statement-above",
        (ItemKind::Statement, false) => "removed-statement-below",
    }
}

/// `entries` with a new empty item of `kind` after the item `after` (or at the end), under
/// the id `id`. Returns its id.
pub(super) fn with_blank(
    entries: &mut Vec<Entry>,
    kind: ItemKind,
    after: Option<&str>,
    id: Option<&str>,
) -> String {
    let taken: HashSet<String> = entries.iter().map(|e| e.id.clone()).collect();
    let id = match id {
        Some(id) if valid_id(id) && !taken.contains(id) => id.to_owned(),
        _ => fresh_id(&taken),
    };
    let at = after
        .and_then(|after| entries.iter().position(|e| e.id == after))
        .map_or(entries.len(), |i| i + 1);
    entries.insert(
        at,
        Entry {
            id: id.clone(),
            item: Item {
                kind,
                level: if kind == ItemKind::Heading { 2 } else { 0 },
                text: String::new(),
            },
            from: None,
        },
    );
    id
}

/// The text of `entries`, written from the saved `outline`, and the id of each of its items.
pub(super) fn written(outline: &Outline, entries: &[Entry]) -> (String, Vec<String>) {
    let pairs: Vec<(Item, Option<usize>)> =
        entries.iter().map(|e| (e.item.clone(), e.from)).collect();
    let body = outline.write(&pairs);
    let kept: Vec<&Entry> = entries
        .iter()
        .filter(|e| outline.keeps(&e.item, e.from))
        .collect();
    // A text that is refused anyway is not parsed: deep nesting is an attack on the parser.
    if body.chars().count() > MAX_BODY || render::nesting_problem(&body).is_some() {
        return (body, kept.iter().map(|e| e.id.clone()).collect());
    }
    let items = Outline::parse(&body).items();
    // A paragraph typed as a list, say, reads back as several items: their ids follow words.
    let ids = if items.len() == kept.len() {
        kept.iter().map(|e| e.id.clone()).collect()
    } else {
        let old: Vec<Item> = kept.iter().map(|e| e.item.clone()).collect();
        let old_ids: Vec<String> = kept.iter().map(|e| e.id.clone()).collect();
        align_ids(&old, &old_ids, &items)
    };
    (body, ids)
}

/// Messages next to the items that cannot be saved as typed. An item left as it was is not
/// checked again: the text it came from was checked when it was saved.
pub(super) fn check(outline: &Outline, entries: &[Entry], errors: &mut FieldErrors) {
    for (row, entry) in rows(entries, None, None).iter().zip(entries) {
        if is_empty(&entry.item) || outline.unchanged(&entry.item, entry.from) {
            continue;
        }
        let field = format!("text-{}", row.id);
        let heading = entry.item.kind == ItemKind::Heading;
        if let Some(message) = crate::input::check(&row.name, &entry.item.text, !heading) {
            errors.add(field, message);
        } else if heading && entry.item.text.trim().chars().count() > 300 {
            errors.add(
                field,
                format!("{} must be 300 characters or fewer", row.name),
            );
        }
    }
}

/// An item as the page shows it.
pub(super) struct Row {
    pub(super) id: String,
    pub(super) kind: &'static str,
    pub(super) level: u8,
    pub(super) from: String,
    pub(super) text: String,
    /// "Statement 3": its label, and what its buttons are for.
    pub(super) name: String,
    pub(super) lines: usize,
    pub(super) first: bool,
    pub(super) last: bool,
    pub(super) notice: Option<&'static str>,
    /// Where the focus goes back to: the box of an item just added, the button of one just
    /// moved (so it can be pressed again), the notice where one was removed.
    pub(super) focus: bool,
    pub(super) focus_up: bool,
    pub(super) focus_down: bool,
    pub(super) focus_notice: bool,
}

/// The rows of the list, numbered kind by kind, with the notice of what was `done` (see
/// `notice`) on the item it names; `focus` is an item just added.
pub(super) fn rows(entries: &[Entry], done: Option<(&str, &str)>, focus: Option<&str>) -> Vec<Row> {
    let mut counts = [0usize; 4];
    let n = entries.len();
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let here = done.filter(|(at, _)| *at == e.id).map(|(_, d)| d);
            let slot = e.item.kind as usize;
            counts[slot] += 1;
            let wrapped: usize = e
                .item
                .text
                .split('\n')
                .map(|line| line.chars().count() / 70 + 1)
                .sum();
            Row {
                id: e.id.clone(),
                kind: e.item.kind.as_str(),
                level: e.item.level,
                from: e.from.map(|f| f.to_string()).unwrap_or_default(),
                text: e.item.text.clone(),
                name: format!("{} {}", e.item.kind.name(), counts[slot]),
                lines: wrapped.clamp(2, 20),
                first: i == 0,
                last: i + 1 == n,
                notice: here.and_then(notice),
                focus: focus == Some(e.id.as_str()),
                focus_up: here == Some("up") && i > 0 || here == Some("down") && i + 1 == n,
                focus_down: here == Some("down") && i + 1 < n || here == Some("up") && i == 0,
                focus_notice: here.is_some_and(|d| d.starts_with("removed")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Entry> {
        let outline = Outline::parse("## Rules\n\n- One\n- Two\n");
        let ids = ["s-rules", "s-one", "s-two"].map(String::from);
        saved_entries(&outline, &ids)
    }

    fn ids(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn buttons_name_what_they_do() {
        assert_eq!(Action::parse("up:s-one"), Action::Up("s-one".into()));
        assert_eq!(
            Action::parse("add:statement:s-one"),
            Action::Add(ItemKind::Statement, Some("s-one".into()))
        );
        assert_eq!(
            Action::parse("add:heading"),
            Action::Add(ItemKind::Heading, None)
        );
        assert_eq!(Action::parse("add:markdown"), Action::Save);
        assert_eq!(Action::parse("anything"), Action::Save);
    }

    #[test]
    fn moves_and_removals_say_so_where_they_happened() {
        let (moved, place) = apply(entries(), &Action::Up("s-two".into()));
        assert_eq!(ids(&moved), ["s-rules", "s-two", "s-one"]);
        assert_eq!(place.at.as_deref(), Some("s-two"));
        let (moved, _) = apply(entries(), &Action::Up("s-rules".into()));
        assert_eq!(ids(&moved), ["s-rules", "s-one", "s-two"]);
        let (left, place) = apply(entries(), &Action::Remove("s-two".into()));
        assert_eq!(ids(&left), ["s-rules", "s-one"]);
        assert_eq!(place.at.as_deref(), Some("s-one"));
        assert_eq!(
            place.done.and_then(notice),
            Some("The statement below this has been removed.")
        );
    }

    #[test]
    fn a_blank_goes_after_the_item_it_was_asked_for() {
        let mut list = entries();
        let id = with_blank(&mut list, ItemKind::Statement, Some("s-one"), Some("s-new"));
        assert_eq!(id, "s-new");
        assert_eq!(ids(&list), ["s-rules", "s-one", "s-new", "s-two"]);
        // An id already used is not taken twice.
        let id = with_blank(&mut list, ItemKind::Heading, None, Some("s-one"));
        assert_ne!(id, "s-one");
        assert_eq!(list.last().map(|e| e.item.level), Some(2));
    }

    #[test]
    fn repeated_or_malformed_ids_are_replaced() {
        let posted = posted_entries(
            &["s-a".into(), "s-a".into(), "<b>".into()],
            &["statement".into(), "heading".into(), "nonsense".into()],
            &["".into(), "9".into(), "".into()],
            &["0".into(), "".into(), "x".into()],
            &["One".into(), "Two".into(), "Three".into()],
        );
        assert_eq!(posted[0].id, "s-a");
        assert!(valid_id(&posted[1].id) && posted[1].id != "s-a");
        assert!(valid_id(&posted[2].id));
        assert_eq!(posted[1].item.level, 2);
        assert_eq!(posted[2].item.kind, ItemKind::Statement);
        assert_eq!((posted[0].from, posted[2].from), (Some(0), None));
    }
}
