//! The docker-compose model the checks need: services, what they run (egress, livekit-server,
//! redis, an object store, a TLS proxy), their environment, networks, CPU limits, security
//! options and mounts, each with its line. It reads the parsed tree only and judges nothing.

use super::yaml::{self, Node, Value};
use super::{ConfigFile, Kind};

/// What a service runs, from its image (or its name when it is built locally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Egress,
    Livekit,
    Redis,
    ObjectStore,
    Proxy,
    Other,
}

/// One environment variable of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    pub name: String,
    /// `None` for `- NAME` (taken from the shell running compose).
    pub value: Option<String>,
    pub line: usize,
    /// The value node (for `EGRESS_CONFIG_BODY`).
    pub node: Option<Node>,
}

/// One service.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub line: usize,
    pub image: String,
    pub role: Role,
    pub env: Vec<EnvVar>,
    /// True when an `env_file:` may set more variables.
    pub env_file: bool,
    pub network_mode: Option<(String, usize)>,
    /// Networks joined (`default` when none is listed).
    pub networks: Vec<String>,
    /// Names other containers may use for it: container_name, hostname, network aliases.
    pub aliases: Vec<String>,
    /// CPU limit: (cores, line, key).
    pub cpus: Option<(f64, usize, String)>,
    pub security_opt: Vec<String>,
    pub cap_add: Vec<String>,
    pub privileged: bool,
    /// Container paths of mounts.
    pub mount_targets: Vec<String>,
    pub extra_hosts: Vec<String>,
    /// `command:` as one string.
    pub command: String,
    /// True when `shm_size:` is set.
    pub shm_size: bool,
}

impl Service {
    /// The variable `name`, if set.
    pub fn env(&self, name: &str) -> Option<&EnvVar> {
        self.env.iter().find(|e| e.name == name)
    }

    /// True with `network_mode: host`.
    pub fn host_network(&self) -> bool {
        self.network_mode.as_ref().is_some_and(|(m, _)| m == "host")
    }

    /// True when `host` names this service on a compose network.
    pub fn answers_to(&self, host: &str) -> bool {
        self.name.eq_ignore_ascii_case(host)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(host))
    }
}

/// A compose file's services.
#[derive(Debug, Clone, PartialEq)]
pub struct Compose {
    pub file: String,
    pub services: Vec<Service>,
}

impl Compose {
    /// Reads the services of a compose file.
    pub fn read(f: &ConfigFile) -> Compose {
        let services = f
            .root
            .get("services")
            .map(|s| {
                s.entries()
                    .iter()
                    .map(|e| service(&e.key, e.line, &e.value))
                    .collect()
            })
            .unwrap_or_default();
        Compose {
            file: f.name.clone(),
            services,
        }
    }

    /// The first service with this role.
    pub fn role(&self, role: Role) -> Option<&Service> {
        self.services.iter().find(|s| s.role == role)
    }

    /// The service reachable under `host`.
    pub fn service_for(&self, host: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.answers_to(host))
    }
}

fn role_of(name: &str, image: &str) -> Role {
    let img = image.to_ascii_lowercase();
    let repo = img.split([':', '@']).next().unwrap_or("");
    let last = repo.rsplit('/').next().unwrap_or("");
    if repo.contains("livekit/egress") || last == "egress" {
        return Role::Egress;
    }
    if repo.contains("livekit-server") || repo == "livekit/livekit" {
        return Role::Livekit;
    }
    if matches!(
        last,
        "redis" | "valkey" | "redis-stack" | "redis-stack-server" | "keydb"
    ) {
        return Role::Redis;
    }
    if matches!(
        last,
        "minio" | "localstack" | "seaweedfs" | "garage" | "s3proxy"
    ) {
        return Role::ObjectStore;
    }
    if matches!(
        last,
        "caddy" | "nginx" | "traefik" | "haproxy" | "envoy" | "nginx-proxy"
    ) {
        return Role::Proxy;
    }
    if !image.is_empty() {
        return Role::Other;
    }
    let n = name.to_ascii_lowercase();
    if n.contains("egress") {
        Role::Egress
    } else if n == "livekit" || n == "livekit-server" {
        Role::Livekit
    } else if n.contains("redis") {
        Role::Redis
    } else {
        Role::Other
    }
}

fn strings(n: &Node) -> Vec<String> {
    match &n.value {
        Value::Seq(items) => items.iter().filter_map(Node::text).collect(),
        _ => n.text().into_iter().collect(),
    }
}

