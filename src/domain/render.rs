//! Policy Markdown to HTML that is safe to show: rendered with pulldown-cmark, then
//! sanitised with ammonia, so no raw HTML, script or unsafe link reaches a signer.

use std::{
    collections::HashSet,
    sync::{
        Arc, LazyLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};
use quick_cache::{Weighter, sync::Cache};
use time::Date;

/// How deep lists, quotes and brackets may nest in a policy's text. Real policies nest three
/// or four levels; a text nested thousands deep is an attack on the renderer.
pub const MAX_NESTING: usize = 16;

/// Why `markdown` nests too deeply to render, found by one pass over it before any parsing.
pub fn nesting_problem(markdown: &str) -> Option<String> {
    let mut brackets = 0usize;
    let mut parens = 0usize;
    for line in markdown.lines() {
        if line.trim().is_empty() {
            // A blank line ends a paragraph, and with it any bracket left open.
            brackets = 0;
            parens = 0;
            continue;
        }
        if container_depth(line) > MAX_NESTING {
            return Some(format!(
                "The policy text nests lists or quotes more than {MAX_NESTING} levels deep. Use fewer levels"
            ));
        }
        for c in line.chars() {
            match c {
                '[' => brackets += 1,
                ']' => brackets = brackets.saturating_sub(1),
                '(' => parens += 1,
                ')' => parens = parens.saturating_sub(1),
                _ => {}
            }
            if brackets > MAX_NESTING * 2 || parens > MAX_NESTING * 2 {
                return Some(format!(
                    "The policy text opens more than {} brackets inside each other. Close some, or use fewer",
                    MAX_NESTING * 2
                ));
            }
        }
    }
    None
}

/// How many quotes and list items a line's start opens: every two spaces of indentation (a
/// nested list's), then each `>` and each list marker.
fn container_depth(line: &str) -> usize {
    let mut rest = line.trim_start_matches([' ', '\t']);
    let mut depth = (line.len() - rest.len()) / 2;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix('>') {
            depth += 1;
            rest = after;
            continue;
        }
        let marker = rest
            .strip_prefix(['-', '*', '+'])
            .or_else(|| {
                let digits =
                    rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                (digits > 0)
                    .then(|| rest[digits..].strip_prefix(['.', ')']))
                    .flatten()
            })
            .filter(|after| after.starts_with([' ', '\t']));
        match marker {
            Some(after) => {
                depth += 1;
                rest = after;
            }
            None => return depth,
        }
    }
}

/// Renders policy texts behind a real bound: at most one render per core runs at once (each
/// on the blocking pool, never on a request thread), and a text many people open at the same
/// moment is rendered once while the others wait for it.
pub struct Renderer {
    kept: Cache<Arc<str>, Arc<str>, HtmlBytes>,
    permits: tokio::sync::Semaphore,
    running: AtomicUsize,
    /// The most renders seen running at once, and how many there have been: for the tests.
    pub peak: AtomicUsize,
    pub renders: AtomicUsize,
}

/// Weighs a kept text by its bytes, Markdown and HTML.
#[derive(Clone)]
struct HtmlBytes;

impl Weighter<Arc<str>, Arc<str>> for HtmlBytes {
    fn weight(&self, markdown: &Arc<str>, html: &Arc<str>) -> u64 {
        (markdown.len() + html.len()) as u64
    }
}

impl Renderer {
    /// A renderer running at most `permits` renders at once, keeping up to 16 MiB of texts.
    pub fn new(permits: usize) -> Self {
        Renderer {
            kept: Cache::with_weighter(256, 16 << 20, HtmlBytes),
            permits: tokio::sync::Semaphore::new(permits.max(1)),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            renders: AtomicUsize::new(0),
        }
    }

    /// The sanitised HTML of `markdown`. A text that nests too deeply is not parsed at all.
    pub async fn html(&self, markdown: &str) -> Arc<str> {
        let key: Arc<str> = markdown.into();
        match self.kept.get_value_or_guard_async(&key).await {
            Ok(html) => html,
            Err(guard) => {
                let html = self.render(key).await;
                let _ = guard.insert(html.clone());
                html
            }
        }
    }

