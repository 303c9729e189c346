//! OpenID Connect, the way schools sign in with Microsoft 365, Google Workspace or another
//! provider: the authorization code flow with PKCE, `state` and `nonce`, and the ID token
//! checked for its signature, issuer, audience, expiry and nonce. What a school then accepts
//! of a checked token (its tenant, its domain, a guest or not) is `rules`. No pages here.

pub mod addresses;
pub mod claims;
pub mod http;
mod id_token;
pub mod rules;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreProviderMetadata},
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

pub use claims::Claims;
pub use http::Http;

/// A discovery document is used this long before it is fetched again.
const DISCOVERY_FOR: Duration = Duration::from_secs(60 * 60);

/// Where a school's provider lives, and the client the portal is there.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The portal's `/sso/callback`.
    pub redirect_url: String,
}

/// What the portal keeps between sending a person to their provider and their return.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Started {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Why a sign-in through a provider did not go through, in words for the person.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the school's sign-in service could not be reached ({0})")]
    Unreachable(String),
    #[error("the school's sign-in service is not set up as the portal expects ({0})")]
    Misconfigured(String),
    #[error("the school's sign-in service refused the sign-in ({0})")]
    Refused(String),
    #[error("the sign-in could not be checked ({0})")]
    Token(String),
}

struct Cached {
    metadata: CoreProviderMetadata,
    discovered: Instant,
    keys_fetched: Instant,
}

/// The providers the portal has talked to: their discovery documents and key sets, kept so
/// a sign-in costs the provider two requests (the code, the token), not four.
#[derive(Clone)]
pub struct Providers {
    /// The client, or why it could not be made (then every sign-in says so).
    http: Result<Http, String>,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
    /// The key set is fetched again for a token signed with a key it lacks, at most this often,
    /// so a forged `kid` cannot make the portal hammer the provider.
    keys_refetch_after: Duration,
}

impl Providers {
    /// `private_addresses`: whether providers on private network addresses may be reached.
    pub fn new(keys_refetch_after: Duration, private_addresses: bool) -> Self {
        Providers {
            http: Http::new(private_addresses).map_err(|err| format!("{err:#}")),
            cache: Arc::new(Mutex::new(HashMap::new())),
            keys_refetch_after,
        }
    }

    fn http(&self) -> Result<&Http, OidcError> {
        self.http
            .as_ref()
            .map_err(|err| OidcError::Misconfigured(format!("no HTTP client: {err}")))
    }

    async fn metadata(&self, issuer: &str) -> Result<CoreProviderMetadata, OidcError> {
        if let Some(cached) = self.cache.lock().await.get(issuer)
            && cached.discovered.elapsed() < DISCOVERY_FOR
        {
            return Ok(cached.metadata.clone());
        }
        let url = IssuerUrl::new(issuer.to_owned())
            .map_err(|err| OidcError::Misconfigured(err.to_string()))?;
        let client = self.http()?;
        let metadata = CoreProviderMetadata::discover_async(url, client)
            .await
            .map_err(discovery_error)?;
        let now = Instant::now();
        self.cache.lock().await.insert(
            issuer.to_owned(),
            Cached {
                metadata: metadata.clone(),
                discovered: now,
                keys_fetched: now,
            },
        );
        Ok(metadata)
    }

    /// The provider's keys again, if they were last fetched long enough ago; None if not.
    async fn refetch_keys(&self, issuer: &str) -> Result<Option<CoreProviderMetadata>, OidcError> {
        // Claimed under the lock, fetched outside it: a slow provider holds up no other school.
        let jwks_uri = {
            let mut cache = self.cache.lock().await;
            let Some(cached) = cache.get_mut(issuer) else {
                return Ok(None);
            };
            if !refetch_due(cached.keys_fetched.elapsed(), self.keys_refetch_after) {
                return Ok(None);
            }
            cached.keys_fetched = Instant::now();
            cached.metadata.jwks_uri().clone()
        };
        let client = self.http()?;
        let keys = CoreJsonWebKeySet::fetch_async(&jwks_uri, client)
            .await
            .map_err(discovery_error)?;
        let mut cache = self.cache.lock().await;
        let Some(cached) = cache.get_mut(issuer) else {
            return Ok(None);
        };
        cached.metadata = cached.metadata.clone().set_jwks(keys);
        Ok(Some(cached.metadata.clone()))
    }

