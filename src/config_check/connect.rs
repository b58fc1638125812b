//! Checks on how egress reaches livekit-server: `ws_url` (missing, malformed, localhost in a
//! container, a name compose does not know, the wrong port, ws:// versus wss://), `insecure`
//! for plain ws:// to a private address, `api_key`/`api_secret` (missing, placeholders, not
//! a pair of livekit-server's `keys`) and `template_base`. Secrets are compared, never shown.

use super::compose::Role;
use super::livekit::{Keys, Livekit, DEFAULT_PORT};
use super::net::{classify, parse_url, HostKind, Url};
use super::redis::unknown_service_host;
use super::{Ctx, Kind, Loc, Network, Out, Setting, Severity};

/// Runs the connection checks.
pub fn check(ctx: &Ctx<'_>, out: &mut Out) {
    if ctx.egress.is_none() && ctx.egress_service().is_none() {
        return;
    }
    ws_url(ctx, out);
    keys(ctx, out);
    template_base(ctx, out);
}

const WS_FIX: &str = "Set `ws_url` in egress.yaml to livekit-server's address as seen from inside the egress container: with docker compose the service name (`ws_url: ws://livekit:7880`); otherwise the host's IP as Docker sees it (172.17.0.1 on Linux, host.docker.internal on Docker Desktop), never localhost. Check with `docker exec -it <egress container> curl -sI http://livekit:7880`.";

fn missing_severity(ctx: &Ctx<'_>) -> (Severity, &'static str) {
    match ctx.egress_service() {
        Some(s) if !s.env_file => (Severity::Error, ""),
        Some(_) => (
            Severity::Warning,
            " (An `env_file:` of the egress service may set it: egresslens cannot see it.)",
        ),
        None => (
            Severity::Warning,
            " (Unless the container's environment sets it: no compose file was given to check.)",
        ),
    }
}

fn ws_url(ctx: &Ctx<'_>, out: &mut Out) {
    let Some(ws) = ctx.egress_setting("ws_url", Some("LIVEKIT_WS_URL")) else {
        let (sev, why) = missing_severity(ctx);
        let why = ctx
            .empty_override("ws_url", "LIVEKIT_WS_URL")
            .map_or(why.to_string(), |o| o);
        out.add(
            "ws-url-missing",
            sev,
            &ctx.egress_loc(&["ws_url"]),
            "no `ws_url` (nor LIVEKIT_WS_URL)",
            format!("egress needs livekit-server's WebSocket URL to join rooms. Without it every room-based request fails validation with `request has missing or invalid field: ws_url` (400): the egress log shows `request received` and no `request validated`.{why}"),
            WS_FIX,
        );
        return;
    };
    let Some(url) = parse_url(&ws.text).filter(|u| !u.scheme.is_empty()) else {
        out.add(
            "ws-url-invalid",
            Severity::Error,
            &ws.loc,
            format!("`{}` is not a ws:// or wss:// URL", ws.text),
            "`ws_url` must be a full URL with scheme and host (`ws://livekit:7880`, `wss://livekit.example.com`). Without a scheme neither the template page nor the Go SDK can connect.",
            WS_FIX,
        );
        return;
    };
    if !matches!(url.scheme.as_str(), "ws" | "wss" | "http" | "https") {
        out.add(
            "ws-url-invalid",
            Severity::Error,
            &ws.loc,
            format!("`ws_url` has scheme `{}://`", url.scheme),
            "`ws_url` must start with ws:// (plain) or wss:// (TLS).",
            WS_FIX,
        );
        return;
    }
    let kind = classify(&url.host);
    let net = ctx.network();
    if kind.is_self() && net != Network::Host {
        out.add(
            "ws-url-localhost",
            Severity::Error,
            &ws.loc,
            format!("`ws_url: {}` is not reachable from inside the egress container", ws.text),
            format!(
                "Inside the egress container `{}` is the container itself, not livekit-server. Chrome's template page and the Go SDK both connect to `ws_url`, so web and room-composite egresses wait and end `egress_aborted` with `Start signal not received` (412), and track/participant egresses fail with `could not establish signal connection` or a dial error (`connection refused`).{}",
                url.host,
                if net == Network::Assumed {
                    " (No compose file was given: egresslens assumes egress runs in a container on a bridge network, as the livekit/egress image normally does; with `network_mode: host` localhost would work.)"
                } else {
                    ""
                }
            ),
            WS_FIX,
        );
    }
    if kind == HostKind::DockerHost {
        if let Some(s) = ctx.egress_service() {
            if !s.extra_hosts.iter().any(|h| h.starts_with(&url.host)) && !s.host_network() {
                out.add(
                    "ws-url-docker-host",
                    Severity::Info,
                    &ws.loc,
                    format!("`{}` resolves only on Docker Desktop", url.host),
                    format!("`{}` exists on Docker Desktop (Mac, Windows); on Linux it resolves only when the service has `extra_hosts: [\"host.docker.internal:host-gateway\"]`, which service `{}` does not have. Where it does not resolve, web egresses end `Start signal not received` (412) and SDK egresses fail with `no such host`.", url.host, s.name),
                    format!("On Linux add to service `{}`: `extra_hosts: [\"host.docker.internal:host-gateway\"]`, or use the compose service name of livekit-server.", s.name),
                );
            }
        }
    }
    if kind == HostKind::SingleLabel {
        service_reachability(ctx, &url, &ws, out);
        unknown_service_host(ctx, &url.host, &ws.loc, "`ws_url`", out);
    }
    ports(ctx, &url, &ws, out);
    insecure(ctx, &url, kind, &ws, out);
}

