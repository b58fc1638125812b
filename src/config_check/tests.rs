//! Unit tests of the config doctor: every check fires on a bad config and stays quiet on a
//! good one; detection, loading errors and secret handling.

use super::*;

const SECRET: &str = "s3cr3t-value-that-must-never-be-printed-0123456789";

/// A sound egress.yaml that every test varies.
fn good_egress() -> String {
    format!(
        "api_key: APIkey1\napi_secret: {SECRET}\nws_url: ws://livekit:7880\ninsecure: true\nredis:\n  address: redis:6379\nlogging:\n  level: debug\n"
    )
}

fn good_livekit() -> String {
    format!("port: 7880\nrtc:\n  tcp_port: 7881\n  udp_port: 7882\nredis:\n  address: redis:6379\nkeys:\n  APIkey1: {SECRET}\n")
}

const GOOD_COMPOSE: &str = "services:
  livekit:
    image: livekit/livekit-server:v1.9
    command: --config /etc/livekit.yaml
    volumes:
      - ./livekit.yaml:/etc/livekit.yaml
  egress:
    image: livekit/egress:v1.14
    cpus: 4
    environment:
      - EGRESS_CONFIG_FILE=/etc/egress.yaml
    volumes:
      - ./egress.yaml:/etc/egress.yaml:ro
  redis:
    image: redis:7-alpine
";

/// Checks files given as (name, text), kinds detected by content.
fn check_texts(files: &[(&str, &str)]) -> CheckReport {
    let mut set = ConfigSet::default();
    for (name, text) in files {
        set.files
            .push(parse_file(name, text, None).expect("test file parses"));
    }
    if !set.has(Kind::Egress) {
        if let Some(b) = set.get(Kind::Compose).and_then(compose::config_body) {
            set.files.push(b);
        }
    }
    check(&set)
}

fn egress_only(text: &str) -> CheckReport {
    check_texts(&[("egress.yaml", text)])
}

fn full(egress: &str, livekit: &str, compose: &str) -> CheckReport {
    check_texts(&[
        ("egress.yaml", egress),
        ("livekit.yaml", livekit),
        ("docker-compose.yaml", compose),
    ])
}

fn ids(r: &CheckReport) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.check).collect()
}

fn find(r: &CheckReport, id: &str) -> Finding {
    r.findings
        .iter()
        .find(|f| f.check == id)
        .cloned()
        .unwrap_or_else(|| panic!("no {id} in {:#?}", r.findings))
}

fn has(r: &CheckReport, id: &str) -> bool {
    r.findings.iter().any(|f| f.check == id)
}

fn all_text(r: &CheckReport) -> String {
    let mut s = String::new();
    for f in &r.findings {
        s.push_str(&format!(
            "{} {} {} {} {}\n",
            f.key, f.title, f.message, f.fix, f.file
        ));
    }
    s.push_str(&r.notes.join("\n"));
    s
}

#[test]
fn good_set_is_clean() {
    let r = full(&good_egress(), &good_livekit(), GOOD_COMPOSE);
    assert!(!r.has_problems(), "{:#?}", r.findings);
    assert_eq!(r.files.len(), 3);
}

// ---- detection and loading ----

#[test]
fn detects_kinds_by_content() {
    let e = parse_file("a.yaml", &good_egress(), None).expect("egress");
    assert_eq!(e.kind, Kind::Egress);
    assert!(e.detected_by.contains("ws_url"));
    let l = parse_file("b.yaml", &good_livekit(), None).expect("livekit");
    assert_eq!(l.kind, Kind::Livekit);
    let c = parse_file("c.yaml", GOOD_COMPOSE, None).expect("compose");
    assert_eq!(c.kind, Kind::Compose);
    // Only shared keys: the file name decides, else the user must name it.
    let only_redis = "redis:\n  address: redis:6379\n";
    assert_eq!(
        parse_file("my-egress.yml", only_redis, None)
            .map(|f| f.kind)
            .ok(),
        Some(Kind::Egress)
    );
    assert!(matches!(
        parse_file("x.yaml", only_redis, None),
        Err(Error::Config { .. })
    ));
    assert_eq!(
        parse_file("x.yaml", only_redis, Some(Kind::Livekit))
            .map(|f| f.kind)
            .ok(),
        Some(Kind::Livekit)
    );
}

#[test]
fn syntax_errors_and_non_mappings_are_errors_with_lines() {
    match parse_file("e.yaml", "ws_url: ws://a\nredis: [\n", None) {
        Err(Error::ConfigSyntax { path, line, .. }) => {
            assert_eq!(path, "e.yaml");
            assert!(line >= 2);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_file("e.yaml", "- a\n- b\n", None),
        Err(Error::ConfigSyntax { line: 1, .. })
    ));
    assert!(matches!(
        parse_file("e.yaml", "a: 1\na: 2\n", None),
        Err(Error::ConfigSyntax { line: 2, .. })
    ));
}

