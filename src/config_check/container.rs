//! Checks on the egress container itself: Chrome's sandbox without the seccomp profile (or
//! SYS_ADMIN), too few CPUs for the configured costs, the config file not reaching the
//! container (`missing config`), and egress ports that collide. Reads the compose model and
//! egress.yaml; shm is deliberately not checked (egress starts Chrome with
//! `--disable-dev-shm-usage`).

use super::compose::Service;
use super::yaml::Node;
use super::{Ctx, Loc, Out, Severity};

/// Default `cpu_cost` values (egress `config/service.go`).
const COSTS: &[(&str, f64, &str)] = &[
    ("room_composite_cpu_cost", 4.0, "room composite"),
    ("web_cpu_cost", 4.0, "web"),
    ("participant_cpu_cost", 2.0, "participant"),
    (
        "audio_room_composite_cpu_cost",
        1.0,
        "audio-only room composite",
    ),
    ("audio_web_cpu_cost", 1.0, "audio-only web"),
    ("track_composite_cpu_cost", 1.0, "track composite"),
    ("track_cpu_cost", 0.5, "track"),
];

/// Runs the container checks.
pub fn check(ctx: &Ctx<'_>, out: &mut Out) {
    if ctx.egress_service().is_some_and(|s| !s.shm_size) {
        out.note("shm_size is not set for the egress service, which is fine: egress starts Chrome with --disable-dev-shm-usage, so Docker's 64 MB /dev/shm does not limit it.");
    }
    sandbox(ctx, out);
    cpus(ctx, out);
    config_mount(ctx, out);
    ports(ctx, out);
}

fn sandbox(ctx: &Ctx<'_>, out: &mut Out) {
    let on = ctx
        .egress
        .and_then(|f| f.root.entry("enable_chrome_sandbox").map(|e| (f, e)))
        .filter(|(_, e)| e.value.is_true());
    let svc = ctx.egress_service();
    let seccomp = svc.is_some_and(|s| {
        s.security_opt.iter().any(|o| {
            o.replace(' ', "")
                .to_ascii_lowercase()
                .starts_with("seccomp")
        })
    });
    let sys_admin = svc.is_some_and(|s| {
        s.cap_add.iter().any(|c| {
            matches!(
                c.to_ascii_uppercase().as_str(),
                "SYS_ADMIN" | "CAP_SYS_ADMIN" | "ALL"
            )
        })
    });
    let privileged = svc.is_some_and(|s| s.privileged);
    match (on, svc) {
        (Some((f, e)), Some(s)) if !seccomp && !sys_admin && !privileged => out.add(
            "chrome-sandbox-seccomp",
            Severity::Error,
            &Loc { file: f.name.clone(), line: Some(e.line), key: "enable_chrome_sandbox".into() },
            format!("`enable_chrome_sandbox: true`, but service `{}` has no seccomp profile for it", s.name),
            "Chrome's sandbox needs the `clone`/`unshare` system calls that Docker's default seccomp profile blocks. Without egress's profile (`chrome-sandboxing-seccomp-profile.json`) Chrome cannot start: web and room-composite egresses fail with `chrome failed to start: …` (500), and the egress service then shuts itself down (`internal error, shutting down`).",
            format!("Either remove `enable_chrome_sandbox` (the default runs Chrome with --no-sandbox), or add to service `{}`:\nsecurity_opt:\n  - seccomp=chrome-sandboxing-seccomp-profile.json", s.name),
        ),
        (Some((f, e)), None) => out.add(
            "chrome-sandbox-seccomp",
            Severity::Info,
            &Loc { file: f.name.clone(), line: Some(e.line), key: "enable_chrome_sandbox".into() },
            "`enable_chrome_sandbox: true` needs a seccomp profile on the container",
            "Chrome's sandbox needs system calls that Docker's default seccomp profile blocks. egresslens cannot see how the container is started (no compose service for egress): without `--security-opt seccomp=chrome-sandboxing-seccomp-profile.json` Chrome fails to start (`chrome failed to start`, 500) and the egress shuts down. Kubernetes runs without seccomp by default, where this works.",
            "Start the container with `--security-opt seccomp=chrome-sandboxing-seccomp-profile.json` (from the egress repository), or remove `enable_chrome_sandbox`.",
        ),
        (None, Some(s)) if sys_admin && !s.host_network() => {
            if let Some(c) = &ctx.compose {
                out.add(
                    "sys-admin-unneeded",
                    Severity::Info,
                    &Loc { file: c.file.clone(), line: Some(s.line), key: format!("services.{}.cap_add", s.name) },
                    format!("service `{}` adds SYS_ADMIN, which egress does not need", s.name),
                    "Older guides add `cap_add: SYS_ADMIN` so Chrome can sandbox itself. egress runs Chrome with --no-sandbox unless `enable_chrome_sandbox: true`, so the capability only widens what a compromised Chrome could do.",
                    "Remove `SYS_ADMIN` from cap_add (or enable the sandbox with the seccomp profile instead).",
                );
            }
        }
        _ => {}
    }
}

