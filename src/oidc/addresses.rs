//! Where single sign-on may send a request. A school's admin types their provider's issuer,
//! and the portal then fetches from it (and from the addresses its discovery document names),
//! so an issuer on the host's own network would let one school's admin reach what the
//! operator keeps private: a database's web console, a cloud's metadata service. Unless the
//! operator allows private addresses (`AUP_SSO_PRIVATE_ADDRESSES`, for a provider on the
//! school's own network, and for tests), the portal talks only to public addresses: every
//! name is resolved by `PublicOnly`, and an address typed as numbers is checked before.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a request was not made: its host is, or resolves only to, private addresses.
#[derive(Debug, thiserror::Error)]
#[error("{0} is a private network address, which the portal does not reach for single sign-on")]
pub struct PrivateAddress(pub String);

/// Whether an address is on the public internet: not this machine, not a private or
/// shared network, not link-local (where cloud metadata services answer), not multicast,
/// not reserved for documentation.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24, and benchmarking, 198.18.0.0/15.
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local, fc00::/7, and link-local, fe80::/10.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // Documentation, 2001:db8::/32.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // IPv4-compatible and NAT64 forms of addresses checked as IPv4 elsewhere.
        || ip.to_ipv4().is_some_and(|v4| !is_public_v4(v4)))
}

/// The address a URL names as numbers, if it is a private one.
pub fn private_literal(url: &url::Url) -> Option<String> {
    let ip = match url.host()? {
        url::Host::Ipv4(ip) => IpAddr::V4(ip),
        url::Host::Ipv6(ip) => IpAddr::V6(ip),
        url::Host::Domain(_) => return None,
    };
    (!is_public(ip)).then(|| ip.to_string())
}

/// Resolves names as the system does, keeping only public addresses: a name that resolves
/// only to private ones (`localhost`, or a name an admin pointed at the host's network) is
/// not reached. The check is made on the addresses connected to, so a name that changes
/// its answer between a check and the connection cannot slip through.
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() && !all.is_empty() {
                return Err(
                    Box::new(PrivateAddress(host)) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The private address an error was refused for, if that is what it was.
pub fn refused_for<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a PrivateAddress> {
    let mut source = Some(err);
    while let Some(err) = source {
        if let Some(private) = err.downcast_ref::<PrivateAddress>() {
            return Some(private);
        }
        source = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.10",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.5",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "20.190.151.0",
            "142.250.180.14",
            "172.32.0.1",
            "100.128.0.1",
            "2603:1026::1",
            "::ffff:142.250.180.14",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn an_address_typed_as_numbers_is_checked_before_any_request() {
        let at = |s: &str| private_literal(&url::Url::parse(s).unwrap());
        assert_eq!(
            at("http://169.254.169.254/latest").as_deref(),
            Some("169.254.169.254")
        );
        assert_eq!(at("https://[::1]:8443/").as_deref(), Some("::1"));
        assert_eq!(at("https://20.190.151.0/"), None);
        assert_eq!(at("https://login.microsoftonline.com/"), None);
    }
}