#[test]
fn kind_prefix_arguments() {
    let f = InputFile::from_arg(Path::new("egress=conf/x.yaml"));
    assert_eq!(
        (f.kind, f.path),
        (Some(Kind::Egress), PathBuf::from("conf/x.yaml"))
    );
    let f = InputFile::from_arg(Path::new("odd=name.yaml"));
    assert_eq!((f.kind, f.path), (None, PathBuf::from("odd=name.yaml")));
}

#[test]
fn load_rejects_two_of_a_kind_and_missing_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    std::fs::write(&a, good_egress()).expect("write");
    std::fs::write(&b, good_egress()).expect("write");
    let inputs = [InputFile::from_arg(&a), InputFile::from_arg(&b)];
    assert!(matches!(load(&inputs), Err(Error::Usage(_))));
    let missing = [InputFile::from_arg(&dir.path().join("nope.yaml"))];
    assert!(matches!(load(&missing), Err(Error::Input { .. })));
    let ok = load(&inputs[..1]).expect("one file");
    assert_eq!(ok.files.len(), 1);
}

// ---- schema ----

#[test]
fn log_level_is_ignored() {
    let r = egress_only(&(good_egress() + "log_level: debug\n"));
    let f = find(&r, "ignored-key");
    assert_eq!(
        (f.key.as_str(), f.line, f.severity),
        ("log_level", Some(9), Severity::Warning)
    );
    assert!(f.fix.contains("logging:\n  level: debug"));
    assert!(!has(&egress_only(&good_egress()), "ignored-key"));
}

#[test]
fn backup_storage_and_top_level_s3_are_ignored() {
    let r = egress_only(
        &(good_egress() + "backup_storage: /out/backup\ns3:\n  bucket: b\n  region: eu-west-1\n"),
    );
    let keys: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.check == "ignored-key")
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(keys, vec!["backup_storage", "s3"]);
    let ok = egress_only(&(good_egress() + "storage:\n  s3:\n    bucket: b\n    region: eu-west-1\nbackup:\n  s3:\n    bucket: c\n    region: eu-west-1\n"));
    assert!(!has(&ok, "ignored-key"), "{:#?}", ok.findings);
}

#[test]
fn misspelled_keys_get_the_real_key() {
    let r = egress_only(&(good_egress() + "enable_chrome_sandbx: false\nhealthport: 8080\n"));
    let m: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.check == "misspelled-key")
        .map(|f| f.title.clone())
        .collect();
    assert_eq!(m.len(), 2, "{:#?}", r.findings);
    assert!(m[0].contains("`enable_chrome_sandbox`"));
    assert!(m[1].contains("`health_port`"));
    let nested = egress_only(
        &(good_egress()
            + "storage:\n  s3:\n    bucket: b\n    region: r\n    force_path_styl: true\n"),
    );
    assert!(find(&nested, "misspelled-key")
        .title
        .contains("storage.s3.force_path_style"));
    assert!(!has(&egress_only(&good_egress()), "misspelled-key"));
}

#[test]
fn misplaced_and_unknown_keys() {
    let r = egress_only(&(good_egress() + "level: debug\nfoo_bar_baz: 1\n"));
    assert!(find(&r, "misplaced-key").title.contains("logging.level"));
    let u = find(&r, "unknown-key");
    assert_eq!(
        (u.key.as_str(), u.severity),
        ("foo_bar_baz", Severity::Info)
    );
    let ok = egress_only(&good_egress());
    assert!(!has(&ok, "misplaced-key") && !has(&ok, "unknown-key"));
}

#[test]
fn livekit_keys_in_egress_yaml() {
    let r = egress_only(&(good_egress() + "keys:\n  APIkey1: x\n"));
    assert!(find(&r, "livekit-key-in-egress").fix.contains("api_key"));
    assert!(!has(&egress_only(&good_egress()), "livekit-key-in-egress"));
}

#[test]
fn type_errors_stop_egress() {
    let r = egress_only(&(good_egress() + "health_port: \"9090\"\ninsecure_x: 1\nenable_chrome_sandbox: \"true\"\nsession_limits: 1h\n"));
    let t: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.check == "type-error")
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(
        t,
        vec!["health_port", "enable_chrome_sandbox", "session_limits"]
    );
    assert!(find(&r, "type-error")
        .message
        .contains("could not parse config"));
    // YAML 1.1 words are fine for bools, numbers for floats, and the good config has none.
    let ok = egress_only(&(good_egress() + "enable_chrome_sandbox: no\ncpu_cost:\n  room_composite_cpu_cost: 3\n  track_cpu_cost: 0.5\n"));
    assert!(!has(&ok, "type-error"), "{:#?}", ok.findings);
}

#[test]
fn secret_values_are_never_quoted_in_type_errors() {
    let r = egress_only(&format!(
        "{}storage:\n  s3:\n    bucket: b\n    region: r\n    secret: [\"{SECRET}\"]\n",
        good_egress()
    ));
    assert!(has(&r, "type-error"));
    assert!(!all_text(&r).contains(SECRET));
}

