//! Long lists, 50 to a page: which page was asked for, and the links to the others. The page
//! is read from `?page=` leniently (anything that is not a page number is the first page), and
//! each link keeps the list's filters but not a one-off notice such as "3 people reminded".

use url::form_urlencoded;

pub const PER_PAGE: usize = 50;

/// The page of a list that was asked for, before the list is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Requested(usize);

impl Requested {
    /// The `page` in a raw query string; the first page when there is none, or it is not a
    /// page number.
    pub fn from_query(raw: Option<&str>) -> Requested {
        let page = raw
            .map(|raw| {
                form_urlencoded::parse(raw.as_bytes())
                    .filter(|(key, _)| key == "page")
                    .filter_map(|(_, value)| value.trim().parse::<usize>().ok())
                    .last()
                    .unwrap_or(1)
            })
            .unwrap_or(1);
        Requested(page.clamp(1, 1_000_000))
    }

    pub fn first() -> Requested {
        Requested(1)
    }

    pub fn number(self) -> usize {
        self.0
    }

    /// How many rows come before this page.
    pub fn offset(self) -> usize {
        (self.0 - 1) * PER_PAGE
    }

    /// `offset` for SQL.
    pub fn offset_i64(self) -> i64 {
        i64::try_from(self.offset()).unwrap_or(i64::MAX)
    }

    pub fn limit_i64() -> i64 {
        PER_PAGE as i64
    }

    /// This page of rows already in memory, or None if it lies beyond their end.
    pub fn slice<T>(self, rows: &[T]) -> Option<&[T]> {
        let start = self.offset();
        if start > 0 && start >= rows.len() {
            return None;
        }
        rows.get(start..rows.len().min(start + PER_PAGE))
    }
}

/// The parameters of the raw query `raw` named in `keep` that have a value, as a query
/// string: a list's filters, without its page or a one-off notice.
pub fn kept(raw: Option<&str>, keep: &[&str]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if keep.contains(&key.as_ref()) && !value.is_empty() {
            query.append_pair(&key, &value);
        }
    }
    query.finish()
}

/// One link in the row of page numbers: a number, or a gap ("…").
#[derive(Clone, Debug, PartialEq)]
pub struct PageLink {
    pub number: Option<usize>,
    pub href: String,
    pub current: bool,
}

/// Where a shown page sits in its list, and the links to the other pages.
#[derive(Clone, Debug)]
pub struct Pagination {
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    /// The list's address with its filters, ready for `page=N`.
    base: String,
    /// Where the links land on the page, such as "#outstanding".
    fragment: &'static str,
}

impl Pagination {
    /// Page `page` of `total` rows at `path`; `raw` is the query the list was asked with, of
    /// which the parameters named in `keep` carry over to the other pages.
    pub fn new(
        path: &str,
        raw: Option<&str>,
        keep: &[&str],
        page: Requested,
        total: usize,
    ) -> Pagination {
        let query = kept(raw, keep);
        let base = if query.is_empty() {
            format!("{path}?")
        } else {
            format!("{path}?{query}&")
        };
        Pagination {
            page: page.number(),
            pages: total.div_ceil(PER_PAGE).max(1),
            total,
            base,
            fragment: "",
        }
    }

    /// The links go to this place on the page.
    pub fn landing_at(mut self, fragment: &'static str) -> Pagination {
        self.fragment = fragment;
        self
    }

    pub fn href(&self, page: usize) -> String {
        format!("{}page={page}{}", self.base, self.fragment)
    }

    /// The position of the first and last row shown, counting from 1.
    pub fn first_shown(&self) -> usize {
        ((self.page - 1) * PER_PAGE + 1).min(self.total)
    }

    pub fn last_shown(&self) -> usize {
        (self.page * PER_PAGE).min(self.total)
    }

    pub fn previous(&self) -> Option<String> {
        (self.page > 1).then(|| self.href(self.page - 1))
    }

    pub fn next(&self) -> Option<String> {
        (self.page < self.pages).then(|| self.href(self.page + 1))
    }

    /// The first and last page, this one and its neighbours, with gaps between.
    pub fn links(&self) -> Vec<PageLink> {
        let mut links = Vec::new();
        let mut last = 0;
        for number in 1..=self.pages {
            let near = number.abs_diff(self.page) <= 1;
            if number != 1 && number != self.pages && !near {
                continue;
            }
            if number > last + 1 {
                links.push(PageLink {
                    number: None,
                    href: String::new(),
                    current: false,
                });
            }
            links.push(PageLink {
                number: Some(number),
                href: self.href(number),
                current: number == self.page,
            });
            last = number;
        }
        links
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_asked_for_is_read_leniently() {
        assert_eq!(Requested::from_query(None).number(), 1);
        assert_eq!(Requested::from_query(Some("q=a&page=3")).number(), 3);
        assert_eq!(Requested::from_query(Some("page=0")).number(), 1);
        assert_eq!(Requested::from_query(Some("page=two")).number(), 1);
        assert_eq!(Requested::from_query(Some("page=-2")).number(), 1);
        assert_eq!(
            Requested::from_query(Some("page=99999999999999999999")).number(),
            1
        );
        assert_eq!(Requested::from_query(Some("page=3")).offset(), 100);
    }

    #[test]
    fn links_keep_the_filters_and_drop_the_notices() {
        let p = Pagination::new(
            "/s/a/people",
            Some("q=Sam+T%26&status=active&marked_left=3&page=2&group="),
            &["q", "status", "group"],
            Requested(2),
            120,
        );
        assert_eq!(p.pages, 3);
        assert_eq!((p.first_shown(), p.last_shown()), (51, 100));
        assert_eq!(
            p.next().as_deref(),
            Some("/s/a/people?q=Sam+T%26&status=active&page=3")
        );
        assert_eq!(
            p.previous().as_deref(),
            Some("/s/a/people?q=Sam+T%26&status=active&page=1")
        );
        let last = Pagination::new("/x", None, &[], Requested(3), 120).landing_at("#list");
        assert_eq!(last.next(), None);
        assert_eq!((last.first_shown(), last.last_shown()), (101, 120));
        assert_eq!(last.href(1), "/x?page=1#list");
    }

    #[test]
    fn page_numbers_show_the_ends_and_the_neighbours() {
        let numbers = |page, total| {
            Pagination::new("/x", None, &[], Requested(page), total)
                .links()
                .iter()
                .map(|l| l.number.map_or("…".to_owned(), |n| n.to_string()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(numbers(1, 10), "1");
        assert_eq!(numbers(1, 260), "1 2 … 6");
        assert_eq!(numbers(4, 260), "1 … 3 4 5 6");
        assert_eq!(numbers(3, 160), "1 2 3 4");
        assert_eq!(numbers(1, 0), "1");
    }

    #[test]
    fn a_page_beyond_the_rows_in_memory_is_none() {
        let rows: Vec<usize> = (0..60).collect();
        assert_eq!(Requested(2).slice(&rows).map(<[usize]>::len), Some(10));
        assert_eq!(Requested(3).slice(&rows), None);
        assert_eq!(
            Requested(1).slice(&[] as &[usize]).map(<[usize]>::len),
            Some(0)
        );
    }
}
