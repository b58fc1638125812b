//! The rule file format: TOML, one rule per file. Parses and validates one file, collecting
//! every problem with its field instead of stopping at the first.

use super::{
    check_pattern, fact_names, milestone_names, Between, Cond, Confidence, Expect, Explain,
    LazyRegex, PastedError, RuleTest, Scope, Severity, StallKind, StatusCond,
};
use crate::correlate::Status;
use crate::error::RuleError;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    title: String,
    severity: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sources: Vec<String>,
    #[serde(default)]
    when: WhenFile,
    explain: ExplainFile,
    #[serde(default, rename = "test")]
    tests: Vec<TestFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pasted_errors: Vec<PastedErrorFile>,
}

/// A final error text the rule explains, as a user may paste it alone (no egress line).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PastedErrorFile {
    prefix: String,
    status: String,
    #[serde(default)]
    code: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WhenFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    status: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    details: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    code: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    request_type: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    output_type: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen_any: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    not_seen: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    line: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    reached: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    not_reached: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    between: Vec<BetweenFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    count: Vec<CountFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server_only: Option<bool>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    fields: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    input_seen: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    input_not_seen: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    stall: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fixed_in: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BetweenFile {
    from: String,
    to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountFile {
    pattern: String,
    min: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainFile {
    cause: String,
    fixes: Vec<String>,
    #[serde(default)]
    config: Option<String>,
    #[serde(default)]
    docs: Vec<String>,
    confidence: String,
    #[serde(default)]
    unknowns: Vec<String>,
    /// Patterns that only pick parts of the evidence lines for placeholders: their named
    /// groups (`(?P<endpoint>[^\s:]+)`) fill `{endpoint}`; they decide nothing.
    #[serde(default)]
    capture: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    name: Option<String>,
    input: String,
    expect: String,
}

/// A rule file after validation, before its patterns are interned.
pub(super) struct Parsed {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub scope: Scope,
    pub priority: i32,
    pub explain: Explain,
    pub tests: Vec<RuleTest>,
    pub file: String,
    pub source_text: String,
    pub texts: Vec<String>,
    pub cond: Cond,
    pub seen: Vec<String>,
    pub seen_any: Vec<String>,
    pub not_seen: Vec<String>,
    pub lines: Vec<String>,
    pub fields: Vec<(String, String)>,
    pub count: Vec<(String, u32)>,
    pub input_seen: Vec<String>,
    pub input_not_seen: Vec<String>,
    pub pasted_errors: Vec<PastedError>,
    pub sources: Vec<String>,
}

/// A rule's source: a URL, or `owner/repo:path` (a file in a named public repository,
/// optionally `@commit` after the repository and `#L10` after the path).
fn is_source(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("https://") {
        return rest.contains('.') && !rest.contains(char::is_whitespace);
    }
    let Some((repo, path)) = s.split_once(':') else {
        return false;
    };
    let repo = repo.split('@').next().unwrap_or(repo);
    let ok = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    };
    matches!(repo.split_once('/'), Some((owner, name)) if ok(owner) && ok(name))
        && !path.is_empty()
        && !path.contains(char::is_whitespace)
}

/// Parses `10s`, `1.5s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v * mult)
}

