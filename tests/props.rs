//! Property tests over the whole pipeline: any input gives a consistent report.

use egresslens::analyze::{analyze_bytes, Options};
use egresslens::report::{self, OutputFormat, Style};
use egresslens::rulebase::RuleSet;
use proptest::prelude::*;
use std::sync::OnceLock;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::load(None).expect("built-in rules load"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pipeline_never_panics_and_counts_add_up(lines in proptest::collection::vec(
        prop_oneof![
            "\\{\"level\":\"info\",\"ts\":[0-9]{1,3},\"msg\":\"(request received|request validated|egress_(active|complete|failed|aborted|limit_reached)|pipeline playing|chrome: START_RECORDING)\",\"egressID\":\"EG_[a-c]{12}\",\"error\":\"[a-zA-Z ]{0,12}\",\"code\":(0|412|500)\\}",
            "2026-01-27T11:11:[0-5][0-9]\\.[0-9]{3}Z INFO (egress request validated|egress_aborted) \"error\": \"Start signal not received\" \"code\": 412",
            ".{0,60}",
        ],
        0..60,
    )) {
        let rules = rules();
        let text = lines.join("\n");
        let a = analyze_bytes(rules, text.as_bytes(), Options { all: true, ..Options::default() });
        let s = a.summary;
        // Outcomes are one each; a warning is a property of an egress that did not fail (a
        // completed one, or one still open when the input ended, stalled).
        prop_assert!(s.failed + s.completed + s.in_progress <= s.egresses);
        prop_assert!(s.failed + s.warnings <= s.egresses);
        prop_assert_eq!(a.egresses.len() as u64, s.egresses);
        for r in &a.egresses {
            if r.egress.status.is_failure() {
                prop_assert!(!r.diagnoses.is_empty(), "a failure always has a diagnosis");
            }
        }
        for format in [OutputFormat::Table, OutputFormat::Markdown, OutputFormat::Json] {
            let mut out = Vec::new();
            let style = Style { format, ..Style::default() };
            prop_assert!(report::write(&a, &style, &mut out).is_ok());
            prop_assert!(!out.contains(&0x1b));
        }
    }
}
