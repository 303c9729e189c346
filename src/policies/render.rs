//! Policy Markdown to HTML that is safe to show: rendered with pulldown-cmark, then
//! sanitised with ammonia, so no raw HTML, script or unsafe link reaches a signer.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, LazyLock, Mutex},
};

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};
use time::Date;

/// The sanitised HTML of recently shown policy texts. Sanitising takes far longer than the
/// rest of a sign page, and on an INSET morning everyone reads the same few texts. The key is
/// the Markdown itself, so an edited draft can never be shown with old HTML.
static RENDERED: LazyLock<Mutex<HashMap<Arc<str>, Arc<str>>>> = LazyLock::new(Mutex::default);
const RENDERED_KEPT: usize = 64;

/// `markdown_to_html`, remembered for the texts shown most recently.
pub fn markdown_to_html_cached(markdown: &str) -> Arc<str> {
    if let Some(html) = RENDERED
        .lock()
        .ok()
        .and_then(|kept| kept.get(markdown).cloned())
    {
        return html;
    }
    let html: Arc<str> = markdown_to_html(markdown).into();
    if let Ok(mut kept) = RENDERED.lock() {
        if kept.len() >= RENDERED_KEPT {
            kept.clear();
        }
        kept.insert(markdown.into(), html.clone());
    }
    html
}

pub fn markdown_to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // The page's h1 is the policy's title: the body's top heading level becomes h2.
    let top = Parser::new_ext(markdown, options)
        .filter_map(|event| match event {
            Event::Start(Tag::Heading { level, .. }) => Some(level as usize),
            _ => None,
        })
        .min()
        .unwrap_or(2);
    let shift = 2usize.saturating_sub(top);
    let deeper = |level: HeadingLevel| {
        HeadingLevel::try_from((level as usize + shift).min(6)).unwrap_or(HeadingLevel::H6)
    };
    let parser = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: deeper(level),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(deeper(level))),
        other => other,
    });
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer"))
        .clean(&unsafe_html)
        .to_string()
}

/// Review facts are months on the paper forms: "November 2025".
pub fn month_year(date: Date) -> String {
    format!("{} {}", date.month(), date.year())
}

/// "23 November 2026", the way UK schools write dates.
pub fn long_date(date: Date) -> String {
    format!("{} {} {}", date.day(), date.month(), date.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_html_is_the_html_of_the_same_text() {
        let first = "- I will keep my password secret";
        let second = "- I will keep my password secret\n- I will lock my screen";
        assert_eq!(&*markdown_to_html_cached(first), markdown_to_html(first));
        assert_eq!(&*markdown_to_html_cached(first), markdown_to_html(first));
        let changed = markdown_to_html_cached(second);
        assert!(changed.contains("lock my screen"), "{changed}");
        assert_eq!(&*markdown_to_html_cached(first), markdown_to_html(first));
    }

    #[test]
    fn scripts_handlers_and_unsafe_links_are_removed() {
        let html = markdown_to_html(
            "Hi <script>alert(1)</script> <img src=x onerror=alert(2)>\n\n[x](javascript:alert(3)) \
             <iframe src=\"https://evil.example\"></iframe><style>p{}</style>",
        );
        for bad in [
            "<script",
            "onerror",
            "javascript:",
            "<iframe",
            "<style",
            "alert(1)",
        ] {
            assert!(!html.contains(bad), "{bad} survived in {html}");
        }
    }

    #[test]
    fn body_headings_sit_under_the_page_title() {
        assert!(markdown_to_html("# Top\n\n## Sub").contains("<h2>Top</h2>\n<h3>Sub</h3>"));
        assert!(markdown_to_html("## Within").contains("<h2>Within</h2>"));
    }

    #[test]
    fn lists_headings_and_links_survive() {
        let html =
            markdown_to_html("## Within\n\n- one\n   1. a\n\n[NCSC](https://www.ncsc.gov.uk/)");
        assert!(html.contains("<h2>Within</h2>"));
        assert!(html.contains("<ol>"));
        assert!(
            html.contains(
                r#"<a href="https://www.ncsc.gov.uk/" rel="noopener noreferrer">NCSC</a>"#
            )
        );
    }
}
