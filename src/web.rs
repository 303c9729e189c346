//! What every response shares: static files, security headers, the client's address and
//! its attempt limit, and the health checks.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::state::AppState;

const CSS: &str = include_str!("../static/app.css");
const PASSWORD_METER: &str = include_str!("../static/password-meter.js");
const FAVICON: &str = include_str!("../static/favicon.svg");

pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
        .into_response()
}

pub async fn password_meter() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        PASSWORD_METER,
    )
        .into_response()
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        CSS,
    )
        .into_response()
}

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'";

/// Security headers on every answer, and `no-store` on every page that is not a static file:
/// pages carry personal data and must not be kept by shared classroom browsers.
pub async fn headers(State(https): State<bool>, request: Request, next: Next) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    // The session layer answers a bare 500 when it cannot save a session, which happens
    // only when its table, in the database, cannot be reached.
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        response = crate::error::unavailable();
    }
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if !is_static {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The address of the person at the other end: the peer, or, when the peer is a proxy trusted
/// by configuration, the last address in `X-Forwarded-For` that is not one of those proxies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp(pub std::net::IpAddr);

pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    // From the nearest hop outwards: the first address our proxies did not add is the client.
    // Anything unreadable stops the walk: what lies beyond it cannot be believed.
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if trusted.contains(&ip) => client = ip,
            Some(ip) => return ip,
            None => return client,
        }
    }
    client
}

/// "203.0.113.9", "203.0.113.9:4711", "2001:db8::1" or "[2001:db8::1]:4711".
fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(addr.ip());
    }
    hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// Behind a proxy the portal does not trust, every person seems to come from the proxy, and
/// a whole school shares one budget of attempts a minute: said once, so an operator notices.
fn warn_untrusted_proxy_once(peer: std::net::IpAddr) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            %peer,
            "requests carry X-Forwarded-For from an address that is not in AUP_TRUSTED_PROXIES: everyone behind that proxy shares one per-address limit. Add the proxy's address to AUP_TRUSTED_PROXIES"
        );
    }
}

/// Puts the `ClientIp` on every request, for rate limits and evidence alike.
pub async fn remember_client_ip(
    State(trusted): State<std::sync::Arc<Vec<std::net::IpAddr>>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let ip = client_ip(peer, request.headers(), &trusted);
    if !trusted.contains(&peer) && request.headers().contains_key("x-forwarded-for") {
        warn_untrusted_proxy_once(peer);
    }
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

/// The rate-limit key of a request: its client's address.
#[derive(Clone, Copy, Debug)]
pub struct ClientIpKey;

impl tower_governor::key_extractor::KeyExtractor for ClientIpKey {
    type Key = std::net::IpAddr;

    fn extract<T>(
        &self,
        req: &axum::http::Request<T>,
    ) -> Result<Self::Key, tower_governor::GovernorError> {
        req.extensions()
            .get::<ClientIp>()
            .map(|ip| budget_of(ip.0))
            .ok_or(tower_governor::GovernorError::UnableToExtractKey)
    }
}

/// Whose budget an address spends: its own for IPv4, its /64 for IPv6, since one home or
/// phone is given a whole /64 and could otherwise draw a new address for every guess.
pub fn budget_of(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => std::net::IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
        v4 => v4,
    }
}

/// The per-address limit on forms that check a password or a code, or send an email.
pub type AttemptLimit = tower::util::Either<
    tower_governor::GovernorLayer<
        ClientIpKey,
        governor::middleware::NoOpMiddleware<governor::clock::QuantaInstant>,
        axum::body::Body,
    >,
    tower::layer::util::Identity,
>;

/// At most `per_minute` attempts a minute from one address (with the same burst) at a form
/// that checks a password or sends an email; a friendly page past that.
/// Clones share one budget: every form that checks a password or a code counts against it.
pub fn attempt_limit(per_minute: u32) -> AttemptLimit {
    // 0 is "off", said in so many words in the settings; more than the ceiling is refused there.
    if per_minute == 0 {
        return tower::util::option_layer(None);
    }
    let per_minute = per_minute.min(crate::config::MOST_ATTEMPTS_PER_MINUTE);
    let config = tower_governor::governor::GovernorConfigBuilder::default()
        .per_millisecond(60_000 / u64::from(per_minute))
        .burst_size(per_minute)
        .key_extractor(ClientIpKey)
        .methods(vec![axum::http::Method::POST])
        .finish();
    // `finish` refuses only a zero period or burst, which 1 to 10,000 a minute rules out.
    tower::util::option_layer(config.map(|config| {
        tower_governor::GovernorLayer::new(config).error_handler(|_| {
            let mut response = crate::error::page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "There have been too many attempts from your network in the last minute. Wait a minute, then try again.",
            );
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_static("60"));
            response
        })
    }))
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready only while the database answers, so a load balancer stops sending people here otherwise.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match sqlx::query_scalar!("select 1 as \"one!\"")
        .fetch_one(&state.pool)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "not ready: database does not answer");
            crate::db::note_outage();
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn from(xff: &str, peer: &str, trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        let trusted: Vec<std::net::IpAddr> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        client_ip(peer.parse().unwrap(), &headers, &trusted).to_string()
    }

    #[test]
    fn ipv6_clients_share_their_64_and_ipv4_clients_have_their_own() {
        let of = |ip: &str| budget_of(ip.parse().unwrap()).to_string();
        assert_eq!(of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(of("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::");
        assert_ne!(of("2001:db8:1:3::1"), of("2001:db8:1:2::1"));
        assert_eq!(of("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(of("203.0.113.9"), "203.0.113.9");
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        assert_eq!(from("198.51.100.7", "192.0.2.1", &[]), "192.0.2.1");
        assert_eq!(
            from("198.51.100.7, 203.0.113.9", "10.0.0.1", &["10.0.0.1"]),
            "203.0.113.9"
        );
        assert_eq!(
            from("203.0.113.9:4711", "10.0.0.1", &["10.0.0.1"]),
            "203.0.113.9"
        );
        assert_eq!(
            from("[2001:db8::1]:4711", "10.0.0.1", &["10.0.0.1"]),
            "2001:db8::1"
        );
        assert_eq!(
            from(
                "198.51.100.7, 10.0.0.2",
                "10.0.0.1",
                &["10.0.0.1", "10.0.0.2"]
            ),
            "198.51.100.7"
        );
        // A forged entry behind garbage is not believed.
        assert_eq!(
            from("198.51.100.7, not-an-ip", "10.0.0.1", &["10.0.0.1"]),
            "10.0.0.1"
        );
    }
}
