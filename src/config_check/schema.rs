//! The egress.yaml schema (keys and types of egress v1.14, egress-logs.md §5) and the checks
//! that need only it: keys egress ignores (`log_level`, `backup_storage`, the old top-level
//! `s3:`), misspelled keys with the real key suggested by edit distance, keys that belong
//! to livekit.yaml, type errors that stop egress at startup (`could not parse config`),
//! durations written as bare numbers, an unknown `logging.level`, and `${VAR}` that egress
//! never expands. Values of secret keys are never quoted.

use super::yaml::{type_name, Entry, Node, Value};
use super::{edit_distance, ConfigFile, Loc, Out, Severity};

/// The type yaml.v3 decodes a key into.
#[derive(Debug, Clone, Copy)]
enum T {
    Str,
    Bool,
    Int,
    Float,
    /// Go `time.Duration`: a string such as `30s`; a bare number means nanoseconds.
    Dur,
    Map(&'static [(&'static str, T)]),
    StrList,
    /// Not checked (advanced or free-form sections).
    Any,
}

const PROXY: &[(&str, T)] = &[("url", T::Str), ("username", T::Str), ("password", T::Str)];
const S3: &[(&str, T)] = &[
    ("access_key", T::Str),
    ("secret", T::Str),
    ("session_token", T::Str),
    ("assume_role_arn", T::Str),
    ("assume_role_external_id", T::Str),
    ("region", T::Str),
    ("endpoint", T::Str),
    ("bucket", T::Str),
    ("force_path_style", T::Bool),
    ("proxy_config", T::Map(PROXY)),
    ("max_retries", T::Int),
    ("max_retry_delay", T::Dur),
    ("min_retry_delay", T::Dur),
    ("metadata", T::Any),
    ("tagging", T::Str),
    ("content_disposition", T::Str),
    ("aws_log_level", T::Str),
];
const AZURE: &[(&str, T)] = &[
    ("account_name", T::Str),
    ("account_key", T::Str),
    ("container_name", T::Str),
];
const GCP: &[(&str, T)] = &[
    ("credentials_json", T::Str),
    ("bucket", T::Str),
    ("proxy_config", T::Map(PROXY)),
];
const ALIOSS: &[(&str, T)] = &[
    ("access_key", T::Str),
    ("secret", T::Str),
    ("region", T::Str),
    ("endpoint", T::Str),
    ("bucket", T::Str),
];
const STORAGE: &[(&str, T)] = &[
    ("prefix", T::Str),
    ("generate_presigned_url", T::Bool),
    ("s3", T::Map(S3)),
    ("azure", T::Map(AZURE)),
    ("gcp", T::Map(GCP)),
    ("alioss", T::Map(ALIOSS)),
];
const REDIS: &[(&str, T)] = &[
    ("address", T::Str),
    ("username", T::Str),
    ("password", T::Str),
    ("db", T::Int),
    ("use_tls", T::Bool),
    ("sentinel_master_name", T::Str),
    ("sentinel_username", T::Str),
    ("sentinel_password", T::Str),
    ("sentinel_addresses", T::StrList),
    ("cluster_addresses", T::StrList),
    ("cluster_max_redirects", T::Int),
    ("dial_timeout", T::Any),
    ("read_timeout", T::Any),
    ("write_timeout", T::Any),
    ("pool_size", T::Int),
    ("pool_timeout", T::Any),
    ("idle_timeout", T::Any),
    ("max_retries", T::Int),
    ("tls", T::Any),
];
const LOGGING: &[(&str, T)] = &[
    ("level", T::Str),
    ("json", T::Bool),
    ("component_levels", T::Any),
    ("sample", T::Bool),
    ("pion_level", T::Str),
];
const SESSION_LIMITS: &[(&str, T)] = &[
    ("file_output_max_duration", T::Dur),
    ("stream_output_max_duration", T::Dur),
    ("segment_output_max_duration", T::Dur),
    ("image_output_max_duration", T::Dur),
    ("file_output_max_size", T::Int),
];
const CPU_COST: &[(&str, T)] = &[
    ("max_cpu_utilization", T::Float),
    ("max_concurrent_web", T::Int),
    ("room_composite_cpu_cost", T::Float),
    ("audio_room_composite_cpu_cost", T::Float),
    ("sdk_audio_room_composite_cpu_cost", T::Float),
    ("web_cpu_cost", T::Float),
    ("audio_web_cpu_cost", T::Float),
    ("participant_cpu_cost", T::Float),
    ("track_composite_cpu_cost", T::Float),
    ("track_cpu_cost", T::Float),
    ("max_pulse_clients", T::Int),
    ("max_memory", T::Float),
    ("memory_cost", T::Float),
    ("memory_source", T::Str),
    ("memory_kill_grace_sec", T::Float),
    ("cpu_kill_grace_sec", T::Float),
];
const DEBUG: &[(&str, T)] = &[
    ("enable_profiling", T::Bool),
    ("enable_track_logging", T::Bool),
    ("enable_stream_logging", T::Bool),
    ("enable_chrome_logging", T::Bool),
    ("path_prefix", T::Str),
    ("s3", T::Map(S3)),
    ("azure", T::Map(AZURE)),
    ("gcp", T::Map(GCP)),
    ("alioss", T::Map(ALIOSS)),
];
const EGRESS: &[(&str, T)] = &[
    ("redis", T::Map(REDIS)),
    ("api_key", T::Str),
    ("api_secret", T::Str),
    ("ws_url", T::Str),
    ("health_port", T::Int),
    ("template_port", T::Int),
    ("prometheus_port", T::Int),
    ("debug_handler_port", T::Int),
    ("template_base", T::Str),
    ("insecure", T::Bool),
    ("logging", T::Map(LOGGING)),
    ("cluster_id", T::Str),
    ("enable_chrome_sandbox", T::Bool),
    ("chrome_flags", T::Any),
    ("max_upload_queue", T::Int),
    ("disallow_local_storage", T::Bool),
    ("io_create_timeout", T::Dur),
    ("io_update_timeout", T::Dur),
    ("io_selection_timeout", T::Dur),
    ("io_workers", T::Int),
    ("session_limits", T::Map(SESSION_LIMITS)),
    ("storage", T::Map(STORAGE)),
    ("backup", T::Map(STORAGE)),
    ("s3_assume_role_key", T::Str),
    ("s3_assume_role_secret", T::Str),
    ("s3_assume_role_arn", T::Str),
    ("s3_assume_role_external_id", T::Str),
    ("cpu_cost", T::Map(CPU_COST)),
    ("pulse_sink_reap_grace_sec", T::Float),
    ("debug", T::Map(DEBUG)),
    ("latency", T::Any),
    ("latency_overrides", T::Any),
    ("video_encoder_threads", T::Int),
    ("enable_one_shot_sender_report_sync", T::Bool),
    ("enable_sync_engine", T::Bool),
    ("audio_tempo_controller", T::Any),
    ("test_overrides", T::Any),
];

