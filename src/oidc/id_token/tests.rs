//! The check of an ID token, against tokens signed here with the test keys in
//! `tests/fixtures/oidc/`: the tokens a real provider will not mint (another issuer's,
//! another client's, expired, another key's, `none`, HS256 with the client secret, a payload
//! altered after signing). The words are those the person is shown.

use std::time::{Duration, SystemTime};

use openidconnect::{
    AdditionalClaims, Audience, AuthUrl, ClaimsVerificationError, EmptyAdditionalProviderMetadata,
    EndUserEmail, IdToken, IdTokenClaims, IssuerUrl, JsonWebKeyId, JsonWebKeySetUrl, Nonce,
    PrivateSigningKey, ResponseTypes, StandardClaims, SubjectIdentifier,
    core::{
        CoreGenderClaim, CoreHmacKey, CoreIdToken, CoreJsonWebKeySet,
        CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
        CoreResponseType, CoreRsaPrivateSigningKey, CoreSubjectIdentifierType,
    },
};
use serde::{Deserialize, Serialize};

use super::{check, signed_with_unknown_key};
use crate::oidc::{Claims, ClientSettings, Providers, claims_error};

const ISSUER: &str = "https://login.example.test/3f2a1c9e/v2.0";
const CLIENT: &str = "aup-portal";
const SECRET: &str = "the-client-secret-the-school-pasted";
const NONCE: &str = "nonce-of-this-sign-in";

fn key(n: u8) -> CoreRsaPrivateSigningKey {
    key_named(n, &format!("key-{n}"))
}

/// The test key `n`, under the name `kid`.
fn key_named(n: u8, kid: &str) -> CoreRsaPrivateSigningKey {
    let pem = match n {
        1 => include_str!("../../../tests/fixtures/oidc/test-key-1.pem"),
        _ => include_str!("../../../tests/fixtures/oidc/test-key-2.pem"),
    };
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.to_owned())))
        .expect("a test key")
}

/// The claims Entra and Google send that `openidconnect` does not name.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Extra {
    #[serde(skip_serializing_if = "Option::is_none")]
    tid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hd: Option<String>,
}
impl AdditionalClaims for Extra {}

type TestToken =
    IdToken<Extra, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

struct Minted {
    issuer: &'static str,
    audience: &'static str,
    /// Seconds from now; negative for a token that has expired.
    expires_in: i64,
    nonce: Option<&'static str>,
}

impl Default for Minted {
    fn default() -> Self {
        Minted {
            issuer: ISSUER,
            audience: CLIENT,
            expires_in: 300,
            nonce: Some(NONCE),
        }
    }
}

impl Minted {
    fn claims(&self) -> IdTokenClaims<Extra, CoreGenderClaim> {
        let now = SystemTime::now();
        let at = |seconds: i64| {
            if seconds >= 0 {
                now + Duration::from_secs(seconds.unsigned_abs())
            } else {
                now - Duration::from_secs(seconds.unsigned_abs())
            }
        };
        IdTokenClaims::new(
            IssuerUrl::new(self.issuer.to_owned()).expect("issuer"),
            vec![Audience::new(self.audience.to_owned())],
            at(self.expires_in).into(),
            at(self.expires_in - 600).into(),
            StandardClaims::new(SubjectIdentifier::new(
                "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ".to_owned(),
            ))
            .set_email(Some(EndUserEmail::new(
                "sam.taylor@cranbrook.example".to_owned(),
            )))
            .set_email_verified(Some(true)),
            Extra {
                tid: Some("3f2a1c9e-0000-4000-8000-000000000001".to_owned()),
                oid: Some("00000000-0000-0000-66f3-3332eca7ea81".to_owned()),
                hd: Some("cranbrook.example".to_owned()),
            },
        )
        .set_nonce(self.nonce.map(|n| Nonce::new(n.to_owned())))
    }