#[test]
fn durations_need_units() {
    let r = egress_only(&(good_egress() + "session_limits:\n  file_output_max_duration: 3600\n  stream_output_max_duration: 2h\n"));
    let d = find(&r, "duration-as-number");
    assert_eq!(d.key, "session_limits.file_output_max_duration");
    assert!(d.fix.contains("3600s"));
    let bad = egress_only(&(good_egress() + "io_create_timeout: soon\n"));
    assert!(has(&bad, "type-error"));
    let ok = egress_only(&(good_egress() + "session_limits:\n  file_output_max_duration: 1h30m\n"));
    assert!(!has(&ok, "duration-as-number") && !has(&ok, "type-error"));
}

#[test]
fn env_variables_are_not_expanded() {
    let r = egress_only(&(good_egress() + "template_base: ${TEMPLATE_URL}\n"));
    assert!(has(&r, "env-not-expanded"));
    assert!(!has(&egress_only(&good_egress()), "env-not-expanded"));
}

#[test]
fn logging_level_must_be_known() {
    let r = egress_only(&good_egress().replace("level: debug", "level: verbose"));
    assert_eq!(find(&r, "logging-level-invalid").line, Some(8));
    assert!(!has(&egress_only(&good_egress()), "logging-level-invalid"));
}

// ---- ws_url, insecure, keys, template_base ----

#[test]
fn ws_url_missing() {
    let r = egress_only(&good_egress().replace("ws_url: ws://livekit:7880\n", ""));
    assert_eq!(find(&r, "ws-url-missing").severity, Severity::Warning);
    // With compose and no LIVEKIT_WS_URL it is an error; the variable satisfies it.
    let c = full(
        &good_egress().replace("ws_url: ws://livekit:7880\n", ""),
        &good_livekit(),
        GOOD_COMPOSE,
    );
    assert_eq!(find(&c, "ws-url-missing").severity, Severity::Error);
    let with_env = GOOD_COMPOSE.replace(
        "      - EGRESS_CONFIG_FILE=/etc/egress.yaml\n",
        "      - EGRESS_CONFIG_FILE=/etc/egress.yaml\n      - LIVEKIT_WS_URL=ws://livekit:7880\n",
    );
    let ok = full(
        &good_egress().replace("ws_url: ws://livekit:7880\n", ""),
        &good_livekit(),
        &with_env,
    );
    assert!(!has(&ok, "ws-url-missing"), "{:#?}", ok.findings);
}

#[test]
fn empty_yaml_value_overrides_the_environment() {
    let with_env = GOOD_COMPOSE.replace(
        "      - EGRESS_CONFIG_FILE=/etc/egress.yaml\n",
        "      - EGRESS_CONFIG_FILE=/etc/egress.yaml\n      - LIVEKIT_WS_URL=ws://livekit:7880\n",
    );
    let empty = good_egress().replace("ws_url: ws://livekit:7880", "ws_url: \"\"");
    let f = find(&full(&empty, &good_livekit(), &with_env), "ws-url-missing");
    assert!(
        f.message.contains("replaces LIVEKIT_WS_URL"),
        "{}",
        f.message
    );
    // A bare `ws_url:` (null) leaves the variable in place.
    let null = good_egress().replace("ws_url: ws://livekit:7880", "ws_url:");
    assert!(!has(
        &full(&null, &good_livekit(), &with_env),
        "ws-url-missing"
    ));
}

#[test]
fn inline_body_and_a_config_file_together() {
    let body = GOOD_COMPOSE.replace(
        "      - EGRESS_CONFIG_FILE=/etc/egress.yaml\n",
        "      - EGRESS_CONFIG_FILE=/etc/egress.yaml\n      - \"EGRESS_CONFIG_BODY=ws_url: ws://x\"\n",
    );
    assert!(has(
        &full(&good_egress(), &good_livekit(), &body),
        "compose-config-body-wins"
    ));
    assert!(!has(
        &full(&good_egress(), &good_livekit(), GOOD_COMPOSE),
        "compose-config-body-wins"
    ));
}

#[test]
fn ws_url_invalid() {
    assert!(has(
        &egress_only(&good_egress().replace("ws://livekit:7880", "livekit:7880")),
        "ws-url-invalid"
    ));
    assert!(has(
        &egress_only(&good_egress().replace("ws://livekit:7880", "tcp://livekit:7880")),
        "ws-url-invalid"
    ));
    assert!(!has(&egress_only(&good_egress()), "ws-url-invalid"));
}

#[test]
fn ws_url_localhost_in_a_container() {
    for host in ["localhost", "127.0.0.1", "[::1]", "0.0.0.0"] {
        let r = egress_only(&good_egress().replace("livekit:7880", &format!("{host}:7880")));
        let f = find(&r, "ws-url-localhost");
        assert_eq!((f.line, f.severity), (Some(3), Severity::Error), "{host}");
        assert!(f.message.contains("assumes egress runs in a container"));
    }
    // Host networking makes localhost right.
    let host_net = GOOD_COMPOSE.replace("    cpus: 4\n", "    cpus: 4\n    network_mode: host\n");
    let r = full(
        &good_egress().replace("livekit:7880", "localhost:7880"),
        &good_livekit(),
        &host_net,
    );
    assert!(!has(&r, "ws-url-localhost"), "{:#?}", r.findings);
    assert!(!has(&egress_only(&good_egress()), "ws-url-localhost"));
}

