//! Policy Markdown to HTML that is safe to show: rendered with pulldown-cmark, then
//! sanitised with ammonia, so no raw HTML, script or unsafe link reaches a signer.

use std::collections::HashSet;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};
use time::Date;

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