fn service(name: &str, line: usize, n: &Node) -> Service {
    let image = n.get("image").and_then(Node::text).unwrap_or_default();
    let mut env = Vec::new();
    if let Some(e) = n.get("environment") {
        match &e.value {
            Value::Seq(items) => {
                for it in items {
                    if let Some(t) = it.text() {
                        let (k, v) = match t.split_once('=') {
                            Some((k, v)) => (k.trim().to_string(), Some(v.to_string())),
                            None => (t.trim().to_string(), None),
                        };
                        env.push(EnvVar {
                            name: k,
                            value: v,
                            line: it.line,
                            node: None,
                        });
                    }
                }
            }
            Value::Map(entries) => {
                for en in entries {
                    env.push(EnvVar {
                        name: en.key.clone(),
                        value: en.value.text(),
                        line: en.line,
                        node: Some(en.value.clone()),
                    });
                }
            }
            _ => {}
        }
    }
    let mut networks = Vec::new();
    let mut aliases: Vec<String> = ["container_name", "hostname"]
        .iter()
        .filter_map(|k| n.get(k).and_then(Node::text))
        .collect();
    if let Some(nets) = n.get("networks") {
        match &nets.value {
            Value::Seq(items) => networks.extend(items.iter().filter_map(Node::text)),
            Value::Map(entries) => {
                for en in entries {
                    networks.push(en.key.clone());
                    if let Some(a) = en.value.get("aliases") {
                        aliases.extend(strings(a));
                    }
                }
            }
            _ => {}
        }
    }
    if networks.is_empty() {
        networks.push("default".into());
    }
    let mut cpus: Option<(f64, usize, String)> = None;
    let mut take = |v: f64, line: usize, key: String| {
        if v > 0.0 && cpus.as_ref().is_none_or(|(c, _, _)| v < *c) {
            cpus = Some((v, line, key));
        }
    };
    if let Some(e) = n.entry("cpus") {
        if let Some(v) = e.value.number() {
            take(v, e.line, format!("services.{name}.cpus"));
        }
    }
    if let Some(e) = n.entry_at(&["deploy", "resources", "limits", "cpus"]) {
        if let Some(v) = e.value.number() {
            take(
                v,
                e.line,
                format!("services.{name}.deploy.resources.limits.cpus"),
            );
        }
    }
    if let Some(e) = n.entry("cpuset") {
        if let Some(v) = e.value.text().and_then(|t| cpuset_count(&t)) {
            take(v as f64, e.line, format!("services.{name}.cpuset"));
        }
    }
    let mut mount_targets = Vec::new();
    for v in n.get("volumes").map(Node::items).unwrap_or_default() {
        match &v.value {
            Value::Str(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                let target = if parts.len() >= 2 { parts[1] } else { parts[0] };
                mount_targets.push(target.to_string());
            }
            Value::Map(_) => {
                if let Some(t) = v.get("target").and_then(Node::text) {
                    mount_targets.push(t);
                }
            }
            _ => {}
        }
    }
    for cfg in ["configs", "secrets"] {
        for v in n.get(cfg).map(Node::items).unwrap_or_default() {
            if let Some(t) = v.get("target").and_then(Node::text) {
                mount_targets.push(t);
            }
        }
    }
    let command = n
        .get("command")
        .map(|c| strings(c).join(" "))
        .unwrap_or_default();
    Service {
        name: name.to_string(),
        line,
        role: role_of(name, &image),
        image,
        env,
        env_file: n.get("env_file").is_some(),
        network_mode: n
            .entry("network_mode")
            .and_then(|e| e.value.text().map(|t| (t, e.line))),
        networks,
        aliases,
        cpus,
        security_opt: n.get("security_opt").map(strings).unwrap_or_default(),
        cap_add: n.get("cap_add").map(strings).unwrap_or_default(),
        privileged: n.get("privileged").is_some_and(Node::is_true),
        mount_targets,
        extra_hosts: match n.get("extra_hosts") {
            Some(h) if h.is_map() => h
                .entries()
                .iter()
                .map(|e| format!("{}:{}", e.key, e.value.text().unwrap_or_default()))
                .collect(),
            Some(h) => strings(h),
            None => Vec::new(),
        },
        command,
        shm_size: n.get("shm_size").is_some(),
    }
}

/// Number of CPUs in a cpuset such as `0-3` or `0,2`.
fn cpuset_count(s: &str) -> Option<usize> {
    let mut n = 0;
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                n += b.checked_sub(a)? + 1;
            }
            None => {
                part.parse::<usize>().ok()?;
                n += 1;
            }
        }
    }
    (n > 0).then_some(n)
}

