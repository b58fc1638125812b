//! Redis and routing checks: egress without `redis` (startup panic), an empty or malformed
//! address, an address on localhost inside a container, livekit-server without redis, egress
//! and livekit-server on different redis servers, and a `cluster_id` that an OSS
//! livekit-server never routes to. Passwords are compared, never shown.

use super::compose::Role;
use super::livekit::Livekit;
use super::net::{classify, split_host_port, HostKind};
use super::yaml::Node;
use super::{ConfigFile, Ctx, Loc, Network, Out, Severity};

/// A `redis:` section.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisConf {
    pub file: String,
    pub line: usize,
    /// `address` text and line (`None` when missing or empty).
    pub address: Option<(String, usize)>,
    pub db: i64,
    pub db_line: Option<usize>,
    /// Password, for comparison only.
    pub password: String,
    /// Sentinel or cluster addresses are set (then `address` may be empty).
    pub multi: bool,
}

/// Reads the `redis:` section of a file (`None` when there is none).
pub fn read_redis(f: &ConfigFile) -> Option<RedisConf> {
    let e = f.root.entry("redis")?;
    let r = &e.value;
    let address = r
        .entry("address")
        .and_then(|a| a.value.text().map(|t| (t.trim().to_string(), a.line)))
        .filter(|(t, _)| !t.is_empty());
    let multi = ["sentinel_addresses", "cluster_addresses"]
        .iter()
        .any(|k| r.get(k).is_some_and(|n| !n.items().is_empty()));
    Some(RedisConf {
        file: f.name.clone(),
        line: e.line,
        address,
        db: r.get("db").and_then(Node::number).unwrap_or(0.0) as i64,
        db_line: r.entry("db").map(|d| d.line),
        password: r.get("password").and_then(Node::text).unwrap_or_default(),
        multi,
    })
}

const REDIS_SNIPPET: &str = "redis:\n  address: redis:6379   # the same Redis as livekit-server, reachable from the egress container";

/// Runs the redis and cluster checks.
pub fn check(ctx: &Ctx<'_>, out: &mut Out) {
    if let Some(f) = ctx.egress {
        egress_redis(ctx, f, out);
        cluster_id(f, out);
    }
    if let Some(lk) = &ctx.livekit {
        livekit_redis(ctx, lk, out);
    } else {
        livekit_service_redis(ctx, out);
    }
    compare(ctx, out);
}

fn egress_redis(ctx: &Ctx<'_>, f: &ConfigFile, out: &mut Out) {
    let Some(r) = read_redis(f) else {
        out.add(
            "redis-missing",
            Severity::Error,
            &Loc { file: f.name.clone(), line: None, key: "redis".into() },
            "no `redis` section: egress panics at startup",
            "egress.yaml has no `redis:` section. egress then hands a nil Redis client to its message bus and panics at startup (`panic: runtime error: invalid memory address or nil pointer dereference` through `NewRedisMessageBus`); with no egress connected, livekit-server answers every egress request with `no response from servers`.",
            format!("Add the Redis that livekit-server uses:\n{REDIS_SNIPPET}"),
        );
        return;
    };
    let Some((addr, line)) = r.address.clone() else {
        if !r.multi {
            out.add(
                "redis-address-empty",
                Severity::Error,
                &Loc { file: f.name.clone(), line: Some(r.line), key: "redis.address".into() },
                "`redis` has no address: egress exits with `redis is not configured`",
                "The `redis:` section is there but `address` is missing or empty (and no sentinel or cluster addresses are set): egress prints `redis is not configured` and exits, so it never receives a request.",
                format!("Set the address livekit-server uses:\n{REDIS_SNIPPET}"),
            );
        }
        return;
    };
    address_shape(
        ctx,
        &addr,
        &Loc {
            file: f.name.clone(),
            line: Some(line),
            key: "redis.address".into(),
        },
        "egress",
        out,
    );
}

