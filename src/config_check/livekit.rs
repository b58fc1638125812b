//! The livekit-server facts the egress checks compare against: signalling port, RTC/TURN
//! ports, API keys (values kept only for comparison, never shown) and redis. It reads the
//! parsed livekit.yaml only and judges nothing.

use super::redis::{read_redis, RedisConf};
use super::yaml::Node;
use super::ConfigFile;

/// livekit-server's default signalling port.
pub const DEFAULT_PORT: u16 = 7880;
/// livekit-server's default `rtc.tcp_port`.
pub const DEFAULT_RTC_TCP: u16 = 7881;

/// API keys from livekit.yaml (`keys:`), or where they live instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Keys {
    /// `keys:` pairs (key, secret) and the line of `keys:`.
    Inline {
        pairs: Vec<(String, String)>,
        line: usize,
    },
    /// `key_file:` path and line: the pairs are in another file.
    File { path: String, line: usize },
    /// Neither.
    None,
}

/// What the checks need from livekit.yaml.
#[derive(Debug, Clone, PartialEq)]
pub struct Livekit {
    pub file: String,
    /// Signalling (HTTP/WebSocket) port and the line of `port:` when set.
    pub port: u16,
    pub port_line: Option<usize>,
    pub rtc_tcp: u16,
    pub rtc_udp: Option<u16>,
    pub turn_tls: Option<u16>,
    pub turn_udp: Option<u16>,
    pub keys: Keys,
    pub redis: Option<RedisConf>,
}

fn port(n: Option<&Node>) -> Option<u16> {
    n.and_then(Node::number)
        .filter(|p| *p > 0.0 && *p < 65536.0)
        .map(|p| p as u16)
}

impl Livekit {
    /// Reads livekit.yaml.
    pub fn read(f: &ConfigFile) -> Livekit {
        let r = &f.root;
        let keys = if let Some(e) = r.entry("keys").filter(|e| e.value.is_map()) {
            Keys::Inline {
                pairs: e
                    .value
                    .entries()
                    .iter()
                    .map(|k| (k.key.clone(), k.value.text().unwrap_or_default()))
                    .collect(),
                line: e.line,
            }
        } else if let Some(e) = r.entry("key_file") {
            Keys::File {
                path: e.value.text().unwrap_or_default(),
                line: e.line,
            }
        } else {
            Keys::None
        };
        let turn_enabled = r
            .get("turn")
            .and_then(|t| t.get("enabled"))
            .is_some_and(Node::is_true);
        Livekit {
            file: f.name.clone(),
            port: port(r.get("port")).unwrap_or(DEFAULT_PORT),
            port_line: r.entry("port").map(|e| e.line),
            rtc_tcp: port(r.get("rtc").and_then(|n| n.get("tcp_port"))).unwrap_or(DEFAULT_RTC_TCP),
            rtc_udp: port(r.get("rtc").and_then(|n| n.get("udp_port"))),
            turn_tls: turn_enabled
                .then(|| port(r.get("turn").and_then(|n| n.get("tls_port"))))
                .flatten(),
            turn_udp: turn_enabled
                .then(|| port(r.get("turn").and_then(|n| n.get("udp_port"))))
                .flatten(),
            keys,
            redis: read_redis(f),
        }
    }

    /// Parses `LIVEKIT_KEYS` (`key: secret` lines, or pairs separated by commas).
    pub fn keys_from_env(value: &str, line: usize) -> Keys {
        let mut pairs = Vec::new();
        for part in value.split([',', '\n']) {
            if let Some((k, v)) = part.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                if !k.is_empty() {
                    pairs.push((k.to_string(), v.to_string()));
                }
            }
        }
        if pairs.is_empty() {
            Keys::None
        } else {
            Keys::Inline { pairs, line }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ports_keys_redis() {
        let f = super::super::parse_file(
            "lk.yaml",
            "port: 7880\nrtc:\n  tcp_port: 7881\n  udp_port: 7882\nkeys:\n  APIabc: s3cretvalue\nredis:\n  address: redis:6379\nturn:\n  enabled: true\n  tls_port: 5349\n",
            None,
        )
        .expect("parse");
        let lk = Livekit::read(&f);
        assert_eq!(
            (lk.port, lk.rtc_tcp, lk.rtc_udp, lk.turn_tls),
            (7880, 7881, Some(7882), Some(5349))
        );
        assert!(matches!(&lk.keys, Keys::Inline { pairs, line: 5 } if pairs[0].0 == "APIabc"));
        assert!(lk.redis.is_some());
    }

    #[test]
    fn env_keys() {
        assert!(
            matches!(Livekit::keys_from_env("devkey: secret", 3), Keys::Inline { pairs, .. } if pairs == vec![("devkey".into(), "secret".into())])
        );
        assert_eq!(Livekit::keys_from_env("nothing", 3), Keys::None);
    }
}
