//! Every problem of every rule file, for `rules test DIR` and `--rules DIR`. The rule file
//! parser stops at the first problem of a file's shape (a missing field, an unknown field, a
//! value of the wrong type) before its own checks, which list everything else. Here each such
//! problem is noted with its line, patched over with a stand-in (the missing field added, the
//! unknown one commented out, the wrong value replaced), and the file parsed again, until the
//! parser gets through to its checks. It reads the files of the directory itself and knows no
//! rule field by name: what to patch is read from the parser's own messages.

use crate::error::RuleError;
use crate::rulebase::RuleSet;
use std::path::Path;

/// Most shape problems noted in one file (each costs a parse).
const MAX_ROUNDS: usize = 64;

/// Messages of the parser about a file's shape, which it reports one at a time.
const SHAPE: [&str; 6] = [
    "missing field `",
    "unknown field `",
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "duplicate field `",
];

/// The problems of the rule files in `dir`, as loading them reported (`errors`), completed:
/// the errors of a file whose shape stopped the parser are replaced by every problem it has.
/// Problems across files (a duplicate id) and an unreadable directory are kept as they are.
pub fn complete(dir: &Path, errors: Vec<RuleError>) -> Vec<RuleError> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return errors;
    };
    let mut files: Vec<(String, String)> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(&p).ok()?)))
        .collect();
    files.sort();
    let mut out = Vec::new();
    let mut redone: Vec<&str> = Vec::new();
    for (name, text) in &files {
        let stopped = errors
            .iter()
            .any(|e| e.file == *name && line_of(&e.field).is_some() && is_shape(&e.message));
        if stopped {
            out.extend(file_problems(name, text));
            redone.push(name);
        }
    }
    // The rest, in the order loading gave them, after the completed files' problems.
    let rest: Vec<RuleError> = errors
        .into_iter()
        .filter(|e| !redone.contains(&e.file.as_str()))
        .collect();
    // Keep the files' order: every problem of a file together.
    let mut all: Vec<RuleError> = out.into_iter().chain(rest).collect();
    all.sort_by(|a, b| a.file.cmp(&b.file));
    all
}

fn is_shape(message: &str) -> bool {
    SHAPE.iter().any(|p| message.starts_with(p))
}

/// `line N` (how the parser places a problem of a file's shape) as N.
fn line_of(field: &str) -> Option<usize> {
    field.strip_prefix("line ")?.parse().ok()
}

/// The text between the first pair of backticks of `message`.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// A value of the type a message asks for (`expected a sequence` ...).
fn stand_in(expected: &str) -> &'static str {
    if expected.contains("sequence") || expected.contains("array") {
        "[]"
    } else if expected.contains("bool") {
        "false"
    } else if expected.contains("integer")
        || expected.contains("i32")
        || expected.contains("i64")
        || expected.contains("u32")
        || expected.contains("u64")
    {
        "0"
    } else if expected.contains("float") || expected.contains("f64") {
        "0.0"
    } else if expected.contains("struct") || expected.contains("map") || expected.contains("table")
    {
        "{}"
    } else {
        "\"\""
    }
}