#[test]
fn ws_url_from_compose_environment_is_checked_with_its_line() {
    let compose = GOOD_COMPOSE.replace(
        "      - EGRESS_CONFIG_FILE=/etc/egress.yaml\n",
        "      - EGRESS_CONFIG_FILE=/etc/egress.yaml\n      - LIVEKIT_WS_URL=ws://localhost:7880\n",
    );
    let r = full(
        &good_egress().replace("ws_url: ws://livekit:7880\n", ""),
        &good_livekit(),
        &compose,
    );
    let f = find(&r, "ws-url-localhost");
    assert_eq!((f.file.as_str(), f.line), ("docker-compose.yaml", Some(12)));
    assert_eq!(f.key, "services.egress.environment.LIVEKIT_WS_URL");
}

#[test]
fn ws_url_docker_host_on_linux() {
    let e = good_egress().replace("livekit:7880", "host.docker.internal:7880");
    let r = full(&e, &good_livekit(), GOOD_COMPOSE);
    assert_eq!(find(&r, "ws-url-docker-host").severity, Severity::Info);
    let with_hosts = GOOD_COMPOSE.replace(
        "    cpus: 4\n",
        "    cpus: 4\n    extra_hosts:\n      - host.docker.internal:host-gateway\n",
    );
    assert!(!has(
        &full(&e, &good_livekit(), &with_hosts),
        "ws-url-docker-host"
    ));
}

#[test]
fn ws_url_unknown_service_and_networks() {
    let r = full(
        &good_egress().replace("livekit:7880", "lk-server:7880"),
        &good_livekit(),
        GOOD_COMPOSE,
    );
    assert!(has(&r, "host-unknown-service"), "{:#?}", r.findings);
    let lk_host = GOOD_COMPOSE.replace(
        "    command: --config /etc/livekit.yaml\n",
        "    command: --config /etc/livekit.yaml\n    network_mode: host\n",
    );
    assert!(has(
        &full(&good_egress(), &good_livekit(), &lk_host),
        "ws-url-network"
    ));
    let split = GOOD_COMPOSE
        .replace(
            "    command: --config /etc/livekit.yaml\n",
            "    command: --config /etc/livekit.yaml\n    networks: [media]\n",
        )
        .replace("    cpus: 4\n", "    cpus: 4\n    networks: [backend]\n");
    assert!(has(
        &full(&good_egress(), &good_livekit(), &split),
        "ws-url-network"
    ));
    let ok = full(&good_egress(), &good_livekit(), GOOD_COMPOSE);
    assert!(!has(&ok, "host-unknown-service") && !has(&ok, "ws-url-network"));
}

#[test]
fn ws_url_ports() {
    let r = full(
        &good_egress().replace("livekit:7880", "livekit:7881"),
        &good_livekit(),
        GOOD_COMPOSE,
    );
    assert!(find(&r, "ws-url-port").title.contains("media/TURN"));
    let lk = good_livekit().replace("port: 7880", "port: 7890");
    let r = full(&good_egress(), &lk, GOOD_COMPOSE);
    assert!(
        find(&r, "ws-url-port")
            .message
            .contains("7890 (livekit.yaml line 1)"),
        "{:#?}",
        r.findings
    );
    assert!(!has(
        &full(&good_egress(), &good_livekit(), GOOD_COMPOSE),
        "ws-url-port"
    ));
}

#[test]
fn ws_url_tls() {
    let r = full(
        &good_egress().replace("ws://livekit:7880", "wss://livekit:7880"),
        &good_livekit(),
        GOOD_COMPOSE,
    );
    assert!(find(&r, "ws-url-tls").title.contains("wss://"));
    let r = egress_only(&good_egress().replace("ws://livekit:7880", "ws://lk.example.com:443"));
    assert!(has(&r, "ws-url-tls"));
    let proxy = GOOD_COMPOSE.to_string() + "  caddy:\n    image: caddy:2\n";
    let r = full(
        &good_egress().replace("ws://livekit:7880", "ws://lk.example.com"),
        &good_livekit(),
        &proxy,
    );
    assert_eq!(find(&r, "ws-url-tls").severity, Severity::Info);
    let ok = full(
        &good_egress().replace("ws://livekit:7880", "wss://lk.example.com"),
        &good_livekit(),
        &proxy,
    );
    assert!(!has(&ok, "ws-url-tls"), "{:#?}", ok.findings);
}

