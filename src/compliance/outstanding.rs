//! The outstanding list's own filters, by group and job title: what the dashboard shows, what
//! "Remind everyone" means while they are on (everyone outstanding who matches), and the
//! query string that carries them through paging, the check page and back.

use serde::Deserialize;
use url::form_urlencoded;

use super::signers::Signer;
use crate::domain::groups::Group;

/// The parameters of the dashboard's address that make up its place: the filters and page.
pub const PLACE: [&str; 3] = ["group", "job_title", "page"];

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Filter {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub job_title: String,
}

impl Filter {
    /// The filters in a raw query string. An unknown group filters nothing rather than
    /// failing: the address may have been typed or kept from before.
    pub fn from_query(raw: Option<&str>) -> Filter {
        let mut filter = Filter::default();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let value = value.trim().to_owned();
            match key.as_ref() {
                "group" if value.parse::<Group>().is_ok() => filter.group = value,
                "job_title" => filter.job_title = value,
                _ => {}
            }
        }
        filter
    }

    pub fn is_empty(&self) -> bool {
        self.group.is_empty() && self.job_title.is_empty()
    }

    pub fn matches(&self, signer: &Signer) -> bool {
        (self.group.is_empty() || signer.grp.as_str() == self.group)
            && (self.job_title.is_empty() || signer.job_title == self.job_title)
    }

    /// The filters as a query string, empty when there are none.
    pub fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if !self.group.is_empty() {
            query.append_pair("group", &self.group);
        }
        if !self.job_title.is_empty() {
            query.append_pair("job_title", &self.job_title);
        }
        query.finish()
    }

    /// The filters in words, for the page: "Staff, Teaching assistant".
    pub fn described(&self) -> String {
        let group = self
            .group
            .parse::<Group>()
            .map(|g| g.to_string())
            .unwrap_or_default();
        [group, self.job_title.clone()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_are_read_leniently_and_written_back_the_same() {
        let filter = Filter::from_query(Some("group=staff&job_title=Teaching+assistant&page=2"));
        assert_eq!(filter.group, "staff");
        assert_eq!(filter.job_title, "Teaching assistant");
        assert_eq!(filter.query(), "group=staff&job_title=Teaching+assistant");
        assert_eq!(filter.described(), "Staff, Teaching assistant");
        assert_eq!(Filter::from_query(Some("group=pirates")), Filter::default());
        assert!(Filter::from_query(None).is_empty());
        assert_eq!(Filter::default().query(), "");
    }
}