/// Every problem of one rule file: those of its shape one by one, then the parser's checks.
pub fn file_problems(name: &str, text: &str) -> Vec<RuleError> {
    let mut f = Patched::new(text);
    let mut found: Vec<RuleError> = Vec::new();
    // Fields given stand-ins: the checks' complaints about them are not the file's.
    let mut stood_in: Vec<String> = Vec::new();
    for round in 0..MAX_ROUNDS {
        let errors = match RuleSet::from_texts(&[(name.to_string(), f.text())]) {
            Ok(_) => break,
            Err(e) => e,
        };
        let shape = match errors.as_slice() {
            [e] if is_shape(&e.message) => line_of(&e.field).map(|l| (e, l)),
            _ => None,
        };
        let Some((e, line)) = shape else {
            // The shape's problems in the file's order (the parser finds a table's missing
            // fields at its end), then the checks'.
            found.sort_by_key(|e| line_of(&e.field));
            // Only the first round's syntax error is the file's own; a later one comes from
            // a patch (a value over several lines) and ends the search.
            let own = round == 0 || errors.iter().all(|e| line_of(&e.field).is_none());
            if own {
                found.extend(errors.into_iter().filter(|e| {
                    !stood_in
                        .iter()
                        .any(|p| e.field == *p || e.field.starts_with(&format!("{p}.")))
                }));
            }
            return found;
        };
        found.push(RuleError {
            file: e.file.clone(),
            field: f
                .origin(line)
                .map_or_else(String::new, |l| format!("line {l}")),
            message: e.message.clone(),
        });
        let patched = if e.message.starts_with("missing field `") {
            quoted(&e.message).and_then(|key| {
                let path = f.path_with(line, key);
                let done = f.add_missing(line, key, name);
                stood_in.push(path);
                done.then_some(())
            })
        } else if e.message.starts_with("unknown field `") || e.message.starts_with("duplicate") {
            f.comment_out(line).then_some(())
        } else {
            let expected = e.message.rsplit("expected").next().unwrap_or("");
            let path = f.key_path(line);
            let done = f.replace_value(line, stand_in(expected), expected.contains("sequence"));
            stood_in.extend(path);
            done.then_some(())
        };
        if patched.is_none() {
            return found;
        }
    }
    found.sort_by_key(|e| line_of(&e.field));
    found
}

/// A rule file's lines being patched, with the original line number of each (`None` for a
/// line added; it is placed at the table it was added to).
struct Patched {
    lines: Vec<String>,
    origin: Vec<Option<usize>>,
}

impl Patched {
    fn new(text: &str) -> Patched {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let origin = (1..=lines.len()).map(Some).collect();
        Patched { lines, origin }
    }

    fn text(&self) -> String {
        let mut t = self.lines.join("\n");
        t.push('\n');
        t
    }

    /// The original line of line `line` (1-based) of the patched text; an added line counts
    /// as the line before it.
    fn origin(&self, line: usize) -> Option<usize> {
        (0..line.min(self.origin.len()))
            .rev()
            .find_map(|i| self.origin[i])
    }

    /// The table header on line `line` (`[explain]` -> `explain`, `[[test]]` -> `test`).
    fn header(&self, line: usize) -> Option<String> {
        let t = self.lines.get(line.checked_sub(1)?)?.trim();
        let inner = t.strip_prefix("[[").and_then(|r| r.strip_suffix("]]"));
        let inner = inner.or_else(|| t.strip_prefix('[').and_then(|r| r.strip_suffix(']')))?;
        Some(inner.trim().to_string())
    }

    /// The header of the table line `line` is in (`None` at the top level).
    fn table_of(&self, line: usize) -> Option<String> {
        (1..=line.min(self.lines.len()))
            .rev()
            .find_map(|l| self.header(l))
    }

    /// The dotted path of `key` in the table whose problem is placed on line `line`.
    fn path_with(&self, line: usize, key: &str) -> String {
        match self.header(line) {
            Some(t) => format!("{t}.{key}"),
            None => key.to_string(),
        }
    }

    /// The dotted path of the key set on line `line`.
    fn key_path(&self, line: usize) -> Option<String> {
        let l = self.lines.get(line.checked_sub(1)?)?;
        let key = l.split('=').next()?.trim().trim_matches('"');
        if key.is_empty() || l.trim_start().starts_with('[') {
            return None;
        }
        Some(match self.table_of(line) {
            Some(t) => format!("{t}.{key}"),
            None => key.to_string(),
        })
    }