#[test]
fn insecure_for_plain_ws_to_private_addresses() {
    let no_insecure = good_egress().replace("insecure: true\n", "");
    let f = find(&egress_only(&no_insecure), "insecure-missing");
    assert_eq!((f.key.as_str(), f.line), ("insecure", Some(3)));
    let lan = no_insecure.replace("livekit:7880", "192.168.1.20:7880");
    assert!(has(&egress_only(&lan), "insecure-missing"));
    assert!(!has(&egress_only(&good_egress()), "insecure-missing"));
    let tls = no_insecure.replace("ws://livekit:7880", "wss://lk.example.com");
    assert!(!has(&egress_only(&tls), "insecure-missing"));
}

#[test]
fn api_keys_missing_and_placeholders() {
    let r = egress_only(
        &good_egress()
            .replace("api_key: APIkey1\n", "")
            .replace(&format!("api_secret: {SECRET}\n"), ""),
    );
    assert!(has(&r, "api-key-missing") && has(&r, "api-secret-missing"));
    let r = egress_only(&good_egress().replace("api_key: APIkey1", "api_key: ${LIVEKIT_API_KEY}"));
    assert!(has(&r, "api-key-placeholder"));
    let ok = egress_only(&good_egress());
    assert!(!has(&ok, "api-key-missing") && !has(&ok, "api-key-placeholder"));
}

#[test]
fn api_keys_against_livekit_keys() {
    let r = full(
        &good_egress().replace("APIkey1", "APIother"),
        &good_livekit(),
        GOOD_COMPOSE,
    );
    let f = find(&r, "api-key-unknown");
    assert_eq!((f.line, f.severity), (Some(1), Severity::Error));
    assert!(f.message.contains("`APIkey1`"));
    let r = full(
        &good_egress().replace(SECRET, "another-secret-of-sufficient-length-000000"),
        &good_livekit(),
        GOOD_COMPOSE,
    );
    let f = find(&r, "api-secret-mismatch");
    assert_eq!(f.line, Some(2));
    assert!(!all_text(&r).contains(SECRET) && !all_text(&r).contains("another-secret"));
    let ok = full(&good_egress(), &good_livekit(), GOOD_COMPOSE);
    assert!(!has(&ok, "api-key-unknown") && !has(&ok, "api-secret-mismatch"));
}

#[test]
fn api_keys_against_livekit_keys_env_and_key_file() {
    let compose = GOOD_COMPOSE.replace(
        "    command: --config /etc/livekit.yaml\n",
        "    command: --config /etc/livekit.yaml\n    environment:\n      LIVEKIT_KEYS: \"APIzzz: abc\"\n",
    );
    let r = check_texts(&[
        ("egress.yaml", &good_egress()),
        ("docker-compose.yaml", &compose),
    ]);
    assert!(has(&r, "api-key-unknown"));
    let lk = "port: 7880\nkey_file: /etc/keys.yaml\nredis:\n  address: redis:6379\n";
    let r = full(&good_egress(), lk, GOOD_COMPOSE);
    assert!(!has(&r, "api-key-unknown"));
    assert!(r.notes.iter().any(|n| n.contains("key_file")));
}

#[test]
fn template_base_checks() {
    let origin = good_egress() + "template_base: http://livekit:7880\n";
    let f = find(&egress_only(&origin), "template-base-livekit");
    assert_eq!((f.line, f.severity), (Some(9), Severity::Error));
    assert!(has(
        &egress_only(&(good_egress() + "template_base: ftp://t/\n")),
        "template-base-scheme"
    ));
    assert!(has(
        &egress_only(&(good_egress() + "template_base: http://localhost:8080/\n")),
        "template-base-port"
    ));
    let d = find(
        &egress_only(&(good_egress() + "template_base: http://localhost:7980/\n")),
        "template-base-default",
    );
    assert_eq!(d.severity, Severity::Info);
    let custom = egress_only(&(good_egress() + "template_base: https://templates.example.com/\n"));
    assert!(!custom
        .findings
        .iter()
        .any(|f| f.check.starts_with("template-base")));
}

// ---- redis, cluster ----

#[test]
fn redis_missing_empty_and_malformed() {
    let no_redis = good_egress().replace("redis:\n  address: redis:6379\n", "");
    assert!(find(&egress_only(&no_redis), "redis-missing")
        .message
        .contains("panic"));
    let empty = good_egress().replace("  address: redis:6379\n", "  db: 0\n");
    assert!(has(&egress_only(&empty), "redis-address-empty"));
    let sentinel = good_egress().replace(
        "  address: redis:6379\n",
        "  sentinel_master_name: m\n  sentinel_addresses: [\"s1:26379\"]\n",
    );
    assert!(!has(&egress_only(&sentinel), "redis-address-empty"));
    assert!(has(
        &egress_only(&good_egress().replace("redis:6379", "redis://redis:6379")),
        "redis-address-format"
    ));
    assert!(has(
        &egress_only(&good_egress().replace("redis:6379", "redis")),
        "redis-address-format"
    ));
    let ok = egress_only(&good_egress());
    for id in [
        "redis-missing",
        "redis-address-empty",
        "redis-address-format",
    ] {
        assert!(!has(&ok, id), "{id}");
    }
}