/// The text of a rule file.
pub(crate) enum Text<'a> {
    /// As written.
    Toml(&'a str),
    /// A built-in rule without its `[[test]]` examples, turned into JSON by `build.rs`.
    LeanJson(&'a str),
}

/// Parses and validates one rule file. `check_patterns` is false only for the built-in rules
/// loaded without their examples: the test suite checks their patterns and examples, and
/// checking the patterns again costs most of a paste's run.
pub(super) fn parse(
    file: &str,
    text: &Text<'_>,
    check_patterns: bool,
) -> Result<Parsed, Vec<RuleError>> {
    let check_pattern = |p: &str| {
        if check_patterns {
            check_pattern(p)
        } else {
            Ok(())
        }
    };
    let err = |field: &str, message: String| RuleError {
        file: file.to_string(),
        field: field.to_string(),
        message,
    };
    let rf: RuleFile = match text {
        Text::Toml(text) => toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().trim().to_string();
            vec![err(
                &line.map_or(String::new(), |l| format!("line {l}")),
                msg,
            )]
        })?,
        Text::LeanJson(json) => {
            serde_json::from_str(json).map_err(|e| vec![err("", e.to_string())])?
        }
    };
    let mut errors = Vec::new();
    let stem = std::path::Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if rf.id != stem {
        errors.push(err(
            "id",
            format!("`{}` must equal the file name `{stem}`", rf.id),
        ));
    }
    if rf.id.is_empty()
        || !rf
            .id
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errors.push(err("id", "use lowercase letters, digits and `-`".into()));
    }
    if rf.id == "unrecognised" {
        errors.push(err("id", "`unrecognised` is reserved".into()));
    }
    if rf.title.trim().is_empty() {
        errors.push(err("title", "must not be empty".into()));
    }
    let severity = Severity::parse(&rf.severity).unwrap_or_else(|| {
        errors.push(err(
            "severity",
            format!("`{}` is not one of error, warning, info", rf.severity),
        ));
        Severity::Error
    });
    let scope_s = rf.scope.as_deref().unwrap_or("egress");
    let scope = Scope::parse(scope_s).unwrap_or_else(|| {
        errors.push(err(
            "scope",
            format!("`{scope_s}` is not one of egress, node, input"),
        ));
        Scope::Egress
    });
    let confidence = Confidence::parse(&rf.explain.confidence).unwrap_or_else(|| {
        errors.push(err(
            "explain.confidence",
            format!(
                "`{}` is not one of certain, likely, possible",
                rf.explain.confidence
            ),
        ));
        Confidence::Possible
    });
    let w = &rf.when;
    let mut cond = Cond::default();
    for s in &w.status {
        match s.as_str() {
            "failure" => cond.status.push(StatusCond::AnyFailure),
            "open" => cond.status.push(StatusCond::Open),
            other => match Status::parse(other) {
                Some(st) => cond.status.push(StatusCond::Is(st)),
                None => errors.push(err(
                    "when.status",
                    format!("`{other}` is not a status (starting, active, ending, complete, failed, aborted, limit_reached, failure, open)"),
                )),
            },
        }
    }
    let mut texts = Vec::new();
    let mut compile = |field: &str, src: &Option<String>| {
        src.as_ref().and_then(|s| {
            texts.push(s.clone());
            check_pattern(s)
                .map(|()| LazyRegex::new(s))
                .map_err(|e| errors.push(err(field, format!("invalid regex: {e}"))))
                .ok()
        })
    };
    cond.error = compile("when.error", &w.error);
    cond.details = compile("when.details", &w.details);
    for (field, list) in [
        ("when.seen", &w.seen),
        ("when.seen_any", &w.seen_any),
        ("when.not_seen", &w.not_seen),
        ("when.line", &w.line),
        ("when.input_seen", &w.input_seen),
        ("when.input_not_seen", &w.input_not_seen),
    ] {
        for p in list {
            if let Err(e) = check_pattern(p) {
                errors.push(err(field, format!("invalid regex `{p}`: {e}")));
            }
            if field != "when.not_seen" && field != "when.input_not_seen" {
                texts.push(p.clone());
            }
        }
    }
    // (A field's pattern says what a value looks like, not what a text says: not searched.)
    for (k, v) in &w.fields {
        if let Err(e) = check_pattern(v) {
            errors.push(err(
                &format!("when.fields.{k}"),
                format!("invalid regex: {e}"),
            ));
        }
    }
    for c in &w.count {
        if let Err(e) = check_pattern(&c.pattern) {
            errors.push(err("when.count.pattern", format!("invalid regex: {e}")));
        }
        texts.push(c.pattern.clone());
    }
    cond.code = w.code.clone();
    if let Some(v) = &w.fixed_in {
        match super::Version::parse(v) {
            Some(v) => cond.fixed_in = Some(v),
            None => errors.push(err(
                "when.fixed_in",
                format!("`{v}` is not a release version such as \"1.14.1\""),
            )),
        }
    }
    cond.request_type = w.request_type.clone();
    cond.output_type = w.output_type.clone();
    cond.server_only = w.server_only;
    for k in &w.stall {
        match StallKind::parse(k) {
            Some(k) => cond.stall.push(k),
            None => errors.push(err(
                "when.stall",
                format!("`{k}` is not a stall (before_start, silent, ending)"),
            )),
        }
    }
    for (field, list) in [
        ("when.reached", &w.reached),
        ("when.not_reached", &w.not_reached),
    ] {
        for m in list {
            if !milestone_names().contains(&m.as_str()) {
                errors.push(err(
                    field,
                    format!(
                        "`{m}` is not a milestone ({})",
                        milestone_names().join(", ")
                    ),
                ));
            }
        }
    }
    cond.reached = w.reached.clone();
    cond.not_reached = w.not_reached.clone();
    for b in &w.between {
        for m in [&b.from, &b.to] {
            if !milestone_names().contains(&m.as_str()) {
                errors.push(err(
                    "when.between",
                    format!(
                        "`{m}` is not a milestone ({})",
                        milestone_names().join(", ")
                    ),
                ));
            }
        }
        let mut dur = |v: &Option<String>, f: &str| {
            v.as_ref().and_then(|s| {
                parse_duration(s).or_else(|| {
                    errors.push(err(
                        f,
                        format!("`{s}` is not a duration (e.g. 10s, 500ms, 2m)"),
                    ));
                    None
                })
            })
        };
        let min = dur(&b.min, "when.between.min");
        let max = dur(&b.max, "when.between.max");
        if min.is_none() && max.is_none() {
            errors.push(err("when.between", "needs `min` or `max`".into()));
        }
        cond.between.push(Between {
            from: b.from.clone(),
            to: b.to.clone(),
            min,
            max,
        });
    }
    if scope != Scope::Egress {
        let egress_only = !w.status.is_empty()
            || w.error.is_some()
            || w.details.is_some()
            || !w.code.is_empty()
            || !w.request_type.is_empty()
            || !w.output_type.is_empty()
            || !w.reached.is_empty()
            || !w.not_reached.is_empty()
            || !w.between.is_empty()
            || w.server_only.is_some()
            || !w.input_seen.is_empty()
            || !w.input_not_seen.is_empty()
            || !w.stall.is_empty();
        if egress_only {
            errors.push(err(
                "when",
                format!(
                    "a {} rule can only use seen, seen_any, not_seen, line, fields and count",
                    scope.name()
                ),
            ));
        }
        if w.seen.is_empty()
            && w.seen_any.is_empty()
            && w.count.is_empty()
            && w.line.is_empty()
            && w.fields.is_empty()
        {
            errors.push(err(
                "when",
                "needs at least one of seen, seen_any, line or count".into(),
            ));
        }
    } else if cond.weight() == 0
        && w.line.is_empty()
        && w.fields.is_empty()
        && w.seen.is_empty()
        && w.seen_any.is_empty()
        && w.not_seen.is_empty()
        && w.input_seen.is_empty()
        && w.input_not_seen.is_empty()
    {
        errors.push(err(
            "when",
            "has no condition: the rule would match every egress".into(),
        ));
    }
    let mut names: Vec<&str> = fact_names(scope).to_vec();
    // Named capture groups of the rule's patterns are placeholders too.
    let w = &rf.when;
    let caught: Vec<String> = w
        .seen
        .iter()
        .chain(&w.seen_any)
        .chain(&w.line)
        .chain(&w.input_seen)
        .chain(w.count.iter().map(|c| &c.pattern))
        .chain(w.error.iter())
        .chain(w.details.iter())
        .chain(&rf.explain.capture)
        .flat_map(|src| super::capture_names(src))
        .collect();
    for (i, src) in rf.explain.capture.iter().enumerate() {
        // Parsed, not compiled: a capture pattern is compiled when its rule first fires.
        match regex_syntax::Parser::new().parse(src) {
            Ok(_) if !super::capture_names(src).is_empty() => {}
            Ok(_) => errors.push(err(
                &format!("explain.capture[{i}]"),
                "names no capture group (`(?P<name>...)`)".into(),
            )),
            Err(e) => errors.push(err(&format!("explain.capture[{i}]"), e.to_string())),
        }
    }
    names.extend(caught.iter().map(String::as_str));
    let ex = &rf.explain;
    let mut check_template = |field: &str, t: &str| {
        // (Most texts hold no `{{`/`}}`: they are read as they are, without a copy.)
        let unescaped = if t.contains("{{") || t.contains("}}") {
            std::borrow::Cow::Owned(t.replace("{{", "").replace("}}", ""))
        } else {
            std::borrow::Cow::Borrowed(t)
        };
        let mut rest = unescaped.as_ref();
        while let Some(o) = rest.find('{') {
            let after = &rest[o + 1..];
            if let Some(c) = after.find('}') {
                let name = &after[..c];
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    && !names.contains(&name)
                {
                    errors.push(err(
                        field,
                        format!(
                            "unknown placeholder `{{{name}}}` (known: {})",
                            names.join(", ")
                        ),
                    ));
                }
            }
            rest = after;
        }
    };
    check_template("explain.cause", &ex.cause);
    for f in &ex.fixes {
        check_template("explain.fixes", f);
    }
    if ex.cause.trim().is_empty() {
        errors.push(err("explain.cause", "must not be empty".into()));
    }
    if ex.fixes.is_empty() {
        errors.push(err("explain.fixes", "give at least one fix".into()));
    }
    for d in &ex.docs {
        if !d.starts_with("https://") && !d.starts_with("http://") {
            errors.push(err("explain.docs", format!("`{d}` is not a URL")));
        }
    }
    let mut tests = Vec::new();
    for (n, t) in rf.tests.iter().enumerate() {
        let expect = match t.expect.as_str() {
            "match" => Expect::Match,
            "lead" => Expect::Lead,
            "no-match" | "no_match" => Expect::NoMatch,
            other => {
                errors.push(err(
                    "test.expect",
                    format!("`{other}` is not one of match, lead, no-match"),
                ));
                continue;
            }
        };
        tests.push(RuleTest {
            name: t
                .name
                .clone()
                .unwrap_or_else(|| format!("example {}", n + 1)),
            input: t.input.clone(),
            expect,
        });
    }
    if check_patterns && !tests.iter().any(|t| t.expect != Expect::NoMatch) {
        errors.push(err(
            "test",
            "needs at least one positive example (expect = \"match\" or \"lead\")".into(),
        ));
    }
    if check_patterns && !tests.iter().any(|t| t.expect == Expect::NoMatch) {
        errors.push(err(
            "test",
            "needs at least one negative example (expect = \"no-match\")".into(),
        ));
    }
    let _ = &rf.reference;
    for (i, src) in rf.sources.iter().enumerate() {
        if !is_source(src) {
            errors.push(err(
                &format!("sources[{i}]"),
                format!("`{src}` is neither a URL (https://...) nor `owner/repo:path` in a public repository"),
            ));
        }
    }
    let mut pasted_errors = Vec::new();
    for (i, p) in rf.pasted_errors.iter().enumerate() {
        let field = format!("pasted_errors[{i}]");
        // Spaces are kept: `primary: ` is the start of a text, `primary:x` is not.
        let prefix = p.prefix.trim_start().to_ascii_lowercase();
        if prefix.trim().len() < 4 {
            errors.push(err(
                &format!("{field}.prefix"),
                "must hold at least 4 characters of the error text".into(),
            ));
        }
        match Status::parse(&p.status).filter(|s| s.is_terminal() && *s != Status::Complete) {
            Some(status) => pasted_errors.push(PastedError {
                prefix,
                status,
                code: p.code,
            }),
            None => errors.push(err(
                &format!("{field}.status"),
                format!(
                    "`{}` is not one of failed, aborted, limit_reached",
                    p.status
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Parsed {
        sources: rf.sources,
        id: rf.id,
        title: rf.title,
        severity,
        scope,
        priority: rf.priority,
        explain: Explain {
            cause: ex.cause.trim().to_string(),
            fixes: ex.fixes.clone(),
            config: ex.config.clone(),
            docs: ex.docs.clone(),
            confidence,
            unknowns: ex.unknowns.clone(),
            capture: ex.capture.clone(),
        },
        tests,
        file: file.to_string(),
        source_text: match text {
            Text::Toml(t) | Text::LeanJson(t) => (*t).to_string(),
        },
        texts,
        seen: rf.when.seen,
        seen_any: rf.when.seen_any,
        not_seen: rf.when.not_seen,
        lines: rf.when.line,
        fields: rf.when.fields.into_iter().collect(),
        count: rf
            .when
            .count
            .into_iter()
            .map(|c| (c.pattern, c.min))
            .collect(),
        input_seen: rf.when.input_seen,
        input_not_seen: rf.when.input_not_seen,
        pasted_errors,
        cond,
    })
}

#[cfg(test)]
mod tests {
    use super::is_source;

    #[test]
    fn sources_are_urls_or_repository_paths() {
        for ok in [
            "https://github.com/livekit/egress/issues/512",
            "livekit/egress:pkg/errors/errors.go",
            "livekit/egress@3f1c2a9:pkg/pipeline/watch.go#L120",
            "livekit/protocol:livekit/livekit_egress.proto",
        ] {
            assert!(is_source(ok), "{ok}");
        }
        for bad in [
            "",
            "egress",
            "http://example.com/x",
            "livekit:pkg/errors.go",
            "livekit/egress:",
            "livekit/egress: pkg/errors.go",
            "https://nodot",
        ] {
            assert!(!is_source(bad), "{bad}");
        }
    }
}
