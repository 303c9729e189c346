//! A policy's text as the statement editor shows it: a list of items (section headings,
//! statements, paragraphs, and Markdown blocks the editor cannot show as a list) and back.
//!
//! An item left as it was goes back byte for byte, with the spacing it had around it, so
//! saving a text unchanged keeps its content hash. An item that was added, moved or
//! rewritten is written in one plain form that renders as the editor showed it.

use std::{
    collections::{HashMap, HashSet},
    ops::Range,
};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Heading,
    Statement,
    Paragraph,
    /// Anything else, such as a table or a numbered list standing on its own.
    Markdown,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Heading => "heading",
            ItemKind::Statement => "statement",
            ItemKind::Paragraph => "paragraph",
            ItemKind::Markdown => "markdown",
        }
    }

    pub fn parse(text: &str) -> Option<ItemKind> {
        [
            ItemKind::Heading,
            ItemKind::Statement,
            ItemKind::Paragraph,
            ItemKind::Markdown,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }

    /// What the editor calls it: "Statement 3".
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Heading => "Section heading",
            ItemKind::Statement => "Statement",
            ItemKind::Paragraph => "Paragraph",
            ItemKind::Markdown => "Markdown block",
        }
    }
}

/// One item as the editor shows it. `level` is a heading's (1 to 6); 0 for the rest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Item {
    pub kind: ItemKind,
    pub level: u8,
    pub text: String,
}

#[derive(Clone, Debug)]
struct Piece {
    item: Item,
    /// The item as written in the text.
    raw: String,
    /// The whitespace after it: before the next item, or the end of the text.
    after: String,
}

/// A text split into items, keeping what each was written as.
#[derive(Clone, Debug, Default)]
pub struct Outline {
    lead: String,
    pieces: Vec<Piece>,
}

const OPTIONS: Options = Options::ENABLE_TABLES.union(Options::ENABLE_STRIKETHROUGH);

/// Where each top-level block of `markdown` is: a bullet list's items one by one.
fn spans(markdown: &str) -> Vec<(ItemKind, u8, Range<usize>)> {
    let mut spans = vec![];
    let mut depth = 0usize;
    let mut in_bullets = false;
    for (event, range) in Parser::new_ext(markdown, OPTIONS).into_offset_iter() {
        match event {
            Event::Start(tag) => {
                if depth == 0 {
                    match tag {
                        Tag::List(None) => in_bullets = true,
                        Tag::Heading { level, .. } => {
                            spans.push((ItemKind::Heading, level as u8, range))
                        }
                        Tag::Paragraph => spans.push((ItemKind::Paragraph, 0, range)),
                        _ => spans.push((ItemKind::Markdown, 0, range)),
                    }
                } else if depth == 1 && in_bullets && matches!(tag, Tag::Item) {
                    spans.push((ItemKind::Statement, 0, range));
                }
                depth += 1;
            }
            Event::End(tag) => {
                depth = depth.saturating_sub(1);
                if depth == 0 && matches!(tag, TagEnd::List(_)) {
                    in_bullets = false;
                }
            }
            _ if depth == 0 => spans.push((ItemKind::Markdown, 0, range)),
            _ => {}
        }
    }
    spans
}

/// The words of a statement: after its marker, with the indentation of the lines under it
/// taken back to the left edge.
fn statement_text(raw: &str) -> String {
    let mut lines = raw.split('\n');
    let first = lines.next().unwrap_or_default();
    let indent = first.len() - first.trim_start_matches(' ').len();
    let after_marker = first.get(indent + 1..).unwrap_or_default();
    let spaces = after_marker.len() - after_marker.trim_start_matches(' ').len();
    // Five spaces or more after the marker start code: only the first belongs to the marker.
    let spaces = if spaces > 4 { 1 } else { spaces };
    let width = indent + 1 + spaces;
    let mut text = vec![after_marker.get(spaces..).unwrap_or_default()];
    for line in lines {
        let leading = line.len() - line.trim_start_matches(' ').len();
        text.push(&line[leading.min(width)..]);
    }
    text.join("\n")
}

