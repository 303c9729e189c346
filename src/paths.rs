//! Every address the portal serves, once: each is a type whose `PATH` the router registers
//! and whose `Display` (percent-encoding each part) writes the link to it, in Rust and in the
//! templates (`{{ crate::paths::Person::new(slug, id) }}`). A link to a page that does not
//! exist, or with a part missing, does not compile.

use axum_extra::routing::TypedPath;
use serde::Deserialize;
use uuid::Uuid;

/// What a part of an address may be given as: a slug or token as any kind of string, an
/// id by value or by reference (templates pass either).
pub trait Part<T> {
    fn part(self) -> T;
}

impl Part<String> for &str {
    fn part(self) -> String {
        self.to_owned()
    }
}

impl Part<String> for &String {
    fn part(self) -> String {
        self.clone()
    }
}

impl Part<String> for String {
    fn part(self) -> String {
        self
    }
}

impl Part<String> for &&String {
    fn part(self) -> String {
        (*self).clone()
    }
}

impl Part<Uuid> for Uuid {
    fn part(self) -> Uuid {
        self
    }
}

impl Part<Uuid> for &Uuid {
    fn part(self) -> Uuid {
        *self
    }
}

impl Part<Uuid> for &&Uuid {
    fn part(self) -> Uuid {
        **self
    }
}

