//! The portal's accessibility statement: schools are public sector bodies, and must publish
//! one for the services they offer. Anyone may read it, signed in or not.

use askama::Template;
use askama_web::WebTemplate;

use crate::page::Nav;

#[derive(Template, WebTemplate)]
#[template(path = "signing/accessibility.html")]
pub(super) struct AccessibilityPage {
    nav: Nav,
}

pub(super) async fn statement() -> AccessibilityPage {
    AccessibilityPage {
        nav: Nav::default(),
    }
}
