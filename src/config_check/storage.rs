//! Upload storage checks: S3 endpoint on localhost, virtual-host addressing against
//! MinIO/LocalStack-style endpoints without `force_path_style`, missing region or bucket,
//! half-set credentials, several providers at once, and no `backup` (a failed upload loses
//! the recording). Credentials are looked at, never shown.

use super::net::{classify, is_ip, parse_url, HostKind};
use super::redis::unknown_service_host;
use super::yaml::{Entry, Node};
use super::{ConfigFile, Ctx, Loc, Network, Out, Severity};

const PROVIDERS: &[&str] = &["s3", "azure", "gcp", "alioss"];

/// Runs the storage checks on egress.yaml.
pub fn check(ctx: &Ctx<'_>, out: &mut Out) {
    let Some(f) = ctx.egress else { return };
    let mut any_upload = false;
    // Current layout (`storage:`), older top-level layout, and `backup:`.
    for (prefix, node) in [
        ("storage", f.root.get("storage")),
        ("", Some(&f.root)),
        ("backup", f.root.get("backup")),
    ] {
        let Some(node) = node else { continue };
        let present: Vec<&Entry> = PROVIDERS
            .iter()
            .filter_map(|p| node.entry(p))
            .filter(|e| e.value.is_map())
            .collect();
        if prefix != "backup" && !present.is_empty() {
            any_upload = true;
        }
        if present.len() > 1 {
            let names: Vec<&str> = present.iter().map(|e| e.key.as_str()).collect();
            out.add(
                "storage-multiple",
                Severity::Warning,
                &loc(f, prefix, &present[1].key, Some(present[1].line)),
                format!("several upload providers at once: {}", names.join(", ")),
                "egress uploads to one provider per request; with several configured only the first it checks is used, so uploads may not go where you expect.",
                "Keep one provider per storage section.",
            );
        }
        for e in present {
            let path = join(prefix, &e.key);
            match e.key.as_str() {
                "s3" => s3(ctx, f, &path, &e.value, out),
                "alioss" => require(f, &path, &e.value, "bucket", out),
                "gcp" => require(f, &path, &e.value, "bucket", out),
                "azure" => require(f, &path, &e.value, "container_name", out),
                _ => {}
            }
        }
    }
    if any_upload && f.root.get("backup").is_none_or(|b| !b.is_map()) {
        out.add(
            "backup-missing",
            Severity::Info,
            &Loc { file: f.name.clone(), line: None, key: "backup".into() },
            "no `backup` storage: a failed upload loses the recording",
            "Uploads happen when a file egress ends. If the upload fails (credentials, bucket, network), egress ends `egress_failed` with `S3 upload failed: …` and deletes its temporary directory, so the recording is gone. A `backup` storage section is used when the primary upload fails (then `backup_storage_used` is set). Note: the key is `backup`, not README's `backup_storage`.",
            "Add a second storage under `backup:` (same shape as `storage:`), e.g.\nbackup:\n  s3:\n    bucket: recordings-backup\n    region: eu-west-1",
        );
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn loc(f: &ConfigFile, prefix: &str, key: &str, line: Option<usize>) -> Loc {
    Loc {
        file: f.name.clone(),
        line,
        key: join(prefix, key),
    }
}

fn text(n: &Node, key: &str) -> Option<(String, usize)> {
    let e = n.entry(key)?;
    let t = e.value.text()?;
    (!t.trim().is_empty()).then(|| (t.trim().to_string(), e.line))
}

fn require(f: &ConfigFile, path: &str, n: &Node, key: &str, out: &mut Out) {
    if text(n, key).is_none() {
        out.add(
            "storage-bucket-missing",
            Severity::Error,
            &Loc { file: f.name.clone(), line: n.entry(key).map(|e| e.line), key: format!("{path}.{key}") },
            format!("`{path}` has no `{key}`"),
            format!("Without `{key}` uploads to this storage fail when the recording ends (`egress_failed`, upload error), and the file is lost unless a backup storage works."),
            format!("Set `{path}.{key}`."),
        );
    }
}

fn s3(ctx: &Ctx<'_>, f: &ConfigFile, path: &str, n: &Node, out: &mut Out) {
    let section_line = f
        .root
        .entry_at(&path.split('.').collect::<Vec<_>>())
        .map(|e| e.line);
    require(f, path, n, "bucket", out);
    let key = text(n, "access_key");
    let secret = text(n, "secret");
    if key.is_some() != secret.is_some() {
        let (have, miss) = if key.is_some() {
            ("access_key", "secret")
        } else {
            ("secret", "access_key")
        };
        out.add(
            "s3-credentials-partial",
            Severity::Warning,
            &Loc { file: f.name.clone(), line: n.entry(have).map(|e| e.line), key: format!("{path}.{miss}") },
            format!("`{path}` has `{have}` but no `{miss}`"),
            "Static S3 credentials are used only when both access_key and secret are set; with one of them the SDK falls back to the environment or an IAM role, and uploads fail with `AccessDenied` / `InvalidAccessKeyId` (403) at the end of the recording when there is none.",
            format!("Set both `{path}.access_key` and `{path}.secret`, or neither (to use AWS_* variables or an IAM role)."),
        );
    }
    let endpoint = text(n, "endpoint");
    let region = text(n, "region");
    let path_style = n.get("force_path_style").is_some_and(Node::is_true);
    let Some((ep, ep_line)) = endpoint else {
        if region.is_none() {
            out.add(
                "s3-region-missing",
                Severity::Warning,
                &Loc { file: f.name.clone(), line: section_line, key: format!("{path}.region") },
                format!("`{path}` has neither `region` nor `endpoint`"),
                "With both empty, egress asks S3 for the bucket's location (`GetBucketLocation`) when each file egress starts. Credentials without `s3:GetBucketLocation` make the egress fail right after it starts: `egress_failed` with `operation error S3: GetBucketLocation, …` (code 0).",
                format!("Set `{path}.region` to the bucket's region (e.g. `region: eu-west-1`)."),
            );
        }
        return;
    };
    let eloc = Loc {
        file: f.name.clone(),
        line: Some(ep_line),
        key: format!("{path}.endpoint"),
    };
    let Some(url) = parse_url(&ep) else { return };
    let kind = classify(&url.host);
    if kind.is_self() && ctx.network() != Network::Host {
        out.add(
            "s3-endpoint-localhost",
            Severity::Error,
            &eloc,
            format!("S3 endpoint `{ep}` is the egress container itself"),
            format!("Uploads run inside the egress container, where `{}` is the container, not MinIO/LocalStack. Every upload fails when the recording ends: `S3 upload failed: … dial tcp {}: connect: connection refused` (400), and the recording is lost unless a backup storage works.", url.host, url.authority()),
            "Use an endpoint reachable from the egress container: the compose service name (`endpoint: http://minio:9000`, `http://localstack:4566`).",
        );
    }
    unknown_service_host(ctx, &url.host, &eloc, &format!("`{path}.endpoint`"), out);
    if url.scheme.is_empty() {
        out.add(
            "s3-endpoint-scheme",
            Severity::Info,
            &eloc,
            format!("S3 endpoint `{ep}` has no scheme"),
            "Write the scheme explicitly: the AWS SDK expects a full URL, and a local MinIO or LocalStack usually speaks plain http, not https.",
            format!("`endpoint: http://{}` (or https:// if it serves TLS).", url.authority()),
        );
    }
    let aws = url.host.ends_with("amazonaws.com") || url.host.ends_with("amazonaws.com.cn");
    if !aws && !path_style {
        let single = matches!(
            kind,
            HostKind::SingleLabel | HostKind::Loopback | HostKind::DockerHost
        ) || is_ip(&url.host);
        let pl = n.entry("force_path_style").map(|e| e.line).or(section_line);
        out.add(
            "s3-path-style-missing",
            if single { Severity::Error } else { Severity::Warning },
            &Loc { file: f.name.clone(), line: pl, key: format!("{path}.force_path_style") },
            format!("custom S3 endpoint `{}` without `force_path_style: true`", url.host),
            format!(
                "Without `force_path_style` the SDK addresses the bucket as `<bucket>.{}` (virtual-host style). {} The upload then fails when the recording ends (`S3 upload failed: … lookup <bucket>.{}: no such host`), and the recording is lost unless a backup storage works.",
                url.host,
                if single {
                    "For an IP address or a bare service name such as MinIO or LocalStack that name cannot exist."
                } else {
                    "Many S3-compatible services (MinIO, LocalStack, Ceph) only answer path-style requests."
                },
                url.host
            ),
            format!("Add `force_path_style: true` under `{path}`."),
        );
    }
    if region.is_none() && !aws {
        out.add(
            "s3-region-missing",
            Severity::Info,
            &Loc { file: f.name.clone(), line: section_line, key: format!("{path}.region") },
            format!("`{path}` has an endpoint but no `region`"),
            "With an endpoint and no region egress signs requests for `us-east-1`. MinIO and LocalStack accept any region; other S3-compatible services may reject the signature (`SignatureDoesNotMatch`, `AuthorizationHeaderMalformed`).",
            format!("Set `{path}.region` (any value for MinIO/LocalStack, e.g. `us-east-1`)."),
        );
    } else if region.is_none() && aws {
        out.add(
            "s3-region-missing",
            Severity::Warning,
            &Loc { file: f.name.clone(), line: section_line, key: format!("{path}.region") },
            format!("`{path}` has an AWS endpoint but no `region`"),
            "With an endpoint and no region egress signs requests for `us-east-1`; a bucket in another region rejects them (`AuthorizationHeaderMalformed` / `PermanentRedirect`) when the upload runs at the end of the recording.",
            format!("Set `{path}.region` to the bucket's region."),
        );
    }
}