/// Keys of livekit.yaml that people put into egress.yaml.
const LIVEKIT_ONLY: &[&str] = &[
    "keys",
    "key_file",
    "port",
    "rtc",
    "turn",
    "room",
    "webhook",
    "bind_addresses",
    "node_ip",
];

/// Keys whose values must never appear in a message.
const SECRET_KEYS: &[&str] = &[
    "api_secret",
    "secret",
    "password",
    "account_key",
    "credentials_json",
    "session_token",
    "sentinel_password",
    "s3_assume_role_secret",
    "s3_assume_role_key",
    "access_key",
];

/// Runs the schema checks on egress.yaml.
pub fn check(f: &ConfigFile, out: &mut Out) {
    walk(f, &f.root, EGRESS, "", out);
    logging_level(f, out);
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Every known dotted path, for "belongs under …" suggestions.
fn all_paths() -> Vec<String> {
    fn rec(prefix: &str, schema: &[(&str, T)], out: &mut Vec<String>) {
        for (k, t) in schema {
            let p = join(prefix, k);
            out.push(p.clone());
            if let T::Map(m) = t {
                rec(&p, m, out);
            }
        }
    }
    let mut v = Vec::new();
    rec("", EGRESS, &mut v);
    v
}

fn normal(k: &str) -> String {
    k.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The known sibling closest to `key`, if close enough to be a misspelling.
fn suggest(key: &str, schema: &[(&'static str, T)]) -> Option<&'static str> {
    let n = normal(key);
    let mut best: Option<(usize, &'static str)> = None;
    for (k, _) in schema {
        let d = if normal(k) == n {
            0
        } else {
            edit_distance(key, k)
        };
        let limit = if k.len() <= 4 { 1 } else { 2 };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

fn walk(f: &ConfigFile, node: &Node, schema: &[(&'static str, T)], prefix: &str, out: &mut Out) {
    for e in node.entries() {
        let path = join(prefix, &e.key);
        let loc = Loc {
            file: f.name.clone(),
            line: Some(e.line),
            key: path.clone(),
        };
        match schema.iter().find(|(k, _)| *k == e.key) {
            Some((_, t)) => {
                typed(f, e, *t, &path, out);
                if let (T::Map(m), Value::Map(_)) = (t, &e.value.value) {
                    walk(f, &e.value, m, &path, out);
                }
            }
            None if prefix.is_empty() => top_unknown(f, e, &loc, out),
            None => unknown(e, schema, &loc, out),
        }
        if let Value::Str(s) = &e.value.value {
            if s.contains("${") && !matches!(e.key.as_str(), "api_key" | "api_secret") {
                out.add(
                    "env-not-expanded",
                    Severity::Warning,
                    &loc,
                    format!("`{path}` contains `${{…}}`, which egress does not expand"),
                    format!("egress reads egress.yaml as it is (yaml.v3, no environment expansion), so `{path}` is used literally{}.", if SECRET_KEYS.contains(&e.key.as_str()) { String::new() } else { format!(" as `{s}`") }),
                    "Write the value itself, or generate the file (e.g. `envsubst < egress.tmpl.yaml > egress.yaml`), or pass the whole config in EGRESS_CONFIG_BODY from compose, which does expand `${VAR}`.",
                );
            }
        }
    }
}

fn top_unknown(f: &ConfigFile, e: &Entry, loc: &Loc, out: &mut Out) {
    match e.key.as_str() {
        "log_level" => {
            let level = e.value.text().unwrap_or_else(|| "debug".into());
            out.add(
                "ignored-key",
                Severity::Warning,
                loc,
                "`log_level` is ignored: the key is `logging.level`",
                "Current egress releases (v1.14) no longer read `log_level` (older ones did, with a deprecation warning; README still shows it): the level stays `info`, so the debug lines that explain failures (`cpu check`, chrome console, GStreamer) never appear.",
                format!("Replace it with:\nlogging:\n  level: {level}"),
            );
        }
        "backup_storage" => out.add(
            "ignored-key",
            Severity::Warning,
            loc,
            "`backup_storage` is ignored: the key is `backup`",
            "README documents `backup_storage` (a directory), but egress reads a storage section named `backup` (same shape as `storage:`). As written there is no backup, and a failed upload loses the recording.",
            "Replace it with a storage section, e.g.\nbackup:\n  s3:\n    bucket: recordings-backup\n    region: eu-west-1",
        ),
        "s3" | "azure" | "gcp" | "alioss" => {
            let moved = f.root.get("storage").and_then(|s| s.get(&e.key)).is_some();
            out.add(
                "ignored-key",
                Severity::Warning,
                loc,
                format!("top-level `{}:` is the old layout; current egress reads `storage.{}`", e.key, e.key),
                format!(
                    "Current egress releases read upload settings from `storage:` ({}); the top-level `{}:` of older releases and of README is then ignored, and files stay on the container's local disk.{}",
                    "egress-logs.md §5",
                    e.key,
                    if moved { " egress.yaml also has `storage.".to_string() + &e.key + "`, which is the one used." } else { String::new() }
                ),
                format!("Move the section under `storage:`:\nstorage:\n  {}:\n    ...", e.key),
            );
        }
        k if LIVEKIT_ONLY.contains(&k) => out.add(
            "livekit-key-in-egress",
            Severity::Warning,
            loc,
            format!("`{k}` is a livekit-server key, ignored by egress"),
            format!("`{k}` configures livekit-server (livekit.yaml); egress ignores it.{}", if k == "keys" { " egress authenticates with `api_key` and `api_secret` instead, which must equal one pair of livekit-server's `keys`." } else { "" }),
            if k == "keys" { "Use `api_key: <key>` and `api_secret: <secret>` in egress.yaml.".to_string() } else { format!("Remove `{k}` from egress.yaml.") },
        ),
        _ => unknown(e, EGRESS, loc, out),
    }
}

fn unknown(e: &Entry, schema: &[(&'static str, T)], loc: &Loc, out: &mut Out) {
    let parent = loc.key.rsplit_once('.').map_or("", |(p, _)| p);
    if let Some(s) = suggest(&e.key, schema) {
        out.add(
            "misspelled-key",
            Severity::Warning,
            loc,
            format!("unknown key `{}`: did you mean `{}`?", loc.key, join(parent, s)),
            format!("egress does not know `{}` and ignores it silently (yaml.v3 skips unknown keys), so `{}` keeps its default.", e.key, join(parent, s)),
            format!("Rename `{}` to `{s}`.", e.key),
        );
        return;
    }
    let elsewhere: Vec<String> = all_paths()
        .into_iter()
        .filter(|p| p.rsplit('.').next() == Some(e.key.as_str()) && p.as_str() != loc.key)
        .collect();
    if let Some(p) = elsewhere.first() {
        out.add(
            "misplaced-key",
            Severity::Warning,
            loc,
            format!("`{}` is not read here; egress reads `{p}`", loc.key),
            format!(
                "egress knows `{}` only as `{p}`; at `{}` it is ignored.",
                e.key, loc.key
            ),
            format!("Move it to `{p}`."),
        );
        return;
    }
    out.add(
        "unknown-key",
        Severity::Info,
        loc,
        format!("unknown key `{}`", loc.key),
        format!("`{}` is not an egress setting egresslens knows (egress v1.14), so egress most likely ignores it. If it is newer than that, ignore this.", loc.key),
        "Remove it, or check the spelling against the egress README.",
    );
}

fn bool_word(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// Go duration syntax: one or more `<number><unit>` (ns, us, µs, ms, s, m, h), or `0`.
pub(crate) fn go_duration(s: &str) -> bool {
    let s = s.trim().trim_start_matches(['-', '+']);
    if s == "0" {
        return true;
    }
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let num = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num == 0 {
            return false;
        }
        rest = &rest[num..];
        let unit = ["ns", "us", "µs", "ms", "h", "m", "s"]
            .iter()
            .find(|u| rest.starts_with(**u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

fn typed(f: &ConfigFile, e: &Entry, t: T, path: &str, out: &mut Out) {
    let v = &e.value.value;
    if matches!(v, Value::Null) {
        return;
    }
    let secret = SECRET_KEYS.contains(&e.key.as_str());
    let shown = || {
        if secret {
            type_name(v).to_string()
        } else {
            match v {
                Value::Str(s) => format!("the string \"{s}\""),
                Value::Seq(_) | Value::Map(_) => type_name(v).to_string(),
                _ => format!("`{}`", e.value.text().unwrap_or_default()),
            }
        }
    };
    let loc = Loc {
        file: f.name.clone(),
        line: Some(e.line),
        key: path.to_string(),
    };
    let bad = |want: &str, go: &str, fix: String, out: &mut Out| {
        out.add(
            "type-error",
            Severity::Error,
            &loc,
            format!("`{path}` is {}, but egress expects {want}", shown()),
            format!("egress decodes `{path}` into a Go {go}; yaml.v3 cannot put {} there, so egress prints `could not parse config: yaml: unmarshal errors: … cannot unmarshal …` and exits at startup.", type_name(v)),
            fix,
        );
    };
    match t {
        T::Any => {}
        T::Str => {
            if matches!(v, Value::Seq(_) | Value::Map(_)) {
                bad(
                    "a string",
                    "string",
                    format!("Write `{}` as a single value.", e.key),
                    out,
                );
            }
        }
        T::Bool => match v {
            Value::Bool(_) => {}
            Value::Str(s) if bool_word(s) => {}
            _ => bad(
                "true or false",
                "bool",
                format!("`{}: true` (or false), without quotes.", e.key),
                out,
            ),
        },
        T::Int | T::Float => match v {
            Value::Int(_) | Value::Float(_) => {}
            Value::Str(s) if s.trim().parse::<f64>().is_ok() => bad(
                "a number",
                if matches!(t, T::Int) {
                    "int"
                } else {
                    "float64"
                },
                format!("`{}: {}` without quotes.", e.key, s.trim()),
                out,
            ),
            _ => bad(
                "a number",
                if matches!(t, T::Int) {
                    "int"
                } else {
                    "float64"
                },
                format!("Give `{}` a plain number.", e.key),
                out,
            ),
        },
        T::Dur => match v {
            Value::Str(s) if go_duration(s) => {}
            Value::Str(_) | Value::Bool(_) | Value::Seq(_) | Value::Map(_) => bad(
                "a duration such as `30s`, `90m` or `1h`",
                "time.Duration",
                format!("Write `{}` as a Go duration, e.g. `{}: 30s`.", e.key, e.key),
                out,
            ),
            Value::Int(0) => {}
            Value::Int(_) | Value::Float(_) => {
                let n = e.value.text().unwrap_or_default();
                out.add(
                    "duration-as-number",
                    Severity::Warning,
                    &loc,
                    format!("`{path}: {n}` means {n} nanoseconds"),
                    format!("`{path}` is a Go duration. yaml.v3 reads a bare number as nanoseconds, so `{n}` is {n} ns, not seconds: a limit or timeout that short fires at once."),
                    format!("Add the unit: `{}: {n}s` (or `{n}m`, `{n}h`).", e.key),
                );
            }
            Value::Null => {}
        },
        T::StrList => match v {
            Value::Seq(items)
                if items
                    .iter()
                    .all(|i| !matches!(i.value, Value::Seq(_) | Value::Map(_))) => {}
            _ => bad(
                "a list of strings",
                "[]string",
                format!(
                    "Write `{}` as a list: `{}: [\"host1:26379\", \"host2:26379\"]`.",
                    e.key, e.key
                ),
                out,
            ),
        },
        T::Map(_) => {
            if !matches!(v, Value::Map(_)) {
                bad(
                    "a mapping of keys",
                    "struct",
                    format!("Write `{}:` with its keys indented below it.", e.key),
                    out,
                );
            }
        }
    }
}

fn logging_level(f: &ConfigFile, out: &mut Out) {
    let Some(e) = f.root.entry_at(&["logging", "level"]) else {
        return;
    };
    let Some(level) = e.value.text() else { return };
    let known = [
        "debug", "info", "warn", "warning", "error", "dpanic", "panic", "fatal",
    ];
    if !known.contains(&level.to_ascii_lowercase().as_str()) {
        out.add(
            "logging-level-invalid",
            Severity::Warning,
            &Loc { file: f.name.clone(), line: Some(e.line), key: "logging.level".into() },
            format!("`logging.level: {level}` is not a level egress knows"),
            "egress's logger (zap) knows debug, info, warn and error. With another value the logger cannot be built, which can stop egress at startup, or the level falls back to a default, depending on the version.",
            "Use one of: debug, info, warn, error (debug shows the lines that explain failures).",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for ok in ["30s", "1h30m", "500ms", "0", "1.5h", "2µs"] {
            assert!(go_duration(ok), "{ok}");
        }
        for bad in ["30", "s", "1d", "", "10 s"] {
            assert!(!go_duration(bad), "{bad}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("ws_ulr", EGRESS), Some("ws_url"));
        assert_eq!(suggest("wsUrl", EGRESS), Some("ws_url"));
        assert_eq!(suggest("api-key", EGRESS), Some("api_key"));
        assert_eq!(
            suggest("enable_chrome_sandbx", EGRESS),
            Some("enable_chrome_sandbox")
        );
        assert_eq!(suggest("something_else", EGRESS), None);
        assert_eq!(suggest("forcepathstyle", S3), Some("force_path_style"));
    }

    #[test]
    fn paths_include_nested_keys() {
        let p = all_paths();
        assert!(p.contains(&"storage.s3.force_path_style".to_string()));
        assert!(p.contains(&"logging.level".to_string()));
    }
}