/// ws_url names a compose service: is that service on a network egress shares?
fn service_reachability(ctx: &Ctx<'_>, url: &Url, ws: &Setting, out: &mut Out) {
    let (Some(c), Some(eg)) = (&ctx.compose, ctx.egress_service()) else {
        return;
    };
    let Some(target) = c.service_for(&url.host) else {
        return;
    };
    if eg.host_network() {
        return; // reported as host-unknown-service
    }
    if target.host_network() {
        out.add(
            "ws-url-network",
            Severity::Warning,
            &ws.loc,
            format!("service `{}` uses the host network, so `{}` does not resolve from egress", target.name, url.host),
            format!("`{}` runs with `network_mode: host`, so it is on no compose network and its name is not in the egress container's DNS: the connection fails (`no such host`), and web egresses end `Start signal not received` (412).", target.name),
            "Use the host's address from the egress container (172.17.0.1 on Linux, host.docker.internal on Docker Desktop, with livekit-server's port), or run egress with `network_mode: host` and `ws_url: ws://localhost:7880`.",
        );
        return;
    }
    if !eg.networks.iter().any(|n| target.networks.contains(n)) {
        out.add(
            "ws-url-network",
            Severity::Warning,
            &ws.loc,
            format!("egress and `{}` share no compose network", target.name),
            format!("Service `{}` is on networks [{}] and `{}` on [{}]: containers only resolve and reach each other on a shared network, so `{}` does not resolve from egress.", eg.name, eg.networks.join(", "), target.name, target.networks.join(", "), url.host),
            format!("Put `{}` and `{}` on a common network.", eg.name, target.name),
        );
    }
}

/// The livekit-server that ws_url points at, when egresslens can tell.
fn points_at_livekit(ctx: &Ctx<'_>, url: &Url, lk: &Livekit) -> bool {
    let by_service = ctx
        .compose
        .as_ref()
        .and_then(|c| c.service_for(&url.host))
        .is_some_and(|s| s.role == Role::Livekit);
    by_service
        || url.host == "livekit"
        || url.host == "livekit-server"
        || url.port == Some(lk.port)
        || (classify(&url.host).is_self() && ctx.network() == Network::Host)
}