/// Checks one redis address: URL form, missing port, loopback inside a container, unknown name.
fn address_shape(ctx: &Ctx<'_>, addr: &str, loc: &Loc, who: &str, out: &mut Out) {
    if addr.contains("://") {
        out.add(
            "redis-address-format",
            Severity::Error,
            loc,
            format!("redis address `{addr}` is a URL, not host:port"),
            format!("{who} passes `redis.address` to go-redis as `host:port`; a URL such as `{addr}` fails to dial (`too many colons in address`), so {who} cannot connect to Redis and exits at startup (`unable to connect to redis`)."),
            "Write host and port only, e.g. `address: redis:6379`; set `use_tls: true`, `username`, `password` and `db` as separate keys.",
        );
        return;
    }
    let Some((host, port)) = split_host_port(addr) else {
        return;
    };
    if port.is_none() {
        out.add(
            "redis-address-format",
            Severity::Error,
            loc,
            format!("redis address `{addr}` has no port"),
            format!("go-redis needs `host:port`; `{addr}` fails with `missing port in address`, so {who} cannot connect to Redis and exits at startup."),
            format!("Add the port: `address: {host}:6379`."),
        );
    }
    if who != "egress" {
        return;
    }
    if classify(&host).is_self() && ctx.network() != Network::Host {
        out.add(
            "redis-address-localhost",
            Severity::Error,
            loc,
            format!("redis address `{addr}` is the egress container itself"),
            format!(
                "Inside the egress container `{host}` is the container, not the host or the Redis service: egress logs `connecting to redis`, then `unable to connect to redis: dial tcp {addr}: connect: connection refused` and exits (restart loop).{}",
                assumed(ctx)
            ),
            "Use an address reachable from the container: the compose service name (`redis:6379`), or the host's IP as Docker sees it (172.17.0.1 on Linux, host.docker.internal on Docker Desktop) with Redis listening on it; or run egress with `network_mode: host`.",
        );
    }
    unknown_service_host(ctx, &host, loc, "redis.address", out);
}

/// A bare name that no compose service answers to.
pub(crate) fn unknown_service_host(
    ctx: &Ctx<'_>,
    host: &str,
    loc: &Loc,
    what: &str,
    out: &mut Out,
) {
    let Some(c) = &ctx.compose else { return };
    if ctx.egress_service().is_none() || classify(host) != HostKind::SingleLabel {
        return;
    }
    if c.service_for(host).is_none() {
        let names: Vec<&str> = c.services.iter().map(|s| s.name.as_str()).collect();
        out.add(
            "host-unknown-service",
            Severity::Warning,
            loc,
            format!("`{host}` is not a service of {}", c.file),
            format!("{what} uses the name `{host}`, but no service, container_name, hostname or network alias in {} has that name (services: {}). Inside the egress container the name then does not resolve (`no such host`) unless another network or DNS provides it.", c.file, names.join(", ")),
            "Use the compose service name of the target (or add it as a network alias).",
        );
    } else if ctx.network() == Network::Host {
        out.add(
            "host-unknown-service",
            Severity::Warning,
            loc,
            format!("`{host}` is a compose service name, but egress uses the host network"),
            format!("egress runs with `network_mode: host`; there, compose service names such as `{host}` are not in DNS, so {what} does not resolve."),
            "With host networking use the host's address (`localhost:<published port>`), or put egress on the compose network and keep the service name.",
        );
    }
}