/// The egress config written inline in the compose file (`EGRESS_CONFIG_BODY`), as an egress
/// config file. Its lines are the compose file's when the body is a block scalar (`|`).
pub fn config_body(compose: &ConfigFile) -> Option<ConfigFile> {
    let c = Compose::read(compose);
    let s = c.role(Role::Egress)?;
    let var = s.env("EGRESS_CONFIG_BODY")?;
    let body = var.value.as_ref()?;
    let parsed = yaml::parse(body).ok().flatten().filter(Node::is_map)?;
    // A block scalar (`|`) starts on the line after its key, where saphyr's span starts too;
    // a quoted string keeps body-relative lines.
    let start = var.node.as_ref().map_or(var.line, |n| n.line);
    let (name, offset) = if start > var.line {
        (compose.name.clone(), start - 1)
    } else {
        (format!("{} (EGRESS_CONFIG_BODY)", compose.name), 0)
    };
    let mut parsed = parsed;
    shift(&mut parsed, offset);
    Some(ConfigFile {
        name,
        kind: Kind::Egress,
        detected_by: format!("EGRESS_CONFIG_BODY of service `{}`", s.name),
        root: parsed,
    })
}

fn shift(n: &mut Node, by: usize) {
    n.line += by;
    match &mut n.value {
        Value::Seq(items) => items.iter_mut().for_each(|i| shift(i, by)),
        Value::Map(entries) => {
            for e in entries {
                e.line += by;
                shift(&mut e.value, by);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compose(text: &str) -> Compose {
        let f = super::super::parse_file("dc.yaml", text, None).expect("parse");
        Compose::read(&f)
    }

    #[test]
    fn reads_services() {
        let c = compose(
            "services:\n  egress:\n    image: livekit/egress:v1.9\n    environment:\n      - EGRESS_CONFIG_FILE=/etc/egress.yaml\n      - LIVEKIT_WS_URL\n    cpus: \"2\"\n    volumes:\n      - ./egress.yaml:/etc/egress.yaml:ro\n    cap_add: [SYS_ADMIN]\n  lk:\n    image: livekit/livekit-server:latest\n    network_mode: host\n    container_name: livekit\n  cache:\n    image: redis:7-alpine\n",
        );
        let e = c.role(Role::Egress).expect("egress");
        assert_eq!(
            e.env("EGRESS_CONFIG_FILE").and_then(|v| v.value.as_deref()),
            Some("/etc/egress.yaml")
        );
        assert_eq!(
            e.env("LIVEKIT_WS_URL").map(|v| v.value.is_none()),
            Some(true)
        );
        assert_eq!(e.cpus.as_ref().map(|c| (c.0, c.1)), Some((2.0, 7)));
        assert_eq!(e.mount_targets, vec!["/etc/egress.yaml".to_string()]);
        assert_eq!(e.cap_add, vec!["SYS_ADMIN".to_string()]);
        let lk = c.role(Role::Livekit).expect("livekit");
        assert!(lk.host_network());
        assert_eq!(
            c.service_for("livekit").map(|s| s.name.as_str()),
            Some("lk")
        );
        assert_eq!(c.role(Role::Redis).map(|s| s.name.as_str()), Some("cache"));
    }

    #[test]
    fn cpusets_and_deploy_limits() {
        assert_eq!(cpuset_count("0-3"), Some(4));
        assert_eq!(cpuset_count("0,2"), Some(2));
        assert_eq!(cpuset_count("x"), None);
        let c = compose("services:\n  egress:\n    image: livekit/egress\n    deploy:\n      resources:\n        limits:\n          cpus: '1.5'\n");
        let e = c.role(Role::Egress).expect("egress");
        assert_eq!(e.cpus.as_ref().map(|c| c.0), Some(1.5));
    }

    #[test]
    fn inline_config_body_keeps_compose_lines() {
        let text = "services:\n  egress:\n    image: livekit/egress\n    environment:\n      EGRESS_CONFIG_BODY: |\n        ws_url: ws://localhost:7880\n        api_key: k\n";
        let f = super::super::parse_file("dc.yaml", text, None).expect("parse");
        let body = config_body(&f).expect("body");
        assert_eq!(body.name, "dc.yaml");
        assert_eq!(body.root.entry("ws_url").map(|e| e.line), Some(6));
    }
}
