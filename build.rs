//! Embeds every `rules/*.toml` file into the binary as `(file name, TOML text, lean JSON)`:
//! the lean form drops the `[[test]]` examples and is JSON, which parses several times faster
//! than TOML when a run loads the rules to analyse logs (start-up is most of a paste's run).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("rules");
    println!("cargo:rerun-if-changed=rules");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from(
        "/// Built-in rule files: (file name, TOML text, the rule without its examples as JSON;\n\
         /// `None` when the file does not parse, so loading reports the TOML error).\n\
         pub static EMBEDDED: &[(&str, &str, Option<&str>)] = &[\n",
    );
    for n in &names {
        println!("cargo:rerun-if-changed=rules/{n}");
        let abs = std::fs::canonicalize(dir.join(n)).unwrap_or_else(|_| dir.join(n));
        let lean = std::fs::read_to_string(dir.join(n))
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
            .and_then(|mut t| {
                t.remove("test");
                serde_json::to_string(&t).ok()
            });
        let _ = writeln!(
            code,
            "    ({n:?}, include_str!({:?}), {lean:?}),",
            abs.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out).join("rules_embedded.rs"), code) {
        panic!("cannot write embedded rules: {e}");
    }
}