    fn signed_by(
        &self,
        key: &impl PrivateSigningKey<VerificationKey = openidconnect::core::CoreJsonWebKey>,
    ) -> String {
        TestToken::new(
            self.claims(),
            key,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )
        .expect("signed")
        .to_string()
    }
}

/// The provider's discovery document and keys, as the portal keeps them.
fn provider(
    advertised: Vec<CoreJwsSigningAlgorithm>,
    keys: &[CoreRsaPrivateSigningKey],
) -> CoreProviderMetadata {
    CoreProviderMetadata::new(
        IssuerUrl::new(ISSUER.to_owned()).expect("issuer"),
        AuthUrl::new(format!("{ISSUER}/authorize")).expect("authorize"),
        JsonWebKeySetUrl::new(format!("{ISSUER}/keys")).expect("keys"),
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        advertised,
        EmptyAdditionalProviderMetadata {},
    )
    .set_jwks(CoreJsonWebKeySet::new(
        keys.iter().map(|k| k.as_verification_key()).collect(),
    ))
}

fn rs256_provider() -> CoreProviderMetadata {
    provider(
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
        &[key(1)],
    )
}

fn settings() -> ClientSettings {
    ClientSettings {
        issuer: ISSUER.to_owned(),
        client_id: CLIENT.to_owned(),
        client_secret: SECRET.to_owned(),
        redirect_url: "https://portal.example.test/sso/callback".to_owned(),
    }
}

/// The token checked as a sign-in's return checks it, with the client the portal makes from
/// the provider's document.
fn checked(
    metadata: CoreProviderMetadata,
    token: &CoreIdToken,
) -> Result<Claims, ClaimsVerificationError> {
    let client = Providers::client(metadata, &settings()).expect("client");
    check(
        client.id_token_verifier(),
        token,
        &Nonce::new(NONCE.to_owned()),
    )
}

/// As `checked`, from the token's text; an error in the words the person is shown.
fn verify(metadata: CoreProviderMetadata, token: &str) -> Result<Claims, String> {
    let token: CoreIdToken = token.parse().map_err(|_| "unreadable".to_owned())?;
    checked(metadata, &token).map_err(|err| claims_error(err).to_string())
}

fn refused(metadata: CoreProviderMetadata, token: &str) -> String {
    match verify(metadata, token) {
        Ok(claims) => panic!("accepted: {claims:?}"),
        Err(why) => why,
    }
}

const NOT_THE_PROVIDERS: &str =
    "the sign-in could not be checked (its signature is not the provider's)";

#[test]
fn a_token_from_the_school_provider_gives_its_claims() {
    let claims = verify(rs256_provider(), &Minted::default().signed_by(&key(1))).expect("accepted");
    assert_eq!(claims.issuer, ISSUER);
    assert_eq!(
        claims.subject,
        "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"
    );
    assert_eq!(
        claims.email.as_deref(),
        Some("sam.taylor@cranbrook.example")
    );
    assert_eq!(claims.email_verified, Some(true));
    assert_eq!(
        claims.tid.as_deref(),
        Some("3f2a1c9e-0000-4000-8000-000000000001")
    );
    assert_eq!(
        claims.oid.as_deref(),
        Some("00000000-0000-0000-66f3-3332eca7ea81")
    );
    assert_eq!(claims.hd.as_deref(), Some("cranbrook.example"));
}

#[test]
fn another_issuer_another_client_or_an_expired_token_is_refused() {
    let cases = [
        (
            Minted {
                issuer: "https://login.example.test/another-tenant/v2.0",
                ..Minted::default()
            },
            "the sign-in could not be checked (it comes from another issuer)",
        ),
        (
            Minted {
                audience: "another-service",
                ..Minted::default()
            },
            "the sign-in could not be checked (it was made for another service)",
        ),
        (
            Minted {
                expires_in: -60,
                ..Minted::default()
            },
            "the sign-in could not be checked (it has expired)",
        ),
    ];
    for (minted, words) in cases {
        assert_eq!(refused(rs256_provider(), &minted.signed_by(&key(1))), words);
    }
}