    fn client(
        metadata: CoreProviderMetadata,
        settings: &ClientSettings,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        let redirect = RedirectUrl::new(settings.redirect_url.clone())
            .map_err(|err| OidcError::Misconfigured(err.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(settings.client_id.clone()),
            Some(ClientSecret::new(settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// The address to send the person to, and what to keep until they come back.
    pub async fn start(
        &self,
        settings: &ClientSettings,
        extra_scopes: &[&str],
    ) -> Result<(url::Url, Started), OidcError> {
        let metadata = self.metadata(&settings.issuer).await?;
        let client = Self::client(metadata, settings)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge);
        for scope in extra_scopes {
            request = request.add_scope(Scope::new((*scope).to_owned()));
        }
        let (url, state, nonce) = request.url();
        Ok((
            url,
            Started {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        ))
    }

    /// The code the provider sent back, exchanged for an ID token, and the token checked.
    pub async fn finish(
        &self,
        settings: &ClientSettings,
        started: &Started,
        code: &str,
    ) -> Result<Claims, OidcError> {
        let metadata = self.metadata(&settings.issuer).await?;
        let client = Self::client(metadata, settings)?;
        let http = self.http()?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|err| OidcError::Misconfigured(err.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(started.pkce_verifier.clone()))
            .request_async(http)
            .await
            .map_err(token_error)?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::Token("the provider sent no ID token".to_owned()))?
            .clone();
        let nonce = Nonce::new(started.nonce.clone());
        match id_token::check(client.id_token_verifier(), &id_token, &nonce) {
            Ok(claims) => Ok(claims),
            Err(err) if id_token::signed_with_unknown_key(&err) => {
                let Some(metadata) = self.refetch_keys(&settings.issuer).await? else {
                    return Err(claims_error(err));
                };
                let client = Self::client(metadata, settings)?;
                id_token::check(client.id_token_verifier(), &id_token, &nonce).map_err(claims_error)
            }
            Err(err) => Err(claims_error(err)),
        }
    }

    /// The issuer a provider's discovery document names, for an address an admin typed: the
    /// same address, give or take a trailing slash. Refuses a plain-http address that is
    /// not this machine's.
    pub async fn discover_issuer(&self, typed: &str) -> Result<String, OidcError> {
        let url = rules::issuer_url(typed).map_err(|m| OidcError::Misconfigured(m.to_owned()))?;
        let trimmed = url.as_str().trim_end_matches('/').to_owned();
        let config = url::Url::parse(&format!("{trimmed}/.well-known/openid-configuration"))
            .map_err(|err| OidcError::Misconfigured(err.to_string()))?;
        let document = self
            .http()?
            .get_json(&config)
            .await
            .map_err(|err| OidcError::Unreachable(err.to_string()))?;
        let issuer = document
            .get("issuer")
            .and_then(|i| i.as_str())
            .ok_or_else(|| {
                OidcError::Misconfigured("its discovery document names no issuer".to_owned())
            })?;
        if issuer.trim_end_matches('/') != trimmed {
            return Err(OidcError::Misconfigured(format!(
                "its discovery document names another issuer, {issuer}"
            )));
        }
        rules::issuer_url(issuer).map_err(|m| OidcError::Misconfigured(m.to_owned()))?;
        Ok(issuer.to_owned())
    }

    /// A Microsoft Entra tenant's GUID, from one of its domain names.
    pub async fn entra_tenant(
        &self,
        authority: &str,
        domain: &str,
    ) -> Result<uuid::Uuid, OidcError> {
        let url = url::Url::parse(&format!(
            "{}/{domain}/v2.0/.well-known/openid-configuration",
            authority.trim_end_matches('/')
        ))
        .map_err(|err| OidcError::Misconfigured(err.to_string()))?;
        let document = self
            .http()?
            .get_json(&url)
            .await
            .map_err(|err| OidcError::Unreachable(err.to_string()))?;
        document
            .get("issuer")
            .and_then(|i| i.as_str())
            .and_then(|issuer| rules::entra_tenant_of(authority, issuer))
            .ok_or_else(|| {
                OidcError::Misconfigured(format!("Microsoft knows no tenant for {domain}"))
            })
    }
}

/// Whether keys last fetched `since` ago may be fetched again.
fn refetch_due(since: Duration, after: Duration) -> bool {
    since >= after
}

fn discovery_error<E: std::error::Error>(err: openidconnect::DiscoveryError<E>) -> OidcError {
    use openidconnect::DiscoveryError;
    match err {
        DiscoveryError::Request(err) => OidcError::Unreachable(err.to_string()),
        DiscoveryError::Response(status, _, _) => {
            OidcError::Unreachable(format!("it answered {status}"))
        }
        other => OidcError::Misconfigured(error_chain(&other)),
    }
}

fn token_error<E: std::error::Error + 'static>(
    err: openidconnect::RequestTokenError<
        E,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> OidcError {
    use openidconnect::RequestTokenError;
    match err {
        RequestTokenError::ServerResponse(response) => OidcError::Refused(
            response
                .error_description()
                .cloned()
                .unwrap_or_else(|| response.error().to_string()),
        ),
        RequestTokenError::Request(err) => OidcError::Unreachable(err.to_string()),
        other => OidcError::Token(error_chain(&other)),
    }
}

fn claims_error(err: openidconnect::ClaimsVerificationError) -> OidcError {
    use openidconnect::ClaimsVerificationError as E;
    OidcError::Token(match err {
        E::Expired(_) => "it has expired".to_owned(),
        E::InvalidAudience(_) => "it was made for another service".to_owned(),
        E::InvalidIssuer(_) => "it comes from another issuer".to_owned(),
        E::InvalidNonce(_) => "it does not belong to this sign-in".to_owned(),
        E::SignatureVerification(_) => "its signature is not the provider's".to_owned(),
        other => error_chain(&other),
    })
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fetched_again_at_most_once_a_minute() {
        let minute = Duration::from_secs(60);
        assert!(!refetch_due(Duration::from_secs(59), minute));
        assert!(refetch_due(minute, minute));
    }
}
