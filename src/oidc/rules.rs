//! What a school accepts of an ID token whose signature, issuer, audience, expiry and nonce
//! have been checked: the tenant or domain is the school's, the person is not a guest, and
//! the key the account is found by. Also the issuers themselves, written once.

use uuid::Uuid;

use super::claims::Claims;
use crate::domain::statuses::SsoProvider;

/// Microsoft's sign-in service, where tenants' issuers live.
pub const ENTRA_AUTHORITY: &str = "https://login.microsoftonline.com";
/// Google's one issuer.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// The issuer of an Entra tenant's v2.0 tokens: one per tenant, never the multi-tenant
/// endpoint's `{tenantid}` placeholder.
pub fn entra_issuer(authority: &str, tenant: Uuid) -> String {
    format!("{}/{tenant}/v2.0", authority.trim_end_matches('/'))
}

/// The tenant an Entra issuer names, if it is one of `authority`'s.
pub fn entra_tenant_of(authority: &str, issuer: &str) -> Option<Uuid> {
    let rest = issuer.strip_prefix(authority.trim_end_matches('/'))?;
    let tenant = rest.strip_prefix('/')?.strip_suffix("/v2.0")?;
    Uuid::parse_str(tenant).ok()
}

/// An issuer address as an admin may give it: https, or plain http to this machine only
/// (tests and local trials).
pub fn issuer_url(typed: &str) -> Result<url::Url, &'static str> {
    let url = url::Url::parse(typed.trim())
        .map_err(|_| "Enter the issuer as a web address, like https://login.example.org")?;
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err("Enter the issuer without a user name, password or query");
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err("The issuer must be an https address"),
    }
}

/// A school's single sign-on, as its rules need it.
pub struct SchoolRules<'a> {
    pub provider: SsoProvider,
    pub tenant: Option<Uuid>,
    pub hosted_domain: Option<&'a str>,
    pub email_domains: &'a [String],
    pub trust_provider_mfa: bool,
}

/// A token the school accepts.
#[derive(Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The key the account is found by: (issuer, oid) for Entra, whose issuer names the
    /// tenant, so in effect (tid, oid); (issuer, sub) for any other provider.
    pub issuer: String,
    pub subject: String,
    /// The address, when the provider vouches for it and it is in one of the school's
    /// domains: only then may an account be linked by its email.
    pub email: Option<String>,
    /// The provider says the person used more than one factor, and the school trusts it.
    pub provider_mfa: bool,
}

/// Why the school does not accept a token.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    WrongTenant,
    NoObjectId,
    Guest,
    WrongWorkspace,
    EmailNotVerified,
}

impl Refusal {
    /// What the person reads.
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::WrongTenant => {
                "That Microsoft account belongs to another organisation. Sign in with your school's Microsoft account."
            }
            Refusal::NoObjectId => {
                "Microsoft did not say which account this is. Ask your school's IT technician to check the portal's registration."
            }
            Refusal::Guest => {
                "That is a guest account in your school's Microsoft 365. Sign in with an account of the school's own, or ask for an emailed sign-in link."
            }
            Refusal::WrongWorkspace => {
                "That Google account is not one of your school's. Sign in with your school's Google account."
            }
            Refusal::EmailNotVerified => {
                "Google has not verified that account's email address, so the portal cannot use it."
            }
        }
    }

    /// The words kept in the audit log.
    pub fn word(&self) -> &'static str {
        match self {
            Refusal::WrongTenant => "another tenant",
            Refusal::NoObjectId => "no object ID",
            Refusal::Guest => "a guest account",
            Refusal::WrongWorkspace => "another Google Workspace",
            Refusal::EmailNotVerified => "an unverified email address",
        }
    }
}

/// The multi-factor signs a generic provider may send (RFC 8176 `amr`, or an `acr`).
fn shows_mfa(claims: &Claims) -> bool {
    claims.amr.iter().any(|m| m == "mfa")
        || claims.acr.as_deref().is_some_and(|acr| {
            acr.contains("mfa")
                || acr == "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
        })
}

