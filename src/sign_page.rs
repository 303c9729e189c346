//! The sign page, below the features: the signer's page (`signing`) and the DPO's preview of
//! a draft (`policies`) render the same page.

use askama::Template;
use askama_web::WebTemplate;

use crate::{
    clock,
    domain::{
        diff::{Change, WordChange},
        render,
        version_view::VersionView,
    },
    page::{FieldErrors, Nav},
};

#[derive(Template, WebTemplate)]
#[template(path = "signing/sign.html")]
pub struct SignPage {
    pub nav: Nav,
    pub slug: String,
    /// A DPO's preview: the same page, with nothing to submit.
    pub preview: bool,
    /// False when no statement to tick asks the person to agree: the preview says so.
    pub asks_agreement: bool,
    pub changes_since: Option<ChangesSince>,
    pub version: VersionView,
    pub today: String,
    pub full_name: String,
    pub role: String,
    pub ticked: Vec<String>,
    pub errors: FieldErrors,
}

pub struct ChangesSince {
    pub label: String,
    pub changes: Vec<Change>,
}

impl SignPage {
    /// The page exactly as a signer will see it, for a DPO checking a draft.
    pub fn preview(
        nav: Nav,
        slug: String,
        job_title: String,
        version: VersionView,
        changes_since: Option<ChangesSince>,
    ) -> Self {
        SignPage {
            nav,
            slug,
            preview: true,
            asks_agreement: crate::domain::content::asks_agreement(&version.acknowledgements),
            changes_since,
            version,
            today: render::long_date(clock::today_uk()),
            full_name: String::new(),
            role: job_title,
            ticked: vec![],
            errors: FieldErrors::default(),
        }
    }

    fn is_ticked(&self, id: &str) -> bool {
        self.ticked.iter().any(|t| t == id)
    }
}
