//! Addresses as the config doctor needs them: a small URL and `host:port` parser and a
//! classification of hosts (loopback, private, a bare service name, a public domain). It
//! resolves nothing and opens no connection.

use std::net::IpAddr;

/// The parts of a URL that matter for reachability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Lowercase scheme, empty when the text had none.
    pub scheme: String,
    /// Lowercase host, without IPv6 brackets.
    pub host: String,
    pub port: Option<u16>,
    /// True when the text carries `user:password@`.
    pub userinfo: bool,
}

impl Url {
    /// The explicit port, or the scheme's default (80 for ws/http, 443 for wss/https).
    pub fn effective_port(&self) -> Option<u16> {
        self.port.or(match self.scheme.as_str() {
            "ws" | "http" => Some(80),
            "wss" | "https" => Some(443),
            _ => None,
        })
    }

    /// `host:port` as written back in messages (IPv6 in brackets).
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        }
    }
}

/// Parses `scheme://[user@]host[:port][/path]`, or `host[:port][/path]` without a scheme.
/// `None` when there is no host or the port is not a number.
pub fn parse_url(text: &str) -> Option<Url> {
    let t = text.trim();
    let (scheme, rest) = match t.find("://") {
        Some(i) => (t[..i].to_ascii_lowercase(), &t[i + 3..]),
        None => (String::new(), t),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut auth = &rest[..end];
    let mut userinfo = false;
    if let Some(i) = auth.rfind('@') {
        userinfo = true;
        auth = &auth[i + 1..];
    }
    let (host, port) = split_host_port(auth)?;
    if host.is_empty() {
        return None;
    }
    Some(Url {
        scheme,
        host,
        port,
        userinfo,
    })
}

/// Splits `host:port` (`[v6]:port`, a bare v6 address, or a host alone).
pub fn split_host_port(auth: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = auth.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = rest[..close].to_ascii_lowercase();
        let after = &rest[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host, port));
    }
    if auth.matches(':').count() > 1 {
        // A bare IPv6 address without a port.
        return Some((auth.to_ascii_lowercase(), None));
    }
    match auth.split_once(':') {
        Some((h, p)) => Some((h.to_ascii_lowercase(), Some(p.parse().ok()?))),
        None => Some((auth.to_ascii_lowercase(), None)),
    }
}

/// What kind of address a host is, seen from inside a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// `localhost`, 127.0.0.0/8, `::1`: the container itself.
    Loopback,
    /// `0.0.0.0` / `::`: a listen address, not one to connect to.
    Unspecified,
    /// `host.docker.internal` and friends.
    DockerHost,
    /// RFC 1918, CGNAT, unique-local and link-local addresses, and `*.local`.
    Private,
    /// A name without a dot: a compose service, a container name or a search-domain name.
    SingleLabel,
    /// A public IP address.
    PublicIp,
    /// A dotted name.
    Domain,
}

impl HostKind {
    /// True for addresses that only exist on a local network (where Chrome's checks apply).
    pub fn is_private(self) -> bool {
        matches!(
            self,
            HostKind::Loopback
                | HostKind::Unspecified
                | HostKind::DockerHost
                | HostKind::Private
                | HostKind::SingleLabel
        )
    }

    /// True for the container itself.
    pub fn is_self(self) -> bool {
        matches!(self, HostKind::Loopback | HostKind::Unspecified)
    }
}

/// Classifies a host name or address.
pub fn classify(host: &str) -> HostKind {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    if h == "localhost" || h.ends_with(".localhost") {
        return HostKind::Loopback;
    }
    if matches!(
        h.as_str(),
        "host.docker.internal" | "gateway.docker.internal" | "host-gateway"
    ) {
        return HostKind::DockerHost;
    }
    if let Ok(ip) = h.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                if v4.is_loopback() {
                    HostKind::Loopback
                } else if v4.is_unspecified() {
                    HostKind::Unspecified
                } else if v4.is_private()
                    || v4.is_link_local()
                    || (o[0] == 100 && (64..128).contains(&o[1]))
                {
                    HostKind::Private
                } else {
                    HostKind::PublicIp
                }
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                if v6.is_loopback() {
                    HostKind::Loopback
                } else if v6.is_unspecified() {
                    HostKind::Unspecified
                } else if (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80 {
                    HostKind::Private
                } else {
                    HostKind::PublicIp
                }
            }
        };
    }
    if h.ends_with(".local") || h.ends_with(".internal") || h.ends_with(".lan") {
        return HostKind::Private;
    }
    if !h.contains('.') {
        return HostKind::SingleLabel;
    }
    HostKind::Domain
}

/// True for an IP address literal.
pub fn is_ip(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = parse_url("ws://livekit:7880").expect("url");
        assert_eq!(
            (u.scheme.as_str(), u.host.as_str(), u.port),
            ("ws", "livekit", Some(7880))
        );
        let u = parse_url("wss://LK.example.com/rtc?x=1").expect("url");
        assert_eq!(u.host, "lk.example.com");
        assert_eq!(u.effective_port(), Some(443));
        let u = parse_url("http://[::1]:9000/b").expect("url");
        assert_eq!((u.host.as_str(), u.port), ("::1", Some(9000)));
        assert_eq!(u.authority(), "[::1]:9000");
        let u = parse_url("minio:9000").expect("url");
        assert_eq!((u.scheme.as_str(), u.port), ("", Some(9000)));
        assert!(parse_url("http://user:pw@h:1").expect("url").userinfo);
        assert_eq!(parse_url("ws://:7880"), None);
        assert_eq!(parse_url("ws://h:port"), None);
    }

    #[test]
    fn classifies_hosts() {
        for (h, k) in [
            ("localhost", HostKind::Loopback),
            ("127.0.0.1", HostKind::Loopback),
            ("::1", HostKind::Loopback),
            ("0.0.0.0", HostKind::Unspecified),
            ("host.docker.internal", HostKind::DockerHost),
            ("172.17.0.1", HostKind::Private),
            ("192.168.1.20", HostKind::Private),
            ("fd00::1", HostKind::Private),
            ("livekit", HostKind::SingleLabel),
            ("nas.local", HostKind::Private),
            ("8.8.8.8", HostKind::PublicIp),
            ("lk.example.com", HostKind::Domain),
        ] {
            assert_eq!(classify(h), k, "{h}");
        }
    }
}