#[test]
fn redis_on_localhost() {
    let r = egress_only(&good_egress().replace("redis:6379", "localhost:6379"));
    assert_eq!(find(&r, "redis-address-localhost").line, Some(6));
    assert!(!has(
        &egress_only(&good_egress()),
        "redis-address-localhost"
    ));
}

#[test]
fn livekit_without_redis() {
    let lk = good_livekit().replace("redis:\n  address: redis:6379\n", "");
    let r = full(&good_egress(), &lk, GOOD_COMPOSE);
    assert!(find(&r, "livekit-redis-missing")
        .message
        .contains("egress not connected (redis required)"));
    let flag = GOOD_COMPOSE.replace(
        "--config /etc/livekit.yaml",
        "--config /etc/livekit.yaml --redis-host redis:6379",
    );
    assert!(!has(
        &full(&good_egress(), &lk, &flag),
        "livekit-redis-missing"
    ));
    assert!(!has(
        &full(&good_egress(), &good_livekit(), GOOD_COMPOSE),
        "livekit-redis-missing"
    ));
}

#[test]
fn compose_livekit_in_dev_mode_without_redis() {
    let dev = GOOD_COMPOSE.replace(
        "command: --config /etc/livekit.yaml",
        "command: --dev --bind 0.0.0.0",
    );
    let r = check_texts(&[
        ("egress.yaml", &good_egress()),
        ("docker-compose.yaml", &dev),
    ]);
    let f = find(&r, "livekit-redis-missing");
    assert_eq!((f.file.as_str(), f.line), ("docker-compose.yaml", Some(2)));
    let with_redis = dev.replace("--dev --bind 0.0.0.0", "--dev --redis-host redis:6379");
    assert!(!has(
        &check_texts(&[
            ("egress.yaml", &good_egress()),
            ("docker-compose.yaml", &with_redis)
        ]),
        "livekit-redis-missing"
    ));
    assert!(!has(
        &check_texts(&[
            ("egress.yaml", &good_egress()),
            ("docker-compose.yaml", GOOD_COMPOSE)
        ]),
        "livekit-redis-missing"
    ));
}

#[test]
fn dev_mode_keys_are_not_placeholders() {
    let r = egress_only(
        &good_egress()
            .replace(SECRET, "secret")
            .replace("APIkey1", "devkey"),
    );
    assert!(!has(&r, "api-key-placeholder"));
}

#[test]
fn redis_differs_between_egress_and_livekit() {
    let compose = GOOD_COMPOSE.to_string() + "  redis2:\n    image: redis:7\n";
    let r = full(
        &good_egress().replace("redis:6379", "redis2:6379"),
        &good_livekit(),
        &compose,
    );
    assert_eq!(find(&r, "redis-mismatch").severity, Severity::Error);
    let r = egress_and_lk(&good_egress().replace("redis:6379", "10.0.0.5:6379"));
    assert_eq!(find(&r, "redis-mismatch").severity, Severity::Warning);
    let db = full(
        &(good_egress().replace(
            "  address: redis:6379\n",
            "  address: redis:6379\n  db: 1\n",
        )),
        &good_livekit(),
        GOOD_COMPOSE,
    );
    assert_eq!(find(&db, "redis-db-mismatch").severity, Severity::Info);
    let pw = full(
        &(good_egress().replace(
            "  address: redis:6379\n",
            "  address: redis:6379\n  password: hunter2hunter2\n",
        )),
        &good_livekit(),
        GOOD_COMPOSE,
    );
    assert!(has(&pw, "redis-password-mismatch"));
    assert!(!all_text(&pw).contains("hunter2"));
    let ok = full(&good_egress(), &good_livekit(), GOOD_COMPOSE);
    for id in [
        "redis-mismatch",
        "redis-db-mismatch",
        "redis-password-mismatch",
    ] {
        assert!(!has(&ok, id), "{id}");
    }
}

fn egress_and_lk(e: &str) -> CheckReport {
    check_texts(&[("egress.yaml", e), ("livekit.yaml", &good_livekit())])
}

#[test]
fn cluster_id() {
    let r = egress_only(&(good_egress() + "cluster_id: eu-1\n"));
    assert_eq!(find(&r, "cluster-id-set").severity, Severity::Error);
    assert!(!has(
        &egress_only(&(good_egress() + "cluster_id: \"\"\n")),
        "cluster-id-set"
    ));
}

// ---- storage ----

const MINIO_BAD: &str = "storage:\n  s3:\n    access_key: minioadmin\n    secret: minio-secret-value\n    endpoint: http://localhost:9000\n    bucket: recordings\n";

#[test]
fn s3_endpoint_on_localhost() {
    let r = egress_only(&(good_egress() + MINIO_BAD));
    let f = find(&r, "s3-endpoint-localhost");
    assert_eq!((f.line, f.key.as_str()), (Some(13), "storage.s3.endpoint"));
    let ok = egress_only(&(good_egress() + &MINIO_BAD.replace("localhost", "minio")));
    assert!(!has(&ok, "s3-endpoint-localhost"));
}