#[test]
fn a_token_of_another_sign_in_or_with_no_nonce_is_refused() {
    let words = "the sign-in could not be checked (it does not belong to this sign-in)";
    let other = Minted {
        nonce: Some("nonce-of-another-sign-in"),
        ..Minted::default()
    };
    assert_eq!(refused(rs256_provider(), &other.signed_by(&key(1))), words);
    let none = Minted {
        nonce: None,
        ..Minted::default()
    };
    assert_eq!(refused(rs256_provider(), &none.signed_by(&key(1))), words);
}

#[test]
fn a_token_signed_by_another_key_is_refused_and_the_keys_fetched_again() {
    // A key the provider has not published, under its own name and under the name of one
    // it has.
    for forged in [key(2), key_named(2, "key-1")] {
        let token = Minted::default().signed_by(&forged);
        assert_eq!(refused(rs256_provider(), &token), NOT_THE_PROVIDERS);
        let parsed: CoreIdToken = token.parse().expect("parsed");
        let err = checked(rs256_provider(), &parsed).expect_err("refused");
        assert!(signed_with_unknown_key(&err), "{err:?}");
    }
    // Once the provider publishes the new key beside the old (a rotation), it is accepted.
    let rotated = provider(
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
        &[key(1), key(2)],
    );
    assert!(verify(rotated, &Minted::default().signed_by(&key(2))).is_ok());
}

#[test]
fn an_expired_token_is_not_taken_for_a_rotation() {
    let token: CoreIdToken = Minted {
        expires_in: -60,
        ..Minted::default()
    }
    .signed_by(&key(1))
    .parse()
    .expect("parsed");
    let err = checked(rs256_provider(), &token).expect_err("refused");
    assert!(!signed_with_unknown_key(&err), "{err:?}");
}

#[test]
fn a_payload_altered_after_signing_is_refused() {
    use base64::Engine;
    let token = Minted::default().signed_by(&key(1));
    let mut parts: Vec<&str> = token.split('.').collect();
    let claims = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .expect("payload"),
    )
    .expect("utf-8")
    .replace("sam.taylor@", "head.teacher@");
    let altered = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
    parts[1] = &altered;
    assert_eq!(
        refused(rs256_provider(), &parts.join(".")),
        NOT_THE_PROVIDERS
    );
}

#[test]
fn a_token_signed_with_the_client_secret_is_refused_even_where_the_provider_offers_it() {
    // Anyone who has read the client secret (it sits sealed in the portal's database, and
    // in the school's provider) could mint these.
    let offered = provider(
        vec![
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::HmacSha256,
            CoreJwsSigningAlgorithm::None,
        ],
        &[key(1)],
    );
    let token = TestToken::new(
        Minted::default().claims(),
        &CoreHmacKey::new(SECRET.as_bytes()),
        CoreJwsSigningAlgorithm::HmacSha256,
        None,
        None,
    )
    .expect("signed")
    .to_string();
    assert_eq!(refused(offered, &token), NOT_THE_PROVIDERS);
}

#[test]
fn an_unsigned_token_is_refused_even_where_the_provider_offers_none() {
    use base64::Engine;
    let offered = provider(
        vec![
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::None,
        ],
        &[key(1)],
    );
    let signed = Minted::default().signed_by(&key(1));
    let payload = signed.split('.').nth(1).expect("payload");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let why = refused(offered, &format!("{header}.{payload}."));
    assert!(why == "unreadable" || why == NOT_THE_PROVIDERS, "{why}");
}

#[test]
fn a_payload_reads_without_padding() {
    use base64::Engine;
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"tid":"t","acct":1}"#);
    let claims = super::payload(&format!("h.{body}.s")).expect("read");
    assert_eq!(claims.get("tid").and_then(|v| v.as_str()), Some("t"));
    assert_eq!(super::payload("not a token"), None);
}
