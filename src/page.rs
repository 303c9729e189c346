//! Page chrome every page shares: the navigation bar and a rejected form's messages.

/// The top bar of every page.
#[derive(Default, Clone)]
pub struct Nav {
    pub user_name: Option<String>,
    pub school_slug: Option<String>,
    pub school_name: Option<String>,
    /// The sections this person's roles open.
    pub links: Vec<NavLink>,
    /// No mail server is set, and this person's work sends email (the SBM, DPO, head and
    /// admin): every page says so.
    pub mail_waits: bool,
    /// The school's crest and the stylesheet of its colour, if it has them.
    pub crest: Option<String>,
    pub colour_css: Option<String>,
}

/// A section in the top bar.
#[derive(Clone, Debug, PartialEq)]
pub struct NavLink {
    pub href: String,
    pub name: &'static str,
    /// `aria-current`: "page" on the section's own page, "true" on a page within it.
    pub current: Option<&'static str>,
}

impl NavLink {
    /// The sections at these addresses, with the one `path` is in marked as current: the
    /// longest address that `path` starts with, so that a policy's page is within "Manage
    /// policies" rather than the school's home.
    pub fn sections(links: Vec<(String, &'static str)>, path: &str) -> Vec<NavLink> {
        let trimmed = |href: &str| href.trim_end_matches('/').to_owned();
        let path = trimmed(path);
        let current = links
            .iter()
            .map(|(href, _)| trimmed(href))
            .filter(|href| path == *href || path.starts_with(&format!("{href}/")))
            .max_by_key(String::len);
        links
            .into_iter()
            .map(|(href, name)| {
                let current = match &current {
                    Some(c) if *c == trimmed(&href) && *c == path => Some("page"),
                    Some(c) if *c == trimmed(&href) => Some("true"),
                    _ => None,
                };
                NavLink {
                    href,
                    name,
                    current,
                }
            })
            .collect()
    }
}

/// Messages for a rejected form, in the order of its fields.
#[derive(Default, Debug)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    /// For a problem found after the others, that belongs before them on the page.
    pub fn add_first(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.insert(0, (field.into(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes back the messages next to one field.
    pub fn remove(&mut self, field: &str) {
        self.0.retain(|(f, _)| f != field);
    }

    /// The message next to one field, if it was rejected.
    pub fn get(&self, field: impl AsRef<str>) -> Option<&str> {
        let field = field.as_ref();
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::NavLink;

    fn current(path: &str) -> Vec<(&'static str, Option<&'static str>)> {
        let links = vec![
            ("/s/a/".to_owned(), "Your policies"),
            ("/s/a/people".to_owned(), "People"),
            ("/s/a/admin/settings".to_owned(), "Settings"),
        ];
        NavLink::sections(links, path)
            .into_iter()
            .filter(|l| l.current.is_some())
            .map(|l| (l.name, l.current))
            .collect()
    }

    #[test]
    fn the_section_a_page_is_in_is_marked_current() {
        assert_eq!(current("/s/a/"), [("Your policies", Some("page"))]);
        assert_eq!(current("/s/a/people"), [("People", Some("page"))]);
        assert_eq!(current("/s/a/people/1/edit"), [("People", Some("true"))]);
        assert_eq!(current("/s/a/sign/1"), [("Your policies", Some("true"))]);
        assert_eq!(
            current("/s/a/admin/settings/sign-in"),
            [("Settings", Some("true"))]
        );
        // Not a section that merely shares the start of its name.
        assert_eq!(current("/s/a/peoplex"), [("Your policies", Some("true"))]);
        assert_eq!(current("/account"), []);
    }
}