fn heading_text(raw: &str) -> String {
    let trimmed = raw.trim_start();
    // A heading is one line, so a tab pasted into it reads as the space it shows as.
    if trimmed.starts_with('#') && !trimmed.contains('\n') {
        trimmed.trim_start_matches('#').trim().replace('\t', " ")
    } else {
        // A heading underlined with = or -: its words are every line but the last.
        let lines: Vec<&str> = raw.lines().collect();
        lines[..lines.len().saturating_sub(1)]
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ")
            .replace('\t', " ")
    }
}

fn text_of(kind: ItemKind, raw: &str) -> String {
    match kind {
        ItemKind::Heading => heading_text(raw),
        ItemKind::Statement => statement_text(raw),
        ItemKind::Paragraph => raw
            .split('\n')
            .map(str::trim_start)
            .collect::<Vec<_>>()
            .join("\n"),
        ItemKind::Markdown => raw.to_owned(),
    }
}

/// The plain form of an item the editor changed; a statement with `marker` (`-`, `*` or `+`,
/// as its list has it).
fn written_with(item: &Item, marker: char) -> String {
    let text = item.text.replace("\r\n", "\n");
    let text = text.trim_matches('\n');
    match item.kind {
        ItemKind::Heading => {
            let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{} {words}", "#".repeat(item.level.clamp(1, 6).into()))
        }
        ItemKind::Statement => {
            let lines: Vec<String> = text
                .split('\n')
                .enumerate()
                .map(|(i, line)| match (i, line.trim().is_empty()) {
                    (0, _) => format!("{marker} {line}"),
                    (_, true) => String::new(),
                    _ => format!("  {line}"),
                })
                .collect();
            lines.join("\n").trim_end().to_owned()
        }
        ItemKind::Paragraph => text
            .split('\n')
            .map(str::trim_start)
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .to_owned(),
        ItemKind::Markdown => text.trim_end().to_owned(),
    }
}

/// Whether an item says nothing, so saving drops it.
pub fn is_empty(item: &Item) -> bool {
    item.text.trim().is_empty()
}

impl Outline {
    pub fn parse(markdown: &str) -> Outline {
        let mut outline = Outline::default();
        let mut pos = 0usize;
        for (kind, level, range) in spans(markdown) {
            let start = range.start.max(pos);
            let end = range.end.max(start);
            let gap = &markdown[pos..start];
            if !gap.trim().is_empty() {
                // Text no block claims, such as a link's reference: kept as Markdown.
                let from = pos + (gap.len() - gap.trim_start().len());
                let to = pos + gap.trim_end().len();
                outline.push(markdown, pos, ItemKind::Markdown, 0, from..to);
                pos = to;
            }
            // A block indented from the margin (code, say) starts at its line's start, so
            // its indentation is its own and goes where it goes.
            let line = markdown[..start].rfind('\n').map_or(0, |n| n + 1).max(pos);
            let start = if markdown[line..start].chars().all(|c| c == ' ' || c == '\t') {
                line
            } else {
                start
            };
            let to = start + markdown[start..end].trim_end().len();
            if to > start {
                outline.push(markdown, pos, kind, level, start..to);
                pos = to;
            }
        }
        let rest = &markdown[pos..];
        if !rest.trim().is_empty() {
            let from = pos + (rest.len() - rest.trim_start().len());
            let to = pos + rest.trim_end().len();
            outline.push(markdown, pos, ItemKind::Markdown, 0, from..to);
            pos = to;
        }
        let tail = markdown[pos..].to_owned();
        match outline.pieces.last_mut() {
            Some(last) => last.after = tail,
            None => outline.lead = tail,
        }
        outline
    }

    /// Adds the item at `range`, the whitespace since `pos` going before it.
    fn push(&mut self, markdown: &str, pos: usize, kind: ItemKind, level: u8, range: Range<usize>) {
        let before = markdown[pos..range.start].to_owned();
        match self.pieces.last_mut() {
            Some(last) => last.after.push_str(&before),
            None => self.lead.push_str(&before),
        }
        let raw = markdown[range].to_owned();
        self.pieces.push(Piece {
            item: Item {
                kind,
                level,
                text: text_of(kind, &raw),
            },
            raw,
            after: String::new(),
        });
    }