fn domain_of(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim().to_lowercase())
}

/// Whether the school accepts `claims`, and if so who they are.
pub fn accept(rules: &SchoolRules<'_>, claims: &Claims) -> Result<Accepted, Refusal> {
    let (subject, verified) = match rules.provider {
        SsoProvider::Microsoft => {
            let tenant_matches = match (rules.tenant, claims.tid.as_deref()) {
                (Some(tenant), Some(tid)) => Uuid::parse_str(tid).ok() == Some(tenant),
                _ => false,
            };
            if !tenant_matches {
                return Err(Refusal::WrongTenant);
            }
            // A guest's home organisation vouches for them, not the school's (`acct` 1, or
            // an `idp` other than the tenant's own issuer).
            if claims.acct == Some(1)
                || claims
                    .idp
                    .as_deref()
                    .is_some_and(|idp| idp != claims.issuer)
            {
                return Err(Refusal::Guest);
            }
            let oid = claims.oid.clone().ok_or(Refusal::NoObjectId)?;
            (oid, claims.xms_edov == Some(true))
        }
        SsoProvider::Google => {
            let hd = claims.hd.as_deref().map(str::to_lowercase);
            if hd.is_none()
                || hd.as_deref() != rules.hosted_domain.map(str::to_lowercase).as_deref()
            {
                return Err(Refusal::WrongWorkspace);
            }
            if claims.email_verified != Some(true) {
                return Err(Refusal::EmailNotVerified);
            }
            (claims.subject.clone(), true)
        }
        SsoProvider::Oidc => (claims.subject.clone(), claims.email_verified == Some(true)),
    };
    let email = claims
        .email
        .as_deref()
        .map(str::trim)
        .filter(|email| {
            verified
                && domain_of(email).is_some_and(|d| {
                    rules
                        .email_domains
                        .iter()
                        .any(|own| own.eq_ignore_ascii_case(&d))
                })
        })
        .map(str::to_owned);
    Ok(Accepted {
        issuer: claims.issuer.clone(),
        subject,
        email,
        provider_mfa: rules.provider == SsoProvider::Oidc
            && rules.trust_provider_mfa
            && shows_mfa(claims),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "6a1c3e2f-8b0d-4c5e-9f7a-1b2c3d4e5f60";

    #[test]
    fn the_entra_issuer_is_the_tenants_own() {
        let tenant = Uuid::parse_str(TENANT).unwrap();
        assert_eq!(
            entra_issuer(ENTRA_AUTHORITY, tenant),
            "https://login.microsoftonline.com/6a1c3e2f-8b0d-4c5e-9f7a-1b2c3d4e5f60/v2.0"
        );
        assert_eq!(
            entra_tenant_of(ENTRA_AUTHORITY, &entra_issuer(ENTRA_AUTHORITY, tenant)),
            Some(tenant)
        );
        // The multi-tenant endpoint's placeholder is no tenant.
        assert_eq!(
            entra_tenant_of(
                ENTRA_AUTHORITY,
                "https://login.microsoftonline.com/{tenantid}/v2.0"
            ),
            None
        );
        assert_eq!(GOOGLE_ISSUER, "https://accounts.google.com");
    }

    #[test]
    fn issuers_must_be_https_except_on_this_machine() {
        assert!(issuer_url("https://login.example.org/realms/school").is_ok());
        assert!(issuer_url("http://127.0.0.1:9400").is_ok());
        assert!(issuer_url("http://localhost:9400").is_ok());
        assert_eq!(
            issuer_url("http://login.example.org").unwrap_err(),
            "The issuer must be an https address"
        );
        assert!(issuer_url("ftp://127.0.0.1").is_err());
        assert!(issuer_url("login.example.org").is_err());
    }

    fn entra_claims() -> Claims {
        Claims {
            issuer: format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
            subject: "pairwise-sub".into(),
            tid: Some(TENANT.into()),
            oid: Some("oid-1".into()),
            email: Some("a.teacher@cranbrook.sch.uk".into()),
            xms_edov: Some(true),
            ..Claims::default()
        }
    }

    fn entra_rules(domains: &[String]) -> SchoolRules<'_> {
        SchoolRules {
            provider: SsoProvider::Microsoft,
            tenant: Uuid::parse_str(TENANT).ok(),
            hosted_domain: None,
            email_domains: domains,
            trust_provider_mfa: false,
        }
    }

    #[test]
    fn entra_accounts_are_keyed_by_object_id_and_guests_refused() {
        let domains = vec!["cranbrook.sch.uk".to_owned()];
        let accepted = accept(&entra_rules(&domains), &entra_claims()).unwrap();
        assert_eq!(accepted.subject, "oid-1");
        assert_eq!(
            accepted.email.as_deref(),
            Some("a.teacher@cranbrook.sch.uk")
        );

        let other_tenant = Claims {
            tid: Some(Uuid::nil().to_string()),
            ..entra_claims()
        };
        assert_eq!(
            accept(&entra_rules(&domains), &other_tenant),
            Err(Refusal::WrongTenant)
        );
        let guest = Claims {
            acct: Some(1),
            ..entra_claims()
        };
        assert_eq!(accept(&entra_rules(&domains), &guest), Err(Refusal::Guest));
        let invited = Claims {
            idp: Some("https://sts.windows.net/another/".into()),
            ..entra_claims()
        };
        assert_eq!(
            accept(&entra_rules(&domains), &invited),
            Err(Refusal::Guest)
        );
        // An address the tenant has not verified, or outside the school's domains, links nothing.
        let unverified = Claims {
            xms_edov: None,
            ..entra_claims()
        };
        assert_eq!(
            accept(&entra_rules(&domains), &unverified).unwrap().email,
            None
        );
        let elsewhere = Claims {
            email: Some("dpo@another-school.sch.uk".into()),
            ..entra_claims()
        };
        assert_eq!(
            accept(&entra_rules(&domains), &elsewhere).unwrap().email,
            None
        );
    }

    #[test]
    fn google_accounts_must_be_the_schools_workspace_and_verified() {
        let domains = vec!["cranbrook.sch.uk".to_owned()];
        let rules = SchoolRules {
            provider: SsoProvider::Google,
            tenant: None,
            hosted_domain: Some("cranbrook.sch.uk"),
            email_domains: &domains,
            trust_provider_mfa: false,
        };
        let claims = Claims {
            issuer: GOOGLE_ISSUER.into(),
            subject: "1234".into(),
            hd: Some("cranbrook.sch.uk".into()),
            email: Some("head@cranbrook.sch.uk".into()),
            email_verified: Some(true),
            ..Claims::default()
        };
        assert_eq!(accept(&rules, &claims).unwrap().subject, "1234");
        let personal = Claims {
            hd: None,
            ..claims.clone()
        };
        assert_eq!(accept(&rules, &personal), Err(Refusal::WrongWorkspace));
        let unverified = Claims {
            email_verified: Some(false),
            ..claims
        };
        assert_eq!(accept(&rules, &unverified), Err(Refusal::EmailNotVerified));
    }

    #[test]
    fn a_generic_providers_multi_factor_counts_only_when_trusted() {
        let domains = vec![];
        let mut rules = SchoolRules {
            provider: SsoProvider::Oidc,
            tenant: None,
            hosted_domain: None,
            email_domains: &domains,
            trust_provider_mfa: false,
        };
        let claims = Claims {
            issuer: "https://login.example.org".into(),
            subject: "s".into(),
            amr: vec!["pwd".into(), "mfa".into()],
            ..Claims::default()
        };
        assert!(!accept(&rules, &claims).unwrap().provider_mfa);
        rules.trust_provider_mfa = true;
        assert!(accept(&rules, &claims).unwrap().provider_mfa);
        let one_factor = Claims {
            amr: vec!["pwd".into()],
            ..claims
        };
        assert!(!accept(&rules, &one_factor).unwrap().provider_mfa);
    }
}