    async fn render(&self, markdown: Arc<str>) -> Arc<str> {
        if let Some(problem) = nesting_problem(&markdown) {
            return format!("<p>{problem}.</p>").into();
        }
        self.renders.fetch_add(1, Ordering::SeqCst);
        match self.bounded(move || markdown_to_html(&markdown)).await {
            Some(html) => html.into(),
            None => "<p>This text cannot be shown.</p>".into(),
        }
    }

    /// Runs heavy work on a policy text (rendering it, comparing two versions) on the blocking
    /// pool, at most one per permit at once. None if the work panicked.
    pub async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        // The semaphore is never closed, so a permit always comes.
        let _permit = self.permits.acquire().await;
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let done = tokio::task::spawn_blocking(work).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        done.map_err(|err| tracing::error!(error = %err, "work on a policy text failed"))
            .ok()
    }
}

/// The portal's renderer: one render per core at a time.
static RENDERER: LazyLock<Renderer> = LazyLock::new(|| {
    Renderer::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
});

/// The sanitised HTML of a policy text, from the portal's bounded renderer.
pub async fn policy_html(markdown: &str) -> Arc<str> {
    RENDERER.html(markdown).await
}

/// Heavy work on policy texts, off the request threads and under the renderer's bound.
pub async fn off_request_threads<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    RENDERER.bounded(work).await
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
    // No images, and no links that are not absolute: `//host/…` and relative links could make
    // a signer's browser fetch one of the portal's own pages with their cookies.
    ammonia::Builder::default()
        .rm_tags(["img"])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::Deny)
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_first_views_of_a_text_render_it_once_and_renders_are_bounded() {
        let renderer = Arc::new(Renderer::new(2));
        let text = format!(
            "{}\n\n- I will lock my screen",
            "A sentence of policy. ".repeat(20_000)
        );
        let views: Vec<_> = (0..50)
            .map(|_| {
                let renderer = renderer.clone();
                let text = text.clone();
                tokio::spawn(async move { renderer.html(&text).await })
            })
            .collect();
        for view in views {
            assert!(view.await.unwrap().contains("lock my screen"));
        }
        assert_eq!(
            renderer.renders.load(Ordering::SeqCst),
            1,
            "one render, 50 views"
        );
        // Twenty different texts at once: never more than two renders running.
        let drafts: Vec<_> = (0..20)
            .map(|n| {
                let renderer = renderer.clone();
                let text = format!("{}{n}", "A draft sentence. ".repeat(20_000));
                tokio::spawn(async move { renderer.html(&text).await })
            })
            .collect();
        for draft in drafts {
            draft.await.unwrap();
        }
        assert_eq!(renderer.renders.load(Ordering::SeqCst), 21);
        assert!(
            renderer.peak.load(Ordering::SeqCst) <= 2,
            "{:?}",
            renderer.peak
        );
        assert_eq!(
            renderer.peak.load(Ordering::SeqCst),
            2,
            "the bound was reached"
        );
    }

    #[test]
    fn nesting_is_measured_before_parsing_and_deep_texts_are_refused() {
        assert_eq!(
            nesting_problem("- one\n  - two\n    1. three\n\n> quoted"),
            None
        );
        assert!(nesting_problem(&">".repeat(17)).is_some());
        assert!(nesting_problem(&"- ".repeat(17)).is_some());
        assert!(nesting_problem(&format!("{}item", " ".repeat(40))).is_some());
        assert!(nesting_problem(&"[".repeat(40)).is_some());
        assert_eq!(nesting_problem(&"[a](b) ".repeat(1000)), None);
        // Fifteen levels are fine.
        assert_eq!(nesting_problem(&format!("{}x", "> ".repeat(15))), None);
    }

    #[test]
    fn images_and_links_that_are_not_absolute_are_dropped() {
        let html = markdown_to_html(
            "![x](/s/cranbrook/compliance) [a](//evil.example/x) [b](/s/cranbrook/people) \
             [c](people) [NCSC](https://www.ncsc.gov.uk/)",
        );
        for bad in ["<img", "//evil.example", "/s/cranbrook", "href=\"people\""] {
            assert!(!html.contains(bad), "{bad} survived in {html}");
        }
        assert!(
            html.contains(r#"href="https://www.ncsc.gov.uk/""#),
            "{html}"
        );
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