    pub fn items(&self) -> Vec<Item> {
        self.pieces.iter().map(|p| p.item.clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Whether `item`, said to come from item `from` of this outline, is as it was.
    fn kept(&self, item: &Item, from: Option<usize>) -> Option<&Piece> {
        let piece = self.pieces.get(from?)?;
        (piece.item.kind == item.kind
            && piece.item.level == item.level
            && piece.item.text == item.text.replace("\r\n", "\n"))
        .then_some(piece)
    }

    /// Whether `item`, said to come from item `from`, is as it was.
    pub fn unchanged(&self, item: &Item, from: Option<usize>) -> bool {
        self.kept(item, from).is_some()
    }

    /// Whether `item`, from item `from`, goes into the text: unless it is empty and new or
    /// changed, since an item left as it was stays, even an empty one.
    pub fn keeps(&self, item: &Item, from: Option<usize>) -> bool {
        !is_empty(item) || self.unchanged(item, from)
    }

    /// Whether the statement at `index` is in a list with blank lines between its items.
    fn loose(&self, index: usize) -> bool {
        let statement = |i: usize| {
            self.pieces
                .get(i)
                .is_some_and(|p| p.item.kind == ItemKind::Statement)
        };
        let blank_after =
            |i: usize| statement(i) && statement(i + 1) && self.pieces[i].after.contains("\n\n");
        statement(index) && (blank_after(index) || (index > 0 && blank_after(index - 1)))
    }

    /// The text of `items`, each with the index of the item of this outline it came from.
    /// Empty items that are new or changed are left out. A statement written afresh takes the
    /// marker of the statements around it, and the spacing of its list.
    pub fn write(&self, items: &[(Item, Option<usize>)]) -> String {
        let items: Vec<&(Item, Option<usize>)> = items
            .iter()
            .filter(|(item, from)| self.keeps(item, *from))
            .collect();
        let kept: Vec<Option<&Piece>> = items
            .iter()
            .map(|(item, from)| self.kept(item, *from))
            .collect();
        let marker_of = |i: usize| {
            kept[i]
                .filter(|p| p.item.kind == ItemKind::Statement)
                .and_then(|p| p.raw.trim_start().chars().next())
        };
        let mut out = String::new();
        for (i, (item, from)) in items.iter().enumerate() {
            if i == 0 {
                if kept[0].is_some() && *from == Some(0) {
                    out.push_str(&self.lead);
                }
            } else {
                let (previous, previous_from) = items[i - 1];
                let next_to_it = matches!((previous_from, from), (Some(a), Some(b)) if a + 1 == *b);
                let loose = [*previous_from, *from]
                    .into_iter()
                    .flatten()
                    .any(|f| self.loose(f));
                match kept[i - 1] {
                    Some(piece) if kept[i].is_some() && next_to_it => out.push_str(&piece.after),
                    _ if previous.kind == ItemKind::Statement
                        && item.kind == ItemKind::Statement
                        && !loose =>
                    {
                        out.push('\n')
                    }
                    _ => out.push_str("\n\n"),
                }
            }
            match kept[i] {
                Some(piece) => out.push_str(&piece.raw),
                None => {
                    // The marker of the nearest statement kept as written, before or after.
                    let near = |range: &mut dyn Iterator<Item = usize>| {
                        range
                            .take_while(|j| items[*j].0.kind == ItemKind::Statement)
                            .find_map(marker_of)
                    };
                    let marker = near(&mut (0..i).rev())
                        .or_else(|| near(&mut (i + 1..items.len())))
                        .filter(|m| matches!(m, '-' | '*' | '+'))
                        .unwrap_or('-');
                    out.push_str(&written_with(item, marker));
                }
            }
        }
        match (items.last(), kept.last()) {
            (Some((_, from)), Some(Some(piece))) if *from == Some(self.pieces.len() - 1) => {
                out.push_str(&piece.after)
            }
            (Some(_), _) => out.push('\n'),
            (None, _) => {}
        }
        out
    }
}

/// A new id for an item, not among `taken`.
pub fn fresh_id(taken: &HashSet<String>) -> String {
    loop {
        let id = format!("s-{:08x}", rand::random::<u32>());
        if !taken.contains(&id) {
            return id;
        }
    }
}

/// Whether `id` could be an item's id.
pub fn valid_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Ids for `items`: the id an item had, where an item of `old` says exactly the same, and a
/// new one otherwise. For a text edited as Markdown, or ids not yet given.
pub fn align_ids(old: &[Item], old_ids: &[String], items: &[Item]) -> Vec<String> {
    // Each old item's ids by its words, first first.
    let mut by_item: HashMap<&Item, Vec<&String>> = HashMap::new();
    for (item, id) in old.iter().zip(old_ids).rev() {
        if valid_id(id) {
            by_item.entry(item).or_default().push(id);
        }
    }
    let mut taken: HashSet<String> = old_ids.iter().cloned().collect();
    let mut given: HashSet<String> = HashSet::new();
    let mut ids = vec![];
    for item in items {
        let reused = by_item
            .get_mut(item)
            .and_then(Vec::pop)
            .filter(|id| !given.contains(*id))
            .cloned();
        let id = reused.unwrap_or_else(|| fresh_id(&taken));
        taken.insert(id.clone());
        given.insert(id.clone());
        ids.push(id);
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{render::markdown_to_html, samples};

    fn unchanged(outline: &Outline) -> Vec<(Item, Option<usize>)> {
        outline
            .items()
            .into_iter()
            .enumerate()
            .map(|(i, item)| (item, Some(i)))
            .collect()
    }

    fn all_rewritten(outline: &Outline) -> Vec<(Item, Option<usize>)> {
        outline
            .items()
            .into_iter()
            .map(|item| (item, None))
            .collect()
    }

    #[test]
    fn each_sample_saved_unchanged_is_the_same_text_byte_for_byte() {
        for sample in [samples::cranbrook(), samples::staff()] {
            let body = sample.content.body_md;
            let outline = Outline::parse(&body);
            assert!(outline.len() > 10, "{}", outline.len());
            assert_eq!(outline.write(&unchanged(&outline)), body);
        }
    }

    #[test]
    fn each_sample_written_afresh_renders_the_same() {
        for sample in [samples::cranbrook(), samples::staff()] {
            let body = sample.content.body_md;
            let outline = Outline::parse(&body);
            let afresh = outline.write(&all_rewritten(&outline));
            assert_eq!(markdown_to_html(&afresh), markdown_to_html(&body));
        }
    }

    #[test]
    fn the_cranbrook_sample_is_statements_under_section_headings() {
        let outline = Outline::parse(&samples::cranbrook().content.body_md);
        let items = outline.items();
        assert_eq!(items[0].kind, ItemKind::Paragraph);
        let headings: Vec<&str> = items
            .iter()
            .filter(|i| i.kind == ItemKind::Heading)
            .map(|i| i.text.as_str())
            .collect();
        assert!(
            headings.contains(&"Within Social Networking"),
            "{headings:?}"
        );
        let laptops = items
            .iter()
            .find(|i| i.text.contains("1. My class laptop"))
            .expect("the statement with a numbered list under it");
        assert_eq!(laptops.kind, ItemKind::Statement);
        assert!(
            laptops.text.contains("\n 1. My class laptop"),
            "{laptops:?}"
        );
        assert!(!items.iter().any(|i| i.kind == ItemKind::Markdown));
    }

    #[test]
    fn a_text_written_its_own_way_keeps_its_way_where_unchanged() {
        let body = "Intro\nover two lines\n* One\n*   Two\n\n\n## Rules ##\n\nClosing\n\n";
        let outline = Outline::parse(body);
        assert_eq!(outline.write(&unchanged(&outline)), body);
        // Only the item changed is written the editor's way.
        let mut items = unchanged(&outline);
        items[2].0.text = "Two, rewritten".into();
        assert_eq!(
            outline.write(&items),
            "Intro\nover two lines\n* One\n* Two, rewritten\n\n## Rules ##\n\nClosing\n\n"
        );
    }

    #[test]
    fn awkward_texts_saved_unchanged_stay_byte_for_byte() {
        for body in [
            "#1 priority\n---\n\nText\n",
            "- One\n-\n- Two\n",
            "#\n\nText",
            "## 1.\tIntroduction\n",
            "Intro\n\n    code\n    more\n\nAfter\n",
            "  - indented\n  - list\n",
            "> quoted\n> text\n\n<div>html</div>\n\n***\n",
            "Para\n- straight after\n\r\n",
        ] {
            let outline = Outline::parse(body);
            assert_eq!(outline.write(&unchanged(&outline)), body, "{body:?}");
            if outline.items().iter().any(is_empty) || body.contains('\t') {
                // Written afresh, an empty item goes, as one the editor adds and leaves empty
                // does; and a heading's tab is the space it shows as.
                continue;
            }
            let afresh = outline.write(&all_rewritten(&outline));
            assert_eq!(
                markdown_to_html(&afresh),
                markdown_to_html(body),
                "{body:?} written afresh as {afresh:?}"
            );
        }
    }

    #[test]
    fn a_statement_written_afresh_follows_its_lists_marker_and_spacing() {
        let outline = Outline::parse("* One\n* Two\n* Three\n");
        let mut items = unchanged(&outline);
        items[1].0.text = "Two, rewritten".into();
        assert_eq!(outline.write(&items), "* One\n* Two, rewritten\n* Three\n");
        let outline = Outline::parse("- A\n\n- B\n\n- C\n");
        let mut items = unchanged(&outline);
        items.swap(1, 2);
        let moved = outline.write(&items);
        assert_eq!(moved, "- A\n\n- C\n\n- B\n");
    }

    #[test]
    fn moving_a_statement_keeps_the_rest_as_written() {
        let body = "Intro.\n\n- One\n- Two\n- Three\n\n## Later\n\n- Four\n";
        let outline = Outline::parse(body);
        let mut items = unchanged(&outline);
        items.swap(1, 2);
        assert_eq!(
            outline.write(&items),
            "Intro.\n\n- Two\n- One\n- Three\n\n## Later\n\n- Four\n"
        );
        // Moved past the heading, the statement joins the next section's list.
        let mut items = unchanged(&outline);
        let three = items.remove(3);
        items.insert(4, three);
        assert_eq!(
            outline.write(&items),
            "Intro.\n\n- One\n- Two\n\n## Later\n\n- Three\n- Four\n"
        );
    }

    #[test]
    fn added_and_rewritten_items_are_written_plainly_and_empty_ones_dropped() {
        let outline = Outline::parse("- One\n- Two\n");
        let mut items = unchanged(&outline);
        items[1].0.text = "Two, rewritten\nover two lines".into();
        items.push((
            Item {
                kind: ItemKind::Heading,
                level: 2,
                text: "Finally".into(),
            },
            None,
        ));
        items.push((
            Item {
                kind: ItemKind::Statement,
                level: 0,
                text: "  ".into(),
            },
            None,
        ));
        items.push((
            Item {
                kind: ItemKind::Paragraph,
                level: 0,
                text: "Closing words.".into(),
            },
            None,
        ));
        assert_eq!(
            outline.write(&items),
            "- One\n- Two, rewritten\n  over two lines\n\n## Finally\n\nClosing words.\n"
        );
    }

    #[test]
    fn tables_numbered_lists_and_references_stay_markdown_blocks() {
        let body = "| A | B |\n| - | - |\n| 1 | 2 |\n\n1. First\n2. Second\n\n[ncsc]: https://www.ncsc.gov.uk\n\n- See [ncsc].\n";
        let outline = Outline::parse(body);
        let kinds: Vec<ItemKind> = outline.items().iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                ItemKind::Markdown,
                ItemKind::Markdown,
                ItemKind::Markdown,
                ItemKind::Statement
            ]
        );
        assert_eq!(outline.write(&unchanged(&outline)), body);
        let afresh = outline.write(&all_rewritten(&outline));
        assert_eq!(markdown_to_html(&afresh), markdown_to_html(body));
    }

    #[test]
    fn ids_follow_the_words_when_the_text_is_edited_as_markdown() {
        let old = Outline::parse("- One\n- Two\n").items();
        let ids = vec!["s-one".to_owned(), "s-two".to_owned()];
        let new = Outline::parse("- Two\n- Three\n- One\n").items();
        let aligned = align_ids(&old, &ids, &new);
        assert_eq!(aligned[0], "s-two");
        assert_eq!(aligned[2], "s-one");
        assert!(valid_id(&aligned[1]) && !ids.contains(&aligned[1]));
    }
}
