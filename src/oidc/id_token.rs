//! An ID token checked: signed by one of the provider's own keys with an algorithm of a
//! public key (never the shared client secret, never `none`), issued by the school's issuer
//! for the portal's client, unexpired, and carrying the nonce of this sign-in. Then its
//! claims, including those `openidconnect` does not name (Entra's `tid` and `oid`, Google's
//! `hd`), read from the checked payload.

use openidconnect::{
    ClaimsVerificationError, Nonce, SignatureVerificationError,
    core::{CoreIdToken, CoreIdTokenVerifier, CoreJwsSigningAlgorithm},
};

use super::claims::Claims;

/// The signature algorithms accepted, each made with the provider's private key.
/// Microsoft and Google sign with RS256.
const PUBLIC_KEY_ALGORITHMS: [CoreJwsSigningAlgorithm; 6] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
];

/// The token's claims, if it holds. `verifier` is the client's, made from the provider's
/// discovery document and keys; whatever algorithms that document offers, only the
/// public-key ones are accepted.
pub(super) fn check(
    verifier: CoreIdTokenVerifier<'_>,
    token: &CoreIdToken,
    nonce: &Nonce,
) -> Result<Claims, ClaimsVerificationError> {
    let verifier = verifier.set_allowed_algs(PUBLIC_KEY_ALGORITHMS);
    let checked = token.claims(&verifier, nonce)?;
    // Signature checked: the payload's other claims are the provider's too.
    let all = payload(&token.to_string()).unwrap_or_default();
    let text = |name: &str| all.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let flag = |name: &str| {
        all.get(name).and_then(|v| {
            v.as_bool()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    };
    Ok(Claims {
        issuer: checked.issuer().as_str().to_owned(),
        subject: checked.subject().as_str().to_owned(),
        email: checked.email().map(|e| e.as_str().to_owned()),
        email_verified: checked.email_verified().or_else(|| flag("email_verified")),
        tid: text("tid"),
        oid: text("oid"),
        acct: all.get("acct").and_then(|v| v.as_i64()),
        idp: text("idp"),
        xms_edov: flag("xms_edov"),
        hd: text("hd"),
        amr: checked
            .auth_method_refs()
            .map(|methods| methods.iter().map(|m| m.as_str().to_owned()).collect())
            .unwrap_or_default(),
        acr: checked.auth_context_ref().map(|a| a.as_str().to_owned()),
        all,
    })
}

/// Whether the token was signed with a key the portal has not seen (an unknown `kid`, or no
/// `kid` and none of the known keys fits): the provider may have rotated its keys.
pub(super) fn signed_with_unknown_key(err: &ClaimsVerificationError) -> bool {
    matches!(
        err,
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey | SignatureVerificationError::CryptoError(_)
        )
    )
}

/// The claims of a JWT whose signature has been checked.
fn payload(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine;
    let part = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests;