fn assumed(ctx: &Ctx<'_>) -> &'static str {
    if ctx.network() == Network::Assumed {
        " (No compose file was given, so a container on a bridge network is assumed; with `network_mode: host` this address would work.)"
    } else {
        ""
    }
}

fn livekit_redis(ctx: &Ctx<'_>, lk: &Livekit, out: &mut Out) {
    let from_flags = ctx
        .compose
        .as_ref()
        .and_then(|c| c.role(Role::Livekit))
        .is_some_and(|s| s.command.contains("--redis-host") || s.env("REDIS_HOST").is_some());
    match &lk.redis {
        Some(r) => {
            if let Some((addr, line)) = &r.address {
                address_shape(ctx, addr, &Loc { file: lk.file.clone(), line: Some(*line), key: "redis.address".into() }, "livekit-server", out);
            } else if !r.multi && !from_flags {
                out.add(
                    "livekit-redis-missing",
                    Severity::Error,
                    &Loc { file: lk.file.clone(), line: Some(r.line), key: "redis.address".into() },
                    "livekit-server's `redis` has no address",
                    "livekit-server's `redis:` section has no address, so it runs without Redis and cannot reach any egress: egress requests fail with `egress not connected (redis required)` (500).",
                    "Set `redis.address` in livekit.yaml to the same Redis egress uses, e.g. `address: redis:6379`.",
                );
            }
        }
        None if !from_flags => out.add(
            "livekit-redis-missing",
            Severity::Error,
            &Loc { file: lk.file.clone(), line: None, key: "redis".into() },
            "livekit-server has no `redis`: egress requests fail with `egress not connected (redis required)`",
            "Without Redis livekit-server runs as a single node with no message bus, so it cannot hand requests to an egress worker: StartRoomCompositeEgress and the other egress calls fail with `egress not connected (redis required)` (500), even when the egress itself is up and connected to Redis.",
            "Add the Redis egress uses to livekit.yaml:\nredis:\n  address: redis:6379\n(or start livekit-server with `--redis-host redis:6379`).",
        ),
        None => {}
    }
}

/// Without livekit.yaml: a compose livekit-server started without a config file and without
/// `--redis-host` (typically `--dev`) has no Redis.
fn livekit_service_redis(ctx: &Ctx<'_>, out: &mut Out) {
    let Some(c) = &ctx.compose else { return };
    let Some(s) = c.role(Role::Livekit) else {
        return;
    };
    let configured = s.command.contains("--config")
        || s.command.contains("--redis-host")
        || ["LIVEKIT_CONFIG", "LIVEKIT_CONFIG_FILE", "REDIS_HOST"]
            .iter()
            .any(|v| s.env(v).is_some())
        || s.env_file;
    if configured {
        return;
    }
    out.add(
        "livekit-redis-missing",
        Severity::Error,
        &Loc { file: c.file.clone(), line: Some(s.line), key: format!("services.{}.command", s.name) },
        format!("service `{}` starts livekit-server without a config file or `--redis-host`", s.name),
        format!("Service `{}` runs livekit-server with neither `--config` nor `--redis-host` (command: `{}`), so it has no Redis (`--dev` does not add one) and cannot reach any egress: egress requests fail with `egress not connected (redis required)` (500), while the egress itself looks healthy.", s.name, if s.command.is_empty() { "the image default" } else { s.command.as_str() }),
        "Start it with the Redis egress uses, e.g. `command: --dev --redis-host redis:6379` (or a livekit.yaml with `redis.address`).",
    );
}

/// Normalised `host:port` for comparing two addresses.
fn norm(addr: &str) -> Option<(String, u16)> {
    let (h, p) = split_host_port(addr)?;
    let h = if classify(&h).is_self() {
        "localhost".to_string()
    } else {
        h
    };
    Some((h, p.unwrap_or(6379)))
}

fn compare(ctx: &Ctx<'_>, out: &mut Out) {
    let (Some(f), Some(lk)) = (ctx.egress, &ctx.livekit) else {
        return;
    };
    let (Some(e), Some(l)) = (read_redis(f), lk.redis.as_ref()) else {
        return;
    };
    let (Some((ea, eline)), Some((la, lline))) = (&e.address, &l.address) else {
        return;
    };
    let (Some(en), Some(ln)) = (norm(ea), norm(la)) else {
        return;
    };
    let loc = Loc {
        file: f.name.clone(),
        line: Some(*eline),
        key: "redis.address".into(),
    };
    if en.0 == "localhost" && ctx.network() != Network::Host {
        return; // reported as redis-address-localhost
    }
    if en != ln {
        // Two names can still reach one server: a service name and its alias, or an
        // address seen from the host network versus from a container.
        let same_service = ctx.compose.as_ref().is_some_and(|c| {
            match (c.service_for(&en.0), c.service_for(&ln.0)) {
                (Some(a), Some(b)) => a.name == b.name && en.1 == ln.1,
                _ => false,
            }
        });
        if same_service {
            return;
        }
        let both_services = ctx
            .compose
            .as_ref()
            .is_some_and(|c| c.service_for(&en.0).is_some() && c.service_for(&ln.0).is_some());
        let certain = both_services || (en.1 != ln.1 && en.0 == ln.0);
        out.add(
            "redis-mismatch",
            if certain { Severity::Error } else { Severity::Warning },
            &loc,
            format!("egress uses redis `{ea}`, livekit-server `{la}`"),
            format!(
                "egress and livekit-server must share one Redis: requests travel over it. egress.yaml says `{ea}`, {} line {lline} says `{la}`.{} If they are different servers, the egress starts fine (`service ready`) but never receives a request, and livekit-server answers `no response from servers` (503).",
                lk.file,
                if certain { "" } else { " They may still be one server under two names (a host IP and a service name, or host networking on one side): egresslens cannot resolve them." }
            ),
            "Point both at the same Redis: use one address that both containers can reach (the compose service name, e.g. `redis:6379`).",
        );
        return;
    }
    if e.db != l.db {
        out.add(
            "redis-db-mismatch",
            Severity::Info,
            &Loc { file: f.name.clone(), line: e.db_line.or(Some(*eline)), key: "redis.db".into() },
            format!("egress uses redis db {}, livekit-server db {}", e.db, l.db),
            format!(
                "The reference lists a different Redis database as a cause of `no response from servers`. Requests travel over Redis pub/sub, which Redis does not separate by database number, so this alone probably does not stop them; keep the numbers equal to rule it out. ({} {})",
                lk.file,
                l.db_line.map_or_else(|| "uses the default db 0".to_string(), |n| format!("line {n}"))
            ),
            format!("Use the same `db` in both files (livekit.yaml has {}).", l.db),
        );
    }
    if e.password != l.password {
        out.add(
            "redis-password-mismatch",
            Severity::Warning,
            &Loc { file: f.name.clone(), line: Some(e.line), key: "redis.password".into() },
            "egress and livekit-server use different redis passwords",
            format!("Both point at `{ea}`, but their `redis.password` values differ (values not shown). One of them fails to authenticate (`NOAUTH` / `WRONGPASS`): egress exits with `unable to connect to redis`, or livekit-server cannot use Redis."),
            "Copy the password livekit-server uses into egress.yaml (or remove it from both if Redis has none).",
        );
    }
}

fn cluster_id(f: &ConfigFile, out: &mut Out) {
    let Some(e) = f.root.entry("cluster_id") else {
        return;
    };
    let Some(v) = e.value.text().filter(|t| !t.trim().is_empty()) else {
        return;
    };
    out.add(
        "cluster-id-set",
        Severity::Error,
        &Loc { file: f.name.clone(), line: Some(e.line), key: "cluster_id".into() },
        format!("`cluster_id: {v}`: an OSS livekit-server never routes requests to this egress"),
        format!("egress registers for StartEgress on the topic `{v}`, but the open-source livekit-server sends StartEgress on the empty topic `\"\"`. No request reaches this egress: it looks healthy (`service ready`) while livekit-server answers `no response from servers` (503). Every log line carries `clusterID: {v}`."),
        "Remove `cluster_id` (or set it to \"\") unless your livekit-server is built to route by cluster.",
    );
}
