//! Each audit event in words, as the audit log and a policy's history show it.

use super::*;

impl Event {
    /// The event in words, as the audit log and a policy's history show it.
    pub(super) fn sentence(&self) -> String {
        match self {
            Event::SignIn { with } => match with {
                SignInWith::Password => "Signed in with a password".to_owned(),
                SignInWith::PasswordAndCode => {
                    "Signed in with a password and a code from an authenticator app".to_owned()
                }
                SignInWith::PasswordAndRecoveryCode => {
                    "Signed in with a password and a recovery code".to_owned()
                }
                SignInWith::PasswordAndNewCode => {
                    "Signed in, setting up two-step sign-in on the way".to_owned()
                }
                SignInWith::SchoolAccount => "Signed in with the school's account".to_owned(),
                SignInWith::SchoolAccountWithItsMultiFactor => {
                    "Signed in with the school's account and its multi-factor sign-in".to_owned()
                }
                SignInWith::SchoolAccountAndCode => {
                    "Signed in with the school's account and a code from an authenticator app"
                        .to_owned()
                }
                SignInWith::SchoolAccountAndRecoveryCode => {
                    "Signed in with the school's account and a recovery code".to_owned()
                }
                SignInWith::EmailLink => "Signed in with a link sent by email".to_owned(),
                SignInWith::EmailLinkAndCode => {
                    "Signed in with a link sent by email and a code from an authenticator app"
                        .to_owned()
                }
                SignInWith::EmailLinkAndRecoveryCode => {
                    "Signed in with a link sent by email and a recovery code".to_owned()
                }
                SignInWith::EmailLinkAndNewCode => {
                    "Signed in with a link sent by email, setting up two-step sign-in on the way"
                        .to_owned()
                }
                SignInWith::SchoolAccountAndNewCode => {
                    "Signed in with the school's account, setting up two-step sign-in on the way"
                        .to_owned()
                }
            },
            Event::SingleSignOnRefused { reason } => {
                format!("Was refused sign-in with the school's account: {reason}")
            }
            Event::SingleSignOnLinked { by_email, .. } => if *by_email {
                "Linked their school account, found by its email address"
            } else {
                "Linked their school account from a signed-in session"
            }
            .to_owned(),
            Event::SingleSignOnSetUp { provider, .. } => {
                format!("Set up single sign-on with {provider}")
            }
            Event::SingleSignOnRemoved => "Switched single sign-on off".to_owned(),
            Event::PasswordsSwitched { off: true } => {
                "Switched passwords off: people sign in with the school's account or an emailed link"
                    .to_owned()
            }
            Event::PasswordsSwitched { off: false } => "Switched passwords back on".to_owned(),
            Event::SignInFailed { at: None } => "Failed to sign in".to_owned(),
            Event::SignInFailed {
                at: Some(SignInStep::Code),
            } => "Failed to sign in: the code was wrong".to_owned(),
            Event::SignInRefusedLocked => "Was refused sign-in: the account was locked".to_owned(),
            Event::AccountLocked => "The account was locked after repeated failures".to_owned(),
            Event::ReauthenticationFailed { doing } => {
                format!("Gave a wrong password when {}", doing_words(*doing))
            }
            Event::ReauthenticationRefusedLocked { doing } => format!(
                "Was refused when {}: the account was locked",
                doing_words(*doing)
            ),
            Event::PasswordChanged => "Changed their password".to_owned(),
            Event::PasswordResetRequested => "Asked for a link to reset their password".to_owned(),
            Event::SignInLinkRequested => "Asked for a sign-in link by email".to_owned(),
            Event::PasswordSet { by, .. } => match by {
                TokenPurpose::Invite => "Set a password from their invitation".to_owned(),
                TokenPurpose::Reset => "Set a new password from a reset link".to_owned(),
                TokenPurpose::EmailChange => "Set a password from an email change link".to_owned(),
                TokenPurpose::SignIn => "Set a password from a sign-in link".to_owned(),
                TokenPurpose::Handover => {
                    "Set a password from an invitation handed over in person".to_owned()
                }
            },
            Event::SignedOutEverywhere => "Signed out on every device".to_owned(),
            Event::TwoFactorEnabled => "Set up two-step sign-in".to_owned(),
            Event::EmailChangeRequested { .. } => "Asked to change their email address".to_owned(),
            Event::EmailChanged { how, .. } => match how {
                EmailChangeHow::Own => "Confirmed their new email address".to_owned(),
                EmailChangeHow::Correction => {
                    "Corrected the email address of someone who had not yet signed in".to_owned()
                }
                EmailChangeHow::Admin => "Changed a person's email address".to_owned(),
            },
            Event::MembershipAccepted { .. } => "Accepted the offer to join the school".to_owned(),
            Event::MembershipDeclined { .. } => "Declined the offer to join the school".to_owned(),
            Event::AccessDenied { .. } => "Was refused a page".to_owned(),
            Event::AdminCreated { .. } => "An admin was added from the command line".to_owned(),
            Event::SettingChanged {
                require_two_factor: true,
            } => "Made two-step sign-in a requirement for everyone".to_owned(),
            Event::SettingChanged {
                require_two_factor: false,
            } => "Made two-step sign-in a choice for each person".to_owned(),
            Event::EmailRetried { .. } => "Sent a failed email again".to_owned(),
            Event::PersonAdded {
                roles,
                group,
                pending,
                ..
            } => format!(
                "Added a person to {group}, as {}{}",
                role_words(roles),
                if *pending {
                    ", waiting for them to accept"
                } else {
                    ""
                }
            ),
            Event::PersonEdited { .. } => "Edited a person's details".to_owned(),
            Event::RolesChanged { from, to, .. } => format!(
                "Changed a person's roles from {} to {}",
                role_words(from),
                role_words(to)
            ),
            Event::PersonLeft { left_on, .. } => match left_on.as_deref().and_then(in_words) {
                Some(on) => format!("Marked a person as left on {on}"),
                None => "Marked a person as left".to_owned(),
            },
            Event::PersonReactivated { .. } => "Brought back a person who had left".to_owned(),
            Event::PersonInvited { .. } => "Sent a person their invitation again".to_owned(),
            Event::InvitationHandedOver { .. } => {
                "Made an invitation link to hand to a person".to_owned()
            }
            Event::PeopleImported {
                added,
                changed,
                unchanged,
                left,
            } => {
                let mut text = format!(
                    "Imported people: {added} added, {changed} changed, {unchanged} unchanged"
                );
                if *left > 0 {
                    text.push_str(&format!(", {left} marked as left"));
                }
                text
            }
            Event::PaperSignatureRecorded { scan_id, .. } => match scan_id {
                Some(_) => "Recorded a paper signature, with its scan".to_owned(),
                None => "Recorded a paper signature".to_owned(),
            },
            Event::ScanDownloaded { .. } => "Downloaded the scan of a paper form".to_owned(),
            Event::PersonalDataErased { fields, rule, .. } => format!(
                "Erased the {} of an agreement, under the rule: {rule}",
                fields
                    .iter()
                    .map(|f| match f.as_str() {
                        "full_name" => "name",
                        "role_stated" => "role",
                        "ip" => "IP address",
                        "user_agent" => "browser",
                        "note" => "note",
                        _ => "other details",
                    })
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            Event::SignersChased {
                reminded, skipped, ..
            } => format!(
                "Reminded {} to sign{}",
                people(*reminded),
                match skipped {
                    0 => String::new(),
                    n => format!(", leaving out {} reminded today already", people(*n)),
                }
            ),
            Event::DashboardExported { rows, .. } => {
                format!("Exported the dashboard: {}", people(*rows))
            }
            Event::EvidenceViewed { .. } => "Viewed a person's evidence".to_owned(),
            Event::PeopleExported { rows } => {
                format!("Exported the list of people: {}", people(*rows))
            }
            Event::AuditLogExported { rows } => format!(
                "Exported the audit log: {rows} event{}",
                if *rows == 1 { "" } else { "s" }
            ),
            Event::EvidenceExported { agreements, .. } => format!(
                "Exported a person's evidence: {agreements} signature{}",
                if *agreements == 1 { "" } else { "s" }
            ),
            Event::AgreementSigned { .. } => "Signed a policy online".to_owned(),
            Event::PolicyCreated { .. } => "Created the policy".to_owned(),
            Event::AudienceChanged { audience, .. } => {
                format!("Changed who must sign it to: {}", audience_text(audience))
            }
            Event::VersionCreated { label, from, .. } => match from {
                Some(from) => format!("Started version {label} from {from}"),
                None => format!("Started a blank version {label}"),
            },
            Event::VersionImported { label, .. } => {
                format!("Imported version {label} from pasted text")
            }
            Event::SchoolLookChanged { changed } => {
                format!("Changed how the school is shown: {}", changed.join(", "))
            }
            Event::PrivacyNoticeChanged { default: true } => {
                "Put the privacy notice back to the default wording".to_owned()
            }
            Event::PrivacyNoticeChanged { default: false } => {
                "Changed the wording of the privacy notice".to_owned()
            }
            Event::VersionEdited { label, .. } => format!("Edited the draft {label}"),
            Event::VersionDeleted { label, .. } => format!("Deleted the draft {label}"),
            Event::VersionPublished {
                label,
                notified,
                sign_by,
                ..
            } => {
                let by = sign_by.as_deref().and_then(in_words);
                let by = by.map(|on| format!(" by {on}")).unwrap_or_default();
                format!("Published version {label} and asked {} to sign it{by}", people(*notified))
            }
            Event::SignByDateSet {
                label,
                sign_by,
                previous,
                ..
            } => {
                let long = |text: &str| in_words(text).unwrap_or_else(|| text.to_owned());
                let to = long(sign_by);
                match previous {
                    Some(from) => format!(
                        "Moved the date to sign version {label} by from {} to {to}",
                        long(from)
                    ),
                    None => format!("Asked for version {label} to be signed by {to}"),
                }
            }
        }
    }
}

/// A date stored as 2027-01-31, as a sentence says it: "31 January 2027".
fn in_words(stored: &str) -> Option<String> {
    crate::domain::dates::parse_any_date(stored).map(crate::domain::render::long_date)
}

fn doing_words(doing: Doing) -> &'static str {
    match doing {
        Doing::Password => "changing their password",
        Doing::TwoFactor => "setting up two-step sign-in",
        Doing::Email => "changing an email address",
        Doing::Settings => "changing the school's settings",
        Doing::Roles => "changing a person's roles",
        Doing::LinkAccount => "linking their school account",
    }
}

fn role_words(roles: &[Role]) -> String {
    if roles.is_empty() {
        return "no role".to_owned();
    }
    roles
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn people(count: usize) -> String {
    match count {
        1 => "1 person".to_owned(),
        n => format!("{n} people"),
    }
}