fn cost(ctx: &Ctx<'_>, key: &str, default: f64) -> f64 {
    ctx.egress
        .and_then(|f| f.root.get("cpu_cost"))
        .and_then(|c| c.get(key))
        .and_then(Node::number)
        .filter(|v| *v > 0.0)
        .unwrap_or(default)
}

fn cpus(ctx: &Ctx<'_>, out: &mut Out) {
    let (Some(c), Some(s)) = (&ctx.compose, ctx.egress_service()) else {
        return;
    };
    let Some((cores, line, key)) = s.cpus.clone() else {
        return;
    };
    let costs: Vec<(&str, f64, &str)> = COSTS
        .iter()
        .map(|(k, d, what)| (*k, cost(ctx, k, *d), *what))
        .collect();
    let cheapest = costs.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let loc = Loc {
        file: c.file.clone(),
        line: Some(line),
        key,
    };
    if cores < cheapest {
        out.add(
            "cpus-too-few",
            Severity::Error,
            &loc,
            format!("{cores} CPUs: too few for any egress (cheapest costs {cheapest})"),
            format!("egress counts the container's CPU limit as its cores. With {cores} it cannot take even the cheapest request ({cheapest}): it logs ERROR `not enough cpu`, prints `not enough cpu` and exits."),
            "Give the egress container at least 4 CPUs (room composite costs 4 by default), or lower `cpu_cost` in egress.yaml.",
        );
        return;
    }
    let refused: Vec<String> = costs
        .iter()
        .filter(|(_, v, _)| cores < *v)
        .map(|(k, v, what)| format!("{what} (`cpu_cost.{k}` {v})"))
        .collect();
    if !refused.is_empty() {
        out.add(
            "cpus-too-few",
            Severity::Warning,
            &loc,
            format!("{cores} CPUs: fewer than some egress types cost"),
            format!("egress counts the container's CPU limit as its cores. With {cores} it logs `not enough cpu for some egress types` at startup and never accepts: {}. Such requests fail at livekit-server with `no response from servers` (503). Even above the cost, a request is only accepted while `cores × max_cpu_utilization` (0.8 by default) minus the load leaves room for it.", refused.join(", ")),
            "Give the egress container at least 4 CPUs (e.g. `cpus: 4`), or lower the costs in egress.yaml `cpu_cost:` (at the price of overloading the container).",
        );
    }
}

fn mounted(s: &Service, path: &str) -> bool {
    s.mount_targets.iter().any(|t| {
        let t = t.trim_end_matches('/');
        path == t || path.starts_with(&format!("{t}/"))
    })
}

