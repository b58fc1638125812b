//! YAML loading for the config doctor: turns a file's text into a small tree of nodes that
//! keep their line numbers, with `<<` merge keys resolved. It knows nothing about egress,
//! livekit-server or compose, and never prints.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// One YAML node and where it starts (1-based line).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub value: Value,
}

/// A node's content. Scalars are resolved the YAML 1.2 core way: `9090` is an integer,
/// `"9090"` a string, `yes` a string.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` pair of a mapping, with the key's line.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub line: usize,
    pub value: Node,
}

/// A YAML syntax error with its position (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Parses the first document of `text`; `Ok(None)` when it holds no document (empty or only
/// comments).
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| SyntaxError {
        line: e.marker().line().max(1),
        col: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    Ok(docs.first().map(convert))
}

fn convert(n: &MarkedYaml<'_>) -> Node {
    let line = n.span.start.line().max(1);
    let value = match &n.data {
        YamlData::Value(s) => scalar(s),
        YamlData::Representation(s, _, _) => Value::Str(s.to_string()),
        YamlData::Sequence(items) => Value::Seq(items.iter().map(convert).collect()),
        YamlData::Mapping(m) => {
            let mut entries: Vec<Entry> = Vec::with_capacity(m.len());
            let mut merged: Vec<Entry> = Vec::new();
            for (k, v) in m.iter() {
                let key = key_text(k);
                let value = convert(v);
                if key == "<<" {
                    // Merge keys: entries of the merged mappings fill in what is not set here.
                    match value.value {
                        Value::Map(es) => merged.extend(es),
                        Value::Seq(items) => {
                            for it in items {
                                if let Value::Map(es) = it.value {
                                    merged.extend(es);
                                }
                            }
                        }
                        _ => {}
                    }
                    continue;
                }
                entries.push(Entry {
                    key,
                    line: k.span.start.line().max(1),
                    value,
                });
            }
            for e in merged {
                if !entries.iter().any(|x| x.key == e.key) {
                    entries.push(e);
                }
            }
            Value::Map(entries)
        }
        YamlData::Tagged(_, inner) => return convert(inner),
        YamlData::Alias(_) | YamlData::BadValue => Value::Null,
    };
    Node { line, value }
}

fn scalar(s: &Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.to_string()),
    }
}

fn key_text(k: &MarkedYaml<'_>) -> String {
    match &k.data {
        YamlData::Value(s) => scalar_text(&scalar(s)).unwrap_or_default(),
        YamlData::Representation(s, _, _) => s.to_string(),
        YamlData::Tagged(_, inner) => key_text(inner),
        _ => String::new(),
    }
}

/// A scalar as the text a Go program would get when it reads it into a string.
pub fn scalar_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Seq(_) | Value::Map(_) => return None,
    })
}

impl Node {
    /// The entry `key` of a mapping node.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(es) => es.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The value under `key` of a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry at a dotted path of mappings (`["storage", "s3", "endpoint"]`).
    pub fn entry_at(&self, path: &[&str]) -> Option<&Entry> {
        let (last, parents) = path.split_last()?;
        let mut n = self;
        for p in parents {
            n = n.get(p)?;
        }
        n.entry(last)
    }

    /// The mapping's entries (empty for anything else).
    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(es) => es,
            _ => &[],
        }
    }

    /// The sequence's items (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(v) => v,
            _ => &[],
        }
    }

    /// A scalar's text (see [`scalar_text`]).
    pub fn text(&self) -> Option<String> {
        scalar_text(&self.value)
    }

    /// True for a mapping node.
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// True for null or an empty string.
    pub fn is_empty_scalar(&self) -> bool {
        match &self.value {
            Value::Null => true,
            Value::Str(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// True when the value is `true` (or a YAML 1.1 yes/on that Go's yaml.v3 accepts for bools).
    pub fn is_true(&self) -> bool {
        match &self.value {
            Value::Bool(b) => *b,
            Value::Str(s) => matches!(
                s.as_str(),
                "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON"
            ),
            _ => false,
        }
    }

    /// A number, from an integer, a float or a numeric string (compose writes `cpus: "2.5"`).
    pub fn number(&self) -> Option<f64> {
        match &self.value {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// The name of a node's type, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lines_and_types() {
        let n = parse("a: 1\nb: \"2\"\nc:\n  d: yes\n  e: 1.5\nf: ~\n")
            .expect("parse")
            .expect("doc");
        assert_eq!(n.entry("a").map(|e| e.line), Some(1));
        assert_eq!(n.get("a").map(|v| &v.value), Some(&Value::Int(1)));
        assert_eq!(n.get("b").map(|v| &v.value), Some(&Value::Str("2".into())));
        assert_eq!(n.entry_at(&["c", "d"]).map(|e| e.line), Some(4));
        assert!(n
            .get("c")
            .and_then(|c| c.get("d"))
            .is_some_and(Node::is_true));
        assert_eq!(
            n.entry_at(&["c", "e"]).and_then(|e| e.value.number()),
            Some(1.5)
        );
        assert!(n.get("f").is_some_and(Node::is_empty_scalar));
    }

    #[test]
    fn merge_keys_fill_in() {
        let n = parse("x: &base\n  cpus: 2\n  image: a\ns:\n  <<: *base\n  image: b\n")
            .expect("parse")
            .expect("doc");
        let s = n.get("s").expect("s");
        assert_eq!(s.get("image").and_then(Node::text).as_deref(), Some("b"));
        assert_eq!(s.get("cpus").and_then(Node::number), Some(2.0));
        assert!(s.entry("<<").is_none());
    }

    #[test]
    fn syntax_errors_have_lines() {
        let e = parse("a: 1\nb: [1\nc: 2\n").expect_err("error");
        assert!(e.line >= 2, "{e:?}");
        let e = parse("a: 1\na: 2\n").expect_err("duplicate");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("duplicate"), "{e:?}");
    }

    #[test]
    fn empty_is_none() {
        assert_eq!(parse("").expect("ok"), None);
        assert_eq!(parse("# only a comment\n").expect("ok"), None);
    }
}