#[test]
fn s3_path_style() {
    let r = egress_only(&(good_egress() + &MINIO_BAD.replace("localhost", "minio")));
    assert_eq!(find(&r, "s3-path-style-missing").severity, Severity::Error);
    let r = egress_only(
        &(good_egress() + &MINIO_BAD.replace("http://localhost:9000", "https://s3.example.net")),
    );
    assert_eq!(
        find(&r, "s3-path-style-missing").severity,
        Severity::Warning
    );
    let ok = egress_only(
        &(good_egress()
            + &MINIO_BAD.replace("localhost", "minio")
            + "    force_path_style: true\n"),
    );
    assert!(!has(&ok, "s3-path-style-missing"));
    let aws = egress_only(&(good_egress() + "storage:\n  s3:\n    endpoint: https://s3.eu-west-1.amazonaws.com\n    region: eu-west-1\n    bucket: b\n"));
    assert!(!has(&aws, "s3-path-style-missing"));
}

#[test]
fn s3_region() {
    let r = egress_only(&(good_egress() + "storage:\n  s3:\n    bucket: b\n"));
    assert_eq!(find(&r, "s3-region-missing").severity, Severity::Warning);
    let minio = egress_only(&(good_egress() + &MINIO_BAD.replace("localhost", "minio")));
    assert_eq!(find(&minio, "s3-region-missing").severity, Severity::Info);
    let ok =
        egress_only(&(good_egress() + "storage:\n  s3:\n    bucket: b\n    region: eu-west-1\n"));
    assert!(!has(&ok, "s3-region-missing"));
}

#[test]
fn s3_bucket_credentials_scheme_and_providers() {
    let r = egress_only(
        &(good_egress() + "storage:\n  s3:\n    region: r\n    access_key: AKIAIOSFODNN7EXAMPLE\n"),
    );
    assert!(has(&r, "storage-bucket-missing"));
    assert!(has(&r, "s3-credentials-partial"));
    assert!(!all_text(&r).contains("AKIAIOSFODNN7EXAMPLE"));
    let r = egress_only(&(good_egress() + "storage:\n  s3:\n    bucket: b\n    region: r\n    endpoint: minio:9000\n    force_path_style: true\n"));
    assert_eq!(find(&r, "s3-endpoint-scheme").severity, Severity::Info);
    let r = egress_only(
        &(good_egress() + "storage:\n  s3:\n    bucket: b\n    region: r\n  gcp:\n    bucket: g\n"),
    );
    assert!(has(&r, "storage-multiple"));
    let ok = egress_only(&(good_egress() + "storage:\n  s3:\n    bucket: b\n    region: r\n"));
    for id in [
        "storage-bucket-missing",
        "s3-credentials-partial",
        "s3-endpoint-scheme",
        "storage-multiple",
    ] {
        assert!(!has(&ok, id), "{id}");
    }
}

#[test]
fn backup_storage() {
    let r = egress_only(&(good_egress() + "storage:\n  s3:\n    bucket: b\n    region: r\n"));
    assert_eq!(find(&r, "backup-missing").severity, Severity::Info);
    assert!(!has(&egress_only(&good_egress()), "backup-missing"));
    let ok = egress_only(&(good_egress() + "storage:\n  s3:\n    bucket: b\n    region: r\nbackup:\n  azure:\n    container_name: c\n"));
    assert!(!has(&ok, "backup-missing"));
}

// ---- container ----

#[test]
fn chrome_sandbox_needs_seccomp() {
    let e = good_egress() + "enable_chrome_sandbox: true\n";
    let r = full(&e, &good_livekit(), GOOD_COMPOSE);
    assert_eq!(find(&r, "chrome-sandbox-seccomp").severity, Severity::Error);
    assert_eq!(
        find(&egress_only(&e), "chrome-sandbox-seccomp").severity,
        Severity::Info
    );
    let seccomp = GOOD_COMPOSE.replace(
        "    cpus: 4\n",
        "    cpus: 4\n    security_opt:\n      - seccomp=chrome-sandboxing-seccomp-profile.json\n",
    );
    assert!(!has(
        &full(&e, &good_livekit(), &seccomp),
        "chrome-sandbox-seccomp"
    ));
    let cap = GOOD_COMPOSE.replace("    cpus: 4\n", "    cpus: 4\n    cap_add: [SYS_ADMIN]\n");
    assert!(!has(
        &full(&e, &good_livekit(), &cap),
        "chrome-sandbox-seccomp"
    ));
    assert!(!has(
        &full(&good_egress(), &good_livekit(), GOOD_COMPOSE),
        "chrome-sandbox-seccomp"
    ));
}

#[test]
fn sys_admin_without_sandbox() {
    let cap = GOOD_COMPOSE.replace(
        "    cpus: 4\n",
        "    cpus: 4\n    cap_add:\n      - SYS_ADMIN\n",
    );
    assert_eq!(
        find(
            &full(&good_egress(), &good_livekit(), &cap),
            "sys-admin-unneeded"
        )
        .severity,
        Severity::Info
    );
    assert!(!has(
        &full(&good_egress(), &good_livekit(), GOOD_COMPOSE),
        "sys-admin-unneeded"
    ));
}