fn ports(ctx: &Ctx<'_>, url: &Url, ws: &Setting, out: &mut Out) {
    let lk_default = Livekit {
        file: Kind::Livekit.file_label().into(),
        port: DEFAULT_PORT,
        port_line: None,
        rtc_tcp: super::livekit::DEFAULT_RTC_TCP,
        rtc_udp: None,
        turn_tls: None,
        turn_udp: None,
        keys: Keys::None,
        redis: None,
    };
    let lk = ctx.livekit.as_ref().unwrap_or(&lk_default);
    let known = ctx.livekit.is_some();
    let Some(port) = url.effective_port() else {
        return;
    };
    let where_port = match lk.port_line {
        Some(l) => format!("{} line {l}", lk.file),
        None if known => format!("the default; {} sets no `port`", lk.file),
        None => "livekit-server's default".into(),
    };
    let wrong_port = |what: &str| {
        format!(
            "{what} livekit-server serves signalling (HTTP and WebSocket) on port {} ({where_port}); egress connecting to port {port} never reaches it, so web egresses end `Start signal not received` (412) and SDK egresses fail with `could not establish signal connection`.",
            lk.port
        )
    };
    let fix_port = format!(
        "Use livekit-server's signalling port: `ws_url: ws://{}:{}` (or the wss:// URL of a TLS proxy in front of it).",
        url.host, lk.port
    );
    let media = [Some(lk.rtc_tcp), lk.rtc_udp, lk.turn_tls, lk.turn_udp];
    if url.port.is_some() && media.contains(&Some(port)) && port != lk.port {
        out.add(
            "ws-url-port",
            Severity::Warning,
            &ws.loc,
            format!("`ws_url` uses port {port}, a media/TURN port of livekit-server"),
            wrong_port(&format!(
                "Port {port} is one of livekit-server's RTC/TURN ports (media, not signalling)."
            )),
            fix_port.clone(),
        );
        return;
    }
    let direct = points_at_livekit(ctx, url, lk);
    if direct && url.port.is_some() && port != lk.port {
        out.add(
            "ws-url-port",
            Severity::Warning,
            &ws.loc,
            format!(
                "`ws_url` port {port} is not livekit-server's port {}",
                lk.port
            ),
            wrong_port(&format!(
                "`{}` is livekit-server itself, not a proxy.",
                url.host
            )),
            fix_port,
        );
        return;
    }
    let tls = url.scheme == "wss" || url.scheme == "https";
    if tls && direct && port == lk.port {
        out.add(
            "ws-url-tls",
            Severity::Warning,
            &ws.loc,
            format!("`wss://` to livekit-server's plain port {port}"),
            format!("livekit-server does not terminate TLS on its signalling port {port}: it serves plain ws:// there (TLS comes from a proxy such as Caddy or nginx, or a load balancer). A wss:// connection to that port fails in the TLS handshake, so the egress cannot join: `Start signal not received` (412) for web egresses, a TLS/handshake error for SDK egresses."),
            format!("Inside the Docker network use `ws_url: ws://{}:{port}`; use wss:// only with the proxy's public name (`wss://livekit.example.com`, port 443).", url.host),
        );
    } else if !tls && port == 443 {
        out.add(
            "ws-url-tls",
            Severity::Warning,
            &ws.loc,
            "plain `ws://` to port 443",
            "Port 443 is where a TLS proxy listens; a plain ws:// handshake to it is rejected (`400 The plain HTTP request was sent to HTTPS port` or a reset), so the egress cannot join.",
            format!("Use `wss://{}` for the TLS endpoint, or `ws://<livekit host>:{}` to reach livekit-server directly.", url.host, lk.port),
        );
    } else if tls && port == 80 {
        out.add(
            "ws-url-tls",
            Severity::Warning,
            &ws.loc,
            "`wss://` to port 80",
            "Port 80 serves plain HTTP; a TLS handshake there fails, so the egress cannot join.",
            format!(
                "Use `wss://{}` (port 443) or `ws://{}:80`.",
                url.host, url.host
            ),
        );
    } else if !tls && url.port.is_none() && kind_is_public(url) {
        if let Some(proxy) = ctx.compose.as_ref().and_then(|c| c.role(Role::Proxy)) {
            out.add(
                "ws-url-tls",
                Severity::Info,
                &ws.loc,
                format!("plain `ws://{}` while compose runs a TLS proxy (`{}`)", url.host, proxy.name),
                format!("`ws://{}` goes to port 80. Service `{}` ({}) looks like the TLS proxy in front of livekit-server; if it serves livekit only over TLS on 443 and redirects port 80 (as LiveKit's generated Caddy setup does), the WebSocket handshake gets a redirect it does not follow, and the egress cannot join. egresslens cannot see the proxy's configuration.", url.host, proxy.name, proxy.image),
                format!("Use `wss://{}`, or reach livekit-server directly on the Docker network (`ws://livekit:{}`).", url.host, lk.port),
            );
        }
    }
}

fn kind_is_public(url: &Url) -> bool {
    matches!(classify(&url.host), HostKind::Domain | HostKind::PublicIp)
}