    /// Adds `key` with a stand-in value of the type the parser accepts, to the table whose
    /// header is on line `line` (the top level when that line is no header). The stand-in for
    /// `id` is the file's stem, which the checks require.
    fn add_missing(&mut self, line: usize, key: &str, file: &str) -> bool {
        let at = if self.header(line).is_some() { line } else { 0 };
        let stem = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = format!("{stem:?}");
        let candidates: Vec<&str> = if key == "id" {
            vec![id.as_str()]
        } else {
            vec!["\"\"", "[]", "0", "false", "{}"]
        };
        for value in candidates {
            self.lines.insert(at, format!("{key} = {value}"));
            self.origin.insert(at, None);
            let errors = RuleSet::from_texts(&[(file.to_string(), self.text())]).err();
            let added = at + 1;
            // The stand-in is of the wrong type when the parser now complains about its line.
            let wrong = errors.as_ref().is_some_and(|es| {
                es.iter().any(|e| {
                    line_of(&e.field) == Some(added) && e.message.starts_with("invalid type")
                })
            });
            if !wrong {
                return true;
            }
            self.lines.remove(at);
            self.origin.remove(at);
        }
        false
    }

    fn comment_out(&mut self, line: usize) -> bool {
        match self.lines.get_mut(line.wrapping_sub(1)) {
            Some(l) if !l.trim_start().starts_with('#') => {
                l.insert_str(0, "# ");
                true
            }
            _ => false,
        }
    }

    /// Replaces the value set on line `line` (a `key = value` line) by `value`, or, where a
    /// list is expected, puts the value given into one (`status = "failed"` as `["failed"]`,
    /// which leaves the checks nothing to say about a condition gone missing).
    fn replace_value(&mut self, line: usize, value: &str, listed: bool) -> bool {
        let Some(l) = self.lines.get_mut(line.wrapping_sub(1)) else {
            return false;
        };
        let Some(eq) = l.find('=') else {
            return false;
        };
        if l.trim_start().starts_with('[') {
            return false;
        }
        let key = l[..eq].trim_end().to_string();
        let given = l[eq + 1..].trim();
        *l = if listed && !given.is_empty() && !given.starts_with('[') {
            format!("{key} = [{given}]")
        } else {
            format!("{key} = {value}")
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        file_problems("rules/bad.toml", text)
            .iter()
            .map(|e| {
                if e.field.is_empty() {
                    e.message.clone()
                } else {
                    format!("{}: {}", e.field, e.message)
                }
            })
            .collect()
    }

    #[test]
    fn every_problem_of_a_file_is_listed() {
        let text = r#"id = "Bad"
severity = "fatal"
colour = "red"
priority = "high"
[when]
status = "failed"
bogus = 1
[explain]
cause = "x"
confidence = "sure"
[[test]]
expect = "match"
"#;
        let got = problems(text);
        let want_in_order = [
            "line 1: missing field `title`",
            "line 3: unknown field `colour`",
            "line 4: invalid type: string \"high\", expected i32",
            "line 6: invalid type: string \"failed\", expected a sequence",
            "line 7: unknown field `bogus`",
            "line 8: missing field `fixes`",
            "line 11: missing field `input`",
            "id: `Bad` must equal the file name `bad`",
            "severity: `fatal` is not one of error, warning, info",
            "explain.confidence: `sure` is not one of certain, likely, possible",
        ];
        let mut at = 0;
        for want in want_in_order {
            let pos = got[at..]
                .iter()
                .position(|g| g.starts_with(want))
                .unwrap_or_else(|| panic!("{want:?} missing (in order) from {got:#?}"));
            at += pos + 1;
        }
        // Stand-ins are not complained about: the title and the fixes are reported missing
        // once, not also as empty.
        assert!(!got.iter().any(|g| g.starts_with("title:")), "{got:#?}");
        assert!(
            !got.iter().any(|g| g.starts_with("explain.fixes:")),
            "{got:#?}"
        );
    }

    #[test]
    fn a_syntax_error_is_the_only_problem_it_can_tell() {
        let got = problems("id = \"bad\nseverity = \"error\"\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("line 1: "), "{got:?}");
    }

    #[test]
    fn a_valid_file_has_no_problem() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/start-signal-not-received.toml"),
        )
        .expect("built-in rule");
        assert!(file_problems("rules/start-signal-not-received.toml", &text).is_empty());
    }
}