macro_rules! paths {
    ($($(#[$doc:meta])* $name:ident = $path:literal { $($field:ident: $ty:ty),* };)*) => {
        $(
            $(#[$doc])*
            #[derive(TypedPath, Deserialize, Clone, Debug, PartialEq, Eq)]
            #[typed_path($path)]
            pub struct $name {
                $(pub $field: $ty,)*
            }

            impl $name {
                /// The route the router registers.
                pub const PATH: &'static str = $path;

                #[allow(clippy::new_without_default)]
                pub fn new($($field: impl Part<$ty>),*) -> Self {
                    $name { $($field: $field.part(),)* }
                }
            }
        )*
    };
}

paths! {
    // Health, for load balancers and orchestrators; the stylesheet, the one script, the icon.
    Healthz = "/healthz" {};
    Readyz = "/readyz" {};
    Stylesheet = "/static/app.css" {};
    PasswordMeter = "/static/password-meter.js" {};
    Favicon = "/static/favicon.svg" {};
    /// Where browsers look for an icon when a page names none (a PDF, a download).
    FaviconIco = "/favicon.ico" {};
    /// A school's crest: a new crest has a new address, so each may be kept for a year.
    Crest = "/static/crests/{school_id}/{sha256}" { school_id: Uuid, sha256: String };
    /// The header in a school's colour ("1d70b8"), as a stylesheet: the pages allow no
    /// inline style.
    ColourCss = "/static/colours/{hex}/header.css" { hex: String };

    // Signing in and one's own account, outside any school.
    /// The schools a person belongs to (straight to the one, if only one).
    Schools = "/" {};
    /// The portal's accessibility statement, for anyone.
    Accessibility = "/accessibility" {};
    SignIn = "/sign-in" {};
    SignInCode = "/sign-in/code" {};
    SignInTwoFactor = "/sign-in/two-factor" {};
    SignOut = "/sign-out" {};
    /// Asking for a sign-in link by email.
    EmailSignIn = "/sign-in/email" {};
    /// The emailed sign-in link: a page with a button, so that mail scanners opening the
    /// link do not use it up.
    SignInLink = "/sign-in/link/{token}" { token: String };
    PasswordReset = "/password/reset" {};
    /// A link from an invitation or a reset email.
    SetPassword = "/password/{token}" { token: String };
    Account = "/account" {};
    AccountEmail = "/account/email" {};
    /// The link that confirms a new email address.
    ConfirmEmail = "/account/email/{token}" { token: String };
    AccountPassword = "/account/password" {};
    SignOutEverywhere = "/account/sign-out-everywhere" {};
    TwoFactor = "/account/two-factor" {};
    /// Where a provider sends a person back after single sign-on, for every school.
    SsoCallback = "/sign-in/return" {};
    /// The schools that sign in with an address's domain.
    FindSchool = "/sign-in/find-your-school" {};
    AcceptMembership = "/memberships/{membership_id}/accept" { membership_id: Uuid };
    DeclineMembership = "/memberships/{membership_id}/decline" { membership_id: Uuid };

    // A signer's pages.
    /// A member's home in a school: what is waiting for them and what they have signed.
    SchoolHome = "/s/{slug}/" { slug: String };
    /// The school's own sign-in page: its provider's button, and the password form.
    SchoolSignIn = "/s/{slug}/sign-in" { slug: String };
    SsoStart = "/s/{slug}/sign-in/school-account" { slug: String };
    /// Linking one's provider account from a signed-in session.
    SsoLink = "/s/{slug}/link-school-account" { slug: String };
    SsoLinkContinue = "/s/{slug}/link-school-account/continue" { slug: String };
    Sign = "/s/{slug}/versions/{version_id}/sign" { slug: String, version_id: Uuid };
    Receipt = "/s/{slug}/agreements/{agreement_id}" { slug: String, agreement_id: Uuid };
    /// Every policy for the person's group, to read again: its current text, and the
    /// version they signed.
    Library = "/s/{slug}/library" { slug: String };
    /// What the portal records about staff and why, in the school's words or the default.
    Privacy = "/s/{slug}/privacy" { slug: String };
    EditPrivacy = "/s/{slug}/privacy/edit" { slug: String };
    LibraryVersion = "/s/{slug}/library/{version_id}" { slug: String, version_id: Uuid };

    // The DPO's pages.
    Policies = "/s/{slug}/policies" { slug: String };
    NewPolicy = "/s/{slug}/policies/new" { slug: String };
    Policy = "/s/{slug}/policies/{policy_id}" { slug: String, policy_id: Uuid };
    Audience = "/s/{slug}/policies/{policy_id}/audience" { slug: String, policy_id: Uuid };
    StartVersion = "/s/{slug}/policies/{policy_id}/versions" { slug: String, policy_id: Uuid };
    ImportVersion = "/s/{slug}/policies/{policy_id}/import" { slug: String, policy_id: Uuid };
    Compare = "/s/{slug}/policies/{policy_id}/compare" { slug: String, policy_id: Uuid };
    History = "/s/{slug}/policies/{policy_id}/history" { slug: String, policy_id: Uuid };
    Draft = "/s/{slug}/drafts/{version_id}" { slug: String, version_id: Uuid };
    Preview = "/s/{slug}/drafts/{version_id}/preview" { slug: String, version_id: Uuid };
    Publish = "/s/{slug}/drafts/{version_id}/publish" { slug: String, version_id: Uuid };
    DeleteDraft = "/s/{slug}/drafts/{version_id}/delete" { slug: String, version_id: Uuid };
    /// The date a published version should be signed by: set, or moved.
    SignBy = "/s/{slug}/versions/{version_id}/sign-by" { slug: String, version_id: Uuid };

    // The SBM's pages.
    Compliance = "/s/{slug}/compliance" { slug: String };
    Dashboard = "/s/{slug}/compliance/{version_id}" { slug: String, version_id: Uuid };
    DashboardCsv = "/s/{slug}/compliance/{version_id}/export.csv" { slug: String, version_id: Uuid };
    RemindAll = "/s/{slug}/compliance/{version_id}/remind" { slug: String, version_id: Uuid };
    CheckReminders = "/s/{slug}/compliance/{version_id}/check-reminders" { slug: String, version_id: Uuid };
    RemindSelected = "/s/{slug}/compliance/{version_id}/remind-selected" { slug: String, version_id: Uuid };
    RemindOne = "/s/{slug}/compliance/{version_id}/remind/{membership_id}" {
        slug: String, version_id: Uuid, membership_id: Uuid
    };
    People = "/s/{slug}/people" { slug: String };
    PeopleCsv = "/s/{slug}/people/export.csv" { slug: String };
    PeopleXlsx = "/s/{slug}/people/export.xlsx" { slug: String };
    NewPerson = "/s/{slug}/people/new" { slug: String };
    ImportPeople = "/s/{slug}/people/import" { slug: String };
    ImportColumns = "/s/{slug}/people/import/columns" { slug: String };
    ConfirmImport = "/s/{slug}/people/import/confirm" { slug: String };
    Person = "/s/{slug}/people/{membership_id}" { slug: String, membership_id: Uuid };
    EditPerson = "/s/{slug}/people/{membership_id}/edit" { slug: String, membership_id: Uuid };
    PersonEmail = "/s/{slug}/people/{membership_id}/email" { slug: String, membership_id: Uuid };
    Evidence = "/s/{slug}/people/{membership_id}/evidence" { slug: String, membership_id: Uuid };
    EvidenceCsv = "/s/{slug}/people/{membership_id}/evidence.csv" { slug: String, membership_id: Uuid };
    Invite = "/s/{slug}/people/{membership_id}/invite" { slug: String, membership_id: Uuid };
    /// A single-use invitation link to give a person who has no working email.
    HandOver = "/s/{slug}/people/{membership_id}/hand-over" { slug: String, membership_id: Uuid };
    Leave = "/s/{slug}/people/{membership_id}/leave" { slug: String, membership_id: Uuid };
    LeaveSelected = "/s/{slug}/people/leave-selected" { slug: String };
    ConfirmLeaveSelected = "/s/{slug}/people/leave-selected/confirm" { slug: String };
    Reactivate = "/s/{slug}/people/{membership_id}/reactivate" { slug: String, membership_id: Uuid };
    Paper = "/s/{slug}/people/{membership_id}/paper" { slug: String, membership_id: Uuid };
    Scan = "/s/{slug}/scans/{scan_id}" { slug: String, scan_id: Uuid };

    // The admin's pages.
    AuditLog = "/s/{slug}/admin/audit" { slug: String };
    AuditLogCsv = "/s/{slug}/admin/audit/export.csv" { slug: String };
    Mail = "/s/{slug}/admin/mail" { slug: String };
    RetryMail = "/s/{slug}/admin/mail/{id}/retry" { slug: String, id: Uuid };
    TestMail = "/s/{slug}/admin/mail/test" { slug: String };
    Settings = "/s/{slug}/admin/settings" { slug: String };
    SsoSettings = "/s/{slug}/admin/settings/sign-in" { slug: String };
    SchoolLook = "/s/{slug}/admin/settings/look" { slug: String };
    SsoTest = "/s/{slug}/admin/settings/sign-in/test" { slug: String };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_fills_in_its_routes_parts_percent_encoded() {
        let id = Uuid::from_u128(1);
        assert_eq!(
            Person::new("cranbrook", id).to_string(),
            format!("/s/cranbrook/people/{id}")
        );
        let slug = "oak field".to_owned();
        let by_reference = &id;
        assert_eq!(
            Sign::new(&slug, *by_reference).to_string(),
            format!("/s/oak%20field/versions/{id}/sign")
        );
        assert_eq!(SchoolHome::new("cranbrook").to_string(), "/s/cranbrook/");
        assert_eq!(Schools::new().to_string(), Schools::PATH);
    }
}
