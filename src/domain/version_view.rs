//! A version as a signer sees it, ready for the templates.

use time::Date;
use uuid::Uuid;

use super::{
    content::{Acknowledgement, SIGNATURE_FIELDS},
    render,
};

/// A version as a signer sees it, ready for the templates.
pub struct VersionView {
    pub id: Uuid,
    pub policy_name: String,
    pub school_name: String,
    pub label: String,
    pub title: String,
    pub body_html: std::sync::Arc<str>,
    pub acknowledgements: Vec<Acknowledgement>,
    pub signature_fields: Vec<String>,
    pub reviewed_on: Option<Date>,
    pub next_review_due: Option<Date>,
    pub reviewed_by: String,
    pub content_sha256: String,
}

impl VersionView {
    /// The facts the paper forms print in their header table; none when the version has no review facts.
    pub fn header_facts(&self) -> Vec<(&'static str, String)> {
        if self.reviewed_on.is_none()
            && self.next_review_due.is_none()
            && self.reviewed_by.is_empty()
        {
            return vec![];
        }
        let mut facts = vec![("Name of school", self.school_name.clone())];
        if let Some(date) = self.reviewed_on {
            facts.push(("AUP review date", render::month_year(date)));
        }
        if let Some(date) = self.next_review_due {
            facts.push(("Date of next review", render::month_year(date)));
        }
        if !self.reviewed_by.is_empty() {
            facts.push(("Who reviewed this AUP?", self.reviewed_by.clone()));
        }
        facts
    }

    /// The signature block's lines, in the paper form's order.
    pub fn signature_block(&self) -> Vec<(&'static str, &'static str)> {
        SIGNATURE_FIELDS
            .iter()
            .filter(|(key, _)| self.signature_fields.iter().any(|f| f == key))
            .copied()
            .collect()
    }

    pub fn asks_role(&self) -> bool {
        self.signature_fields.iter().any(|f| f == "role")
    }
}