fn insecure(ctx: &Ctx<'_>, url: &Url, kind: HostKind, ws: &Setting, out: &mut Out) {
    if url.scheme != "ws" || !kind.is_private() || kind.is_self() {
        return;
    }
    let set = ctx
        .egress
        .and_then(|f| f.root.get("insecure"))
        .is_some_and(|n| n.is_true());
    if set {
        return;
    }
    let mut loc = ctx.egress_loc(&["insecure"]);
    if loc.line.is_none() {
        loc.line = (loc.file == ws.loc.file).then_some(ws.loc.line).flatten();
    }
    out.add(
        "insecure-missing",
        Severity::Warning,
        &loc,
        format!("plain `ws://{}` to a private address without `insecure: true`", url.authority()),
        "The template page runs in Chrome and opens `ws_url` from http://localhost. For a plain ws:// URL to a private-network address Chrome's security checks (mixed content, Local Network Access) may block the WebSocket; egress's `insecure: true` starts Chrome with `--disable-web-security --allow-running-insecure-content` to allow it. Blocked, the template never joins and web/room-composite egresses end `Start signal not received` (412). Track and participant egresses (Go SDK) are not affected.",
        "Add `insecure: true` to egress.yaml (only for a private network), or use wss:// with a valid certificate.",
    );
}

fn placeholder(v: &str) -> bool {
    let l = v.trim().to_ascii_lowercase();
    l.contains("${")
        || (l.starts_with('<') && l.ends_with('>'))
        || l.starts_with("your")
        || matches!(
            l.as_str(),
            "changeme" | "change-me" | "change_me" | "xxx" | "todo" | "api_key" | "api_secret"
        )
}

fn keys(ctx: &Ctx<'_>, out: &mut Out) {
    let key = ctx.egress_setting("api_key", Some("LIVEKIT_API_KEY"));
    let secret = ctx.egress_setting("api_secret", Some("LIVEKIT_API_SECRET"));
    let (sev, why) = missing_severity(ctx);
    for (name, env, v) in [
        ("api_key", "LIVEKIT_API_KEY", &key),
        ("api_secret", "LIVEKIT_API_SECRET", &secret),
    ] {
        if v.is_none() {
            let why = ctx.empty_override(name, env).map_or(why.to_string(), |o| o);
            out.add(
                if name == "api_key" { "api-key-missing" } else { "api-secret-missing" },
                sev,
                &ctx.egress_loc(&[name]),
                format!("no `{name}` (nor {env})"),
                format!("egress signs its room tokens with api_key/api_secret. Without them every room-based request fails validation with `request has missing or invalid field: token or api key/secret` (400): the egress log shows `request received` and no `request validated`.{why}"),
                format!("Set `{name}` in egress.yaml to a key pair from livekit.yaml `keys:`."),
            );
        }
    }
    for (name, v) in [("api_key", &key), ("api_secret", &secret)] {
        if let Some(s) = v {
            if placeholder(&s.text) {
                let shown = if name == "api_key" {
                    format!(" `{}`", s.text)
                } else {
                    String::new()
                };
                out.add(
                    "api-key-placeholder",
                    Severity::Warning,
                    &s.loc,
                    format!("`{name}` looks like a placeholder{shown}"),
                    format!("The value of `{name}` looks like a placeholder or an unexpanded variable (`${{...}}`). egress reads egress.yaml as it is, without expanding environment variables, so livekit-server rejects the egress's token (401 `invalid API key` / `invalid authorization token`): web egresses end `Start signal not received` (412), SDK egresses fail with `unauthorized`."),
                    format!("Write the real value, or leave `{name}` out of egress.yaml and set LIVEKIT_API_KEY / LIVEKIT_API_SECRET in the container's environment."),
                );
            }
        }
    }
    let (Some(key), Some(secret)) = (key, secret) else {
        return;
    };
    let (keys, kfile) = match (
        &ctx.livekit,
        ctx.compose
            .as_ref()
            .and_then(|c| c.role(Role::Livekit).map(|s| (c, s))),
    ) {
        (Some(lk), _) if !matches!(lk.keys, Keys::None) => (lk.keys.clone(), lk.file.clone()),
        (_, Some((c, s))) => match s
            .env("LIVEKIT_KEYS")
            .and_then(|v| v.value.clone().map(|t| (t, v.line)))
        {
            Some((t, line)) => (Livekit::keys_from_env(&t, line), c.file.clone()),
            None => return,
        },
        _ => return,
    };
    match keys {
        Keys::File { path, line } => out.note(format!(
            "{kfile} line {line} keeps the API keys in key_file `{path}`: egresslens did not read it, so api_key/api_secret were not compared."
        )),
        Keys::None => {}
        Keys::Inline { pairs, line } => match pairs.iter().find(|(k, _)| *k == key.text) {
            None => {
                let names: Vec<String> = pairs.iter().map(|(k, _)| format!("`{k}`")).collect();
                out.add(
                    "api-key-unknown",
                    Severity::Error,
                    &key.loc,
                    format!("api_key `{}` is not one of livekit-server's keys", key.text),
                    format!("{kfile} line {line} defines the keys {}; egress's `{}` is not among them. livekit-server rejects the egress's token: it logs `error handling request` with `invalid API key` (401); web egresses end `Start signal not received` (412), SDK egresses fail with `unauthorized: invalid API key`.", names.join(", "), key.text),
                    format!("Set api_key/api_secret in egress.yaml to one of the pairs under `keys:` in {kfile}."),
                );
            }
            Some((_, s)) if *s != secret.text => out.add(
                "api-secret-mismatch",
                Severity::Error,
                &secret.loc,
                format!("api_secret differs from livekit-server's secret for `{}`", key.text),
                format!("{kfile} line {line} gives key `{}` a different secret than egress uses (values not shown). The token egress signs fails verification: livekit-server logs `error handling request` with `invalid authorization token` (401); web egresses end `Start signal not received` (412), SDK egresses fail with `unauthorized`.", key.text),
                format!("Copy the secret of `{}` from {kfile} into egress.yaml `api_secret`.", key.text),
            ),
            Some(_) => {}
        },
    }
}

