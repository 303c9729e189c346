//! The two real school AUPs the portal ships with, as policy versions: the demo data,
//! and the yardstick the importer is measured against.

use time::macros::date;

use super::{
    content::{Acknowledgement, VersionContent},
    groups::Group,
};

pub struct SamplePolicy {
    pub name: &'static str,
    pub audience: &'static [Group],
    pub content: VersionContent,
}

fn all_fields() -> Vec<String> {
    ["signature", "date", "full_name", "role"]
        .map(String::from)
        .to_vec()
}

/// Cranbrook Primary School's staff and governors agreement form.
pub fn cranbrook() -> SamplePolicy {
    SamplePolicy {
        name: "Staff and Governors AUP",
        audience: &[Group::Staff, Group::Governor],
        content: VersionContent {
            label: "2024-25".into(),
            title: "Acceptable Use Policy (AUP): Staff and Governors agreement form".into(),
            body_md: include_str!("samples/cranbrook.md").into(),
            acknowledgements: vec![
                Acknowledgement {
                    id: "understand".into(),
                    text: "I understand that it is my responsibility to ensure that I remain up-to-date and read and understand the school's most recent online safety policies.".into(),
                    required: true,
                },
                Acknowledgement {
                    id: "agree".into(),
                    text: "I agree to abide by all the points above.".into(),
                    required: true,
                },
                Acknowledgement {
                    id: "wish".into(),
                    text: "I wish to have an email/computer account and be able to use the school's ICT resources and systems.".into(),
                    required: false,
                },
            ],
            signature_fields: all_fields(),
            reviewed_on: Some(date!(2024 - 11 - 01)),
            next_review_due: Some(date!(2025 - 11 - 01)),
            reviewed_by: "DPO and SBM".into(),
        },
    }
}

/// The generic staff acceptable usage policy: no closing acknowledgements, signed and dated.
pub fn staff() -> SamplePolicy {
    SamplePolicy {
        name: "Staff Acceptable Usage Policy",
        audience: &[Group::Staff],
        content: VersionContent {
            label: "2025-26".into(),
            title: "Staff Acceptable Usage Policy".into(),
            body_md: include_str!("samples/staff.md").into(),
            acknowledgements: vec![],
            signature_fields: vec!["signature".into(), "date".into()],
            reviewed_on: None,
            next_review_due: None,
            reviewed_by: String::new(),
        },
    }
}