#[test]
fn cpus_against_costs() {
    let two = GOOD_COMPOSE.replace("cpus: 4", "cpus: 2");
    let r = full(&good_egress(), &good_livekit(), &two);
    let f = find(&r, "cpus-too-few");
    assert_eq!(
        (f.severity, f.line, f.key.as_str()),
        (Severity::Warning, Some(9), "services.egress.cpus")
    );
    assert!(f.message.contains("room composite"));
    let tiny = GOOD_COMPOSE.replace("cpus: 4", "cpus: 0.25");
    assert_eq!(
        find(
            &full(&good_egress(), &good_livekit(), &tiny),
            "cpus-too-few"
        )
        .severity,
        Severity::Error
    );
    let lowered = good_egress() + "cpu_cost:\n  room_composite_cpu_cost: 2\n  web_cpu_cost: 2\n";
    assert!(!has(&full(&lowered, &good_livekit(), &two), "cpus-too-few"));
    let deploy = GOOD_COMPOSE.replace(
        "    cpus: 4\n",
        "    deploy:\n      resources:\n        limits:\n          cpus: '3'\n",
    );
    assert!(has(
        &full(&good_egress(), &good_livekit(), &deploy),
        "cpus-too-few"
    ));
    assert!(!has(
        &full(&good_egress(), &good_livekit(), GOOD_COMPOSE),
        "cpus-too-few"
    ));
}

#[test]
fn shm_size_is_explained_not_flagged() {
    let r = full(&good_egress(), &good_livekit(), GOOD_COMPOSE);
    assert!(r.notes.iter().any(|n| n.contains("disable-dev-shm-usage")));
    let shm = GOOD_COMPOSE.replace("    cpus: 4\n", "    cpus: 4\n    shm_size: 1gb\n");
    let r = full(&good_egress(), &good_livekit(), &shm);
    assert!(!r.notes.iter().any(|n| n.contains("disable-dev-shm-usage")));
}

#[test]
fn config_must_reach_the_container() {
    let none = GOOD_COMPOSE.replace(
        "    environment:\n      - EGRESS_CONFIG_FILE=/etc/egress.yaml\n",
        "",
    );
    assert_eq!(
        find(
            &full(&good_egress(), &good_livekit(), &none),
            "compose-config-missing"
        )
        .severity,
        Severity::Error
    );
    let unmounted = GOOD_COMPOSE.replace(
        "      - ./egress.yaml:/etc/egress.yaml:ro\n",
        "      - ./out:/out\n",
    );
    assert!(has(
        &full(&good_egress(), &good_livekit(), &unmounted),
        "compose-config-not-mounted"
    ));
    let dir = GOOD_COMPOSE.replace("./egress.yaml:/etc/egress.yaml:ro", "./config:/etc");
    let ok = full(&good_egress(), &good_livekit(), &dir);
    assert!(!has(&ok, "compose-config-not-mounted") && !has(&ok, "compose-config-missing"));
}

#[test]
fn port_conflicts() {
    let r = egress_only(&(good_egress() + "health_port: 8080\nprometheus_port: 8080\n"));
    assert_eq!(find(&r, "port-conflict").key, "prometheus_port");
    assert!(has(
        &egress_only(&(good_egress() + "health_port: 7980\n")),
        "port-conflict"
    ));
    assert!(!has(
        &egress_only(&(good_egress() + "health_port: 8080\nprometheus_port: 9090\n")),
        "port-conflict"
    ));
}

// ---- inline body and whole sets ----

#[test]
fn inline_config_body_is_checked_at_compose_lines() {
    let compose = "services:\n  egress:\n    image: livekit/egress\n    environment:\n      EGRESS_CONFIG_BODY: |\n        api_key: k\n        api_secret: s\n        ws_url: ws://localhost:7880\n        redis:\n          address: redis:6379\n  redis:\n    image: redis\n";
    let r = check_texts(&[("docker-compose.yaml", compose)]);
    let f = find(&r, "ws-url-localhost");
    assert_eq!((f.file.as_str(), f.line), ("docker-compose.yaml", Some(8)));
    assert!(r
        .files
        .iter()
        .any(|(_, k, by)| *k == Kind::Egress && by.contains("EGRESS_CONFIG_BODY")));
}

#[test]
fn findings_are_sorted_and_secrets_absent() {
    let e = format!("{}log_level: debug\ntemplate_base: http://livekit:7880\nstorage:\n  s3:\n    secret: {SECRET}\n    access_key: x\n    endpoint: http://localhost:9000\n    bucket: b\n", good_egress().replace("APIkey1", "nope"));
    let r = full(&e, &good_livekit(), GOOD_COMPOSE);
    let lines: Vec<usize> = r
        .findings
        .iter()
        .filter(|f| f.file == "egress.yaml")
        .filter_map(|f| f.line)
        .collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted);
    assert!(!all_text(&r).contains(SECRET));
    assert!(ids(&r).contains(&"api-key-unknown"));
}