fn template_base(ctx: &Ctx<'_>, out: &mut Out) {
    let Some(f) = ctx.egress else { return };
    let Some(e) = f.root.entry("template_base") else {
        return;
    };
    let Some(text) = e.value.text().filter(|t| !t.trim().is_empty()) else {
        return;
    };
    let loc = Loc {
        file: f.name.clone(),
        line: Some(e.line),
        key: "template_base".into(),
    };
    let template_port = f
        .root
        .get("template_port")
        .and_then(super::Node::number)
        .map_or(7980, |p| p as u16);
    let url = parse_url(&text);
    let Some(url) = url.filter(|u| u.scheme == "http" || u.scheme == "https") else {
        out.add(
            "template-base-scheme",
            Severity::Error,
            &loc,
            format!("`template_base: {text}` is not an http(s) URL"),
            "egress loads the recording template from `template_base` in Chrome; anything but an http:// or https:// URL fails validation with `request has missing or invalid field: template base url`.",
            format!("Remove `template_base` to use the built-in template (http://localhost:{template_port}/), or give the http(s) URL of your own template."),
        );
        return;
    };
    let lk_port = ctx.livekit.as_ref().map_or(DEFAULT_PORT, |l| l.port);
    let lk_service = ctx
        .compose
        .as_ref()
        .and_then(|c| c.service_for(&url.host))
        .is_some_and(|s| s.role == Role::Livekit);
    let port = url.effective_port().unwrap_or(80);
    if lk_service || port == lk_port {
        out.add(
            "template-base-livekit",
            Severity::Error,
            &loc,
            format!("`template_base` points at livekit-server's signalling port ({})", url.authority()),
            format!("`template_base` is the page Chrome opens to record a room: the egress template (built in and served by egress itself at http://localhost:{template_port}/ unless you host your own). {} is livekit-server's signalling port, which serves no template: Chrome loads a page that never joins the room and never prints START_RECORDING, so room-composite egresses end `egress_aborted` with `Start signal not received` (412) (or `page load error` when the path returns an error).", url.authority()),
            format!("Remove `template_base` from egress.yaml: the default http://localhost:{template_port}/ is served inside the egress container. Set it only when you host a custom template, to that server's URL."),
        );
        return;
    }
    if classify(&url.host).is_self() {
        if port == template_port {
            out.add(
                "template-base-default",
                Severity::Info,
                &loc,
                "`template_base` repeats the default",
                format!("egress serves its template at http://localhost:{template_port}/ and uses that when `template_base` is unset."),
                "You can remove `template_base`.",
            );
        } else {
            out.add(
                "template-base-port",
                Severity::Warning,
                &loc,
                format!("`template_base` is localhost:{port}, but egress serves templates on {template_port}"),
                format!("Inside the egress container only egress's own template server listens on localhost, on `template_port` ({template_port}). Chrome finds nothing on port {port}: `page load error: net::ERR_CONNECTION_REFUSED` (400)."),
                format!("Remove `template_base`, or use http://localhost:{template_port}/."),
            );
        }
    }
}
