//! What a signer sees of a version, and its SHA-256. Receipts and `verify` depend on the
//! canonical form never changing: a test pins it with a fixed vector.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Date;

/// A closing statement the signer ticks. Optional ones record a choice, not a duty.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Acknowledgement {
    pub id: String,
    pub text: String,
    pub required: bool,
}

/// The lines of the signature block, in the order the paper form prints them.
pub const SIGNATURE_FIELDS: [(&str, &str); 4] = [
    ("signature", "Signature"),
    ("date", "Date"),
    ("full_name", "Full name (printed)"),
    ("role", "Role within the school"),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionContent {
    pub label: String,
    pub title: String,
    pub body_md: String,
    pub acknowledgements: Vec<Acknowledgement>,
    pub signature_fields: Vec<String>,
    pub reviewed_on: Option<Date>,
    pub next_review_due: Option<Date>,
    pub reviewed_by: String,
}

/// The canonical form. Fields are declared in sorted key order and serialised as compact
/// JSON (UTF-8, no insignificant whitespace); dates as `YYYY-MM-DD` or null; acknowledgements
/// as objects with sorted keys, in the order shown. Never reorder or rename these fields.
#[derive(Serialize)]
struct Canonical<'a> {
    acknowledgements: Vec<CanonicalAcknowledgement<'a>>,
    body_md: &'a str,
    label: &'a str,
    next_review_due: Option<String>,
    reviewed_by: &'a str,
    reviewed_on: Option<String>,
    signature_fields: &'a [String],
    title: &'a str,
}

#[derive(Serialize)]
struct CanonicalAcknowledgement<'a> {
    id: &'a str,
    required: bool,
    text: &'a str,
}

fn iso_date(date: Option<Date>) -> Option<String> {
    date.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
}

/// Whether a required statement among `acks` says the person agrees, such as "I agree to
/// abide by all the points above": without one, the signature alone says it.
pub fn asks_agreement(acks: &[Acknowledgement]) -> bool {
    acks.iter().any(|ack| {
        let text = ack.text.to_lowercase();
        ack.required && (text.contains("agree") || text.contains("accept"))
    })
}

impl VersionContent {
    /// Whether a required statement to tick says the person agrees.
    pub fn asks_agreement(&self) -> bool {
        asks_agreement(&self.acknowledgements)
    }

    pub fn canonical_json(&self) -> String {
        let canonical = Canonical {
            acknowledgements: self
                .acknowledgements
                .iter()
                .map(|a| CanonicalAcknowledgement {
                    id: &a.id,
                    required: a.required,
                    text: &a.text,
                })
                .collect(),
            body_md: &self.body_md,
            label: &self.label,
            next_review_due: iso_date(self.next_review_due),
            reviewed_by: &self.reviewed_by,
            reviewed_on: iso_date(self.reviewed_on),
            signature_fields: &self.signature_fields,
            title: &self.title,
        };
        // Serialising plain strings, bools and options cannot fail.
        serde_json::to_string(&canonical).unwrap_or_default()
    }

    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_json().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn vector() -> VersionContent {
        VersionContent {
            label: "2025-26".into(),
            title: "Staff AUP".into(),
            body_md: "- I will lock my screen.\n".into(),
            acknowledgements: vec![Acknowledgement {
                id: "agree".into(),
                text: "I agree to abide by all the points above.".into(),
                required: true,
            }],
            signature_fields: vec!["signature".into(), "date".into()],
            reviewed_on: Some(date!(2024 - 11 - 01)),
            next_review_due: None,
            reviewed_by: "DPO and SBM".into(),
        }
    }

    #[test]
    fn the_canonical_form_is_sorted_compact_json() {
        assert_eq!(
            vector().canonical_json(),
            r#"{"acknowledgements":[{"id":"agree","required":true,"text":"I agree to abide by all the points above."}],"body_md":"- I will lock my screen.\n","label":"2025-26","next_review_due":null,"reviewed_by":"DPO and SBM","reviewed_on":"2024-11-01","signature_fields":["signature","date"],"title":"Staff AUP"}"#
        );
    }

    #[test]
    fn the_content_hash_of_the_test_vector_never_changes() {
        assert_eq!(
            vector().sha256(),
            "69ca74d0d0ff237c8e3f365be082da0af1afe682ab8a8e36bca1245dc9509c86"
        );
    }
}