fn config_mount(ctx: &Ctx<'_>, out: &mut Out) {
    let (Some(c), Some(s)) = (&ctx.compose, ctx.egress_service()) else {
        return;
    };
    let file = s.env("EGRESS_CONFIG_FILE");
    let body = s.env("EGRESS_CONFIG_BODY");
    if let (Some(b), Some(f)) = (body, ctx.egress) {
        if f.name != c.file {
            out.add(
                "compose-config-body-wins",
                Severity::Warning,
                &Loc { file: c.file.clone(), line: Some(b.line), key: format!("services.{}.environment.EGRESS_CONFIG_BODY", s.name) },
                format!("service `{}` sets EGRESS_CONFIG_BODY, so egress does not read {}", s.name, f.name),
                format!("egress uses EGRESS_CONFIG_BODY when it is set and reads EGRESS_CONFIG_FILE only otherwise. The container therefore runs with the inline body, not with {}: the findings for {} may not describe the running egress.", f.name, f.name),
                "Keep one source: remove EGRESS_CONFIG_BODY and mount the file with EGRESS_CONFIG_FILE, or check the compose file alone (the inline body is checked then).",
            );
        }
    }
    match (file, body) {
        (None, None) if !s.env_file => out.add(
            "compose-config-missing",
            Severity::Error,
            &Loc { file: c.file.clone(), line: Some(s.line), key: format!("services.{}.environment", s.name) },
            format!("service `{}` sets neither EGRESS_CONFIG_FILE nor EGRESS_CONFIG_BODY", s.name),
            "egress reads its configuration only from the file named by EGRESS_CONFIG_FILE or from EGRESS_CONFIG_BODY. With neither it prints `missing config` and exits 1 (restart loop).",
            format!("Mount egress.yaml and name it, in service `{}`:\nenvironment:\n  - EGRESS_CONFIG_FILE=/etc/egress.yaml\nvolumes:\n  - ./egress.yaml:/etc/egress.yaml:ro", s.name),
        ),
        (Some(v), _) => {
            if let Some(path) = v.value.as_deref().filter(|p| p.starts_with('/') && !p.contains("${")) {
                if !mounted(s, path) {
                    out.add(
                        "compose-config-not-mounted",
                        Severity::Warning,
                        &Loc { file: c.file.clone(), line: Some(v.line), key: format!("services.{}.environment.EGRESS_CONFIG_FILE", s.name) },
                        format!("EGRESS_CONFIG_FILE={path}, but no volume mounts it"),
                        format!("No `volumes:`, `configs:` or `secrets:` entry of service `{}` mounts {path} or a directory above it, so the file is not in the container (unless the image has it): egress fails to read it and exits at startup.", s.name),
                        format!("Add to service `{}`: `volumes: [\"./egress.yaml:{path}:ro\"]`.", s.name),
                    );
                }
            }
        }
        _ => {}
    }
}

fn ports(ctx: &Ctx<'_>, out: &mut Out) {
    let Some(f) = ctx.egress else { return };
    let mut seen: Vec<(u16, &str, usize)> = Vec::new();
    for key in [
        "health_port",
        "template_port",
        "prometheus_port",
        "debug_handler_port",
    ] {
        let Some(e) = f.root.entry(key) else { continue };
        let Some(p) = e.value.number().filter(|p| *p > 0.0 && *p < 65536.0) else {
            continue;
        };
        let p = p as u16;
        if let Some((_, other, oline)) = seen.iter().find(|(q, _, _)| *q == p) {
            out.add(
                "port-conflict",
                Severity::Warning,
                &Loc { file: f.name.clone(), line: Some(e.line), key: key.into() },
                format!("`{key}` and `{other}` are both {p}"),
                format!("Two egress listeners cannot share port {p} (line {oline} and here). egress ignores listen errors for the health and template servers, so one of them silently does not serve: a missing template server makes room-composite egresses fail with `page load error: net::ERR_CONNECTION_REFUSED`; a prometheus listen error aborts startup."),
                format!("Give `{key}` its own port."),
            );
        } else {
            seen.push((p, key, e.line));
        }
    }
    // The template server defaults to 7980 when template_port is unset.
    if f.root.entry("template_port").is_none() {
        if let Some((_, k, l)) = seen.iter().find(|(p, _, _)| *p == 7980) {
            out.add(
                "port-conflict",
                Severity::Warning,
                &Loc { file: f.name.clone(), line: Some(*l), key: (*k).into() },
                format!("`{k}` is 7980, the default template port"),
                "egress's template server listens on 7980 unless `template_port` says otherwise; two listeners cannot share it, and egress ignores the listen error, so room-composite egresses may fail with `page load error`.",
                format!("Move `{k}` to another port."),
            );
        }
    }
}
