//! The page for a version the person has signed already.

use askama::Template;
use askama_web::WebTemplate;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{auth::session::Member, clock, domain::version_view::VersionView, page::Nav};

#[derive(Template, WebTemplate)]
#[template(path = "signing/already_signed.html")]
pub(super) struct AlreadySignedPage {
    nav: Nav,
    slug: String,
    policy_name: String,
    label: String,
    version_id: Uuid,
    agreement_id: Uuid,
    signed_at: String,
}

pub(super) fn already_signed_page(
    member: &Member,
    version: &VersionView,
    (agreement_id, signed_at): (Uuid, OffsetDateTime),
) -> AlreadySignedPage {
    AlreadySignedPage {
        nav: member.nav(),
        slug: member.school.slug.clone(),
        policy_name: version.policy_name.clone(),
        label: version.label.clone(),
        version_id: version.id,
        agreement_id,
        signed_at: clock::date_time(signed_at),
    }
}
