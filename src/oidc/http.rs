//! The HTTP client single sign-on talks to providers with: it follows no redirect, gives up
//! after a few seconds, and reads at most `MAX_BODY` bytes of an answer, so a provider that is
//! down, slow or hostile costs a sign-in a clear page and the portal nothing more.

use std::{sync::Arc, time::Duration};

use openidconnect::{HttpRequest, HttpResponse};

use super::addresses::{self, PrivateAddress};

/// The most of an answer read: discovery documents and key sets are a few kilobytes.
const MAX_BODY: usize = 256 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TIMEOUT: Duration = Duration::from_secs(8);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the provider's answer is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("the request could not be made: {0}")]
    Request(String),
    #[error(transparent)]
    Private(#[from] PrivateAddress),
}

/// The OpenID library's way in: boxed and `Send`, so the handlers that use it are too.
impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    /// Whether private network addresses may be reached (see `addresses`).
    private_addresses: bool,
}

impl Http {
    /// rustls with ring and the Mozilla roots, as the mail and database connections use.
    /// Only public addresses are reached unless `private_addresses`.
    pub fn new(private_addresses: bool) -> anyhow::Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut client = reqwest::Client::builder();
        if !private_addresses {
            client = client.dns_resolver(Arc::new(addresses::PublicOnly));
        }
        let client = client
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .no_proxy()
            .user_agent(concat!("aup-portal/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Http {
            client,
            private_addresses,
        })
    }

    /// One request and its answer, as the OpenID library asks for them.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let request = reqwest::Request::try_from(request)
            .map_err(|err| HttpError::Request(err.to_string()))?;
        if !self.private_addresses
            && let Some(ip) = addresses::private_literal(request.url())
        {
            return Err(PrivateAddress(ip).into());
        }
        let mut response = self.client.execute(request).await.map_err(|err| {
            match addresses::refused_for(&err) {
                Some(private) => PrivateAddress(private.0.clone()).into(),
                None => HttpError::Unreachable(err.without_url().to_string()),
            }
        })?;
        let mut answer = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| HttpError::Unreachable(err.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        answer
            .body(body)
            .map_err(|err| HttpError::Request(err.to_string()))
    }

    /// A GET of a JSON document, for the checks made while setting single sign-on up.
    pub async fn get_json(&self, url: &url::Url) -> Result<serde_json::Value, HttpError> {
        let request = openidconnect::http::Request::builder()
            .method("GET")
            .uri(url.as_str())
            .header("accept", "application/json")
            .body(Vec::new())
            .map_err(|err| HttpError::Request(err.to_string()))?;
        let response = self.send(request).await?;
        if !response.status().is_success() {
            return Err(HttpError::Unreachable(format!(
                "it answered {}",
                response.status()
            )));
        }
        serde_json::from_slice(response.body())
            .map_err(|_| HttpError::Unreachable("its answer is not JSON".to_owned()))
    }
}
