//! Fuzz target: arbitrary bytes through the decoder and the whole analysis and report.
//! Run locally with `cargo fuzz run decode` (needs cargo-fuzz); CI only builds it.
#![no_main]

use egresslens::analyze::{analyze_bytes, Options};
use egresslens::report::{self, OutputFormat, Style};
use egresslens::rulebase::RuleSet;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static RULES: OnceLock<Option<RuleSet>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some(rules) = RULES.get_or_init(|| RuleSet::load(None).ok()) else {
        return;
    };
    let a = analyze_bytes(rules, data, Options { all: true, ..Options::default() });
    for format in [OutputFormat::Table, OutputFormat::Markdown, OutputFormat::Json] {
        let mut out = Vec::new();
        let style = Style { format, ..Style::default() };
        let _ = report::write(&a, &style, &mut out);
    }
});
