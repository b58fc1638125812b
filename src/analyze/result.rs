//! What an analysis yields for a report: [`Analysis`], [`EgressResult`], [`Summary`],
//! [`Cause`], [`IdCensus`]. Plain results with the questions a report asks of them; it must
//! not run rules or read input.

use super::stall::OpenAtEnd;
use crate::correlate::{Egress, Global};
use crate::decode::Stats;
use crate::event::{Origin, Ts};
use crate::rulebase::{Diagnosis, Severity};
use std::collections::BTreeMap;

/// One egress with its diagnoses and what the input cannot tell about it.
#[derive(Debug, Clone)]
pub struct EgressResult {
    pub egress: Egress,
    pub diagnoses: Vec<Diagnosis>,
    /// What is missing from the input to be sure.
    pub notes: Vec<String>,
    /// Set when the input ended while the egress was still open: how long it had waited.
    pub open: Option<OpenAtEnd>,
}

impl EgressResult {
    /// Worst severity among the diagnoses.
    pub fn severity(&self) -> Option<Severity> {
        self.diagnoses.iter().map(|d| d.severity).max()
    }

    /// True when this egress counts as a failure in the summary.
    pub fn is_failure(&self) -> bool {
        counts_as_failure(&self.egress, self.severity())
    }

    /// True for a failure or a warning: what the summary counts by cause (`by_rule`).
    pub fn is_problem(&self) -> bool {
        self.is_failure() || self.severity() == Some(Severity::Warning)
    }

    /// True when it was still open at the end of the input and had waited past its limit.
    pub fn is_stalled(&self) -> bool {
        self.open.is_some_and(|o| o.stalled)
    }
}

/// An egress counts as a failure when its status is one, or when a diagnosis of it is an error
/// (`severity`: the worst of its diagnoses).
pub(super) fn counts_as_failure(e: &Egress, severity: Option<Severity>) -> bool {
    e.status.is_failure() || severity == Some(Severity::Error)
}

/// A failure or a warning.
pub(super) fn is_problem(e: &Egress, severity: Option<Severity>) -> bool {
    counts_as_failure(e, severity) || severity == Some(Severity::Warning)
}

/// Counts for the summary line and the JSON `summary`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub egresses: u64,
    pub failed: u64,
    pub completed: u64,
    pub in_progress: u64,
    /// Egresses with a warning but no failure.
    pub warnings: u64,
    /// Of `in_progress`, those that had waited past their stall limit at the end of the input.
    pub stalled: u64,
}

/// The failures and warnings one leading rule explained, over the whole input.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub title: String,
    pub severity: Severity,
    pub count: u64,
    /// When the first and the last of them ended (or were last seen).
    pub first: Option<Ts>,
    pub last: Option<Ts>,
    /// The first egress it explained (its label); the report always details that one.
    pub example: String,
}

/// Everything a report shows.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub sources: Vec<String>,
    pub stats: Stats,
    pub summary: Summary,
    /// Egresses to show, in the order they ended.
    pub egresses: Vec<EgressResult>,
    /// Egresses with a failure or warning beyond [`MAX_REPORTED`](super::MAX_REPORTED).
    pub omitted: u64,
    /// How many failures and warnings each leading rule explained (the counts add up to
    /// `failed + warnings`; normal completions are not counted).
    pub by_rule: BTreeMap<String, u64>,
    /// The same by leading rule, with when and an example.
    pub causes: BTreeMap<String, Cause>,
    /// Node- and input-level findings.
    pub findings: Vec<Diagnosis>,
    /// Advice about the input itself (missing `2>&1`, no IDs, binary data ...).
    pub hints: Vec<String>,
    pub global: Global,
    /// With `--egress`: which of the IDs asked for the input holds, and which others.
    pub ids: IdCensus,
}

/// Most egress IDs besides those asked for that a hint lists.
pub const MAX_OTHER_IDS: usize = 10;
/// Most distinct other IDs counted (memory stays bounded on an endless input).
pub(super) const MAX_COUNTED_IDS: usize = 1 << 16;

/// With an `--egress` filter, the egress IDs the input holds: those asked for that were found,
/// the first [`MAX_OTHER_IDS`] others and how many distinct ones there were (counted up to
/// [`MAX_COUNTED_IDS`]), and any that differ from one asked for only in case (a retyped ID).
#[derive(Debug, Clone, Default)]
pub struct IdCensus {
    pub found: Vec<String>,
    pub others: Vec<String>,
    pub other_count: u64,
    pub case_only: Vec<String>,
    counted: std::collections::HashSet<String>,
}

impl IdCensus {
    /// Counts the ID of an egress that ended, given the IDs asked for.
    pub(super) fn note(&mut self, id: &str, wanted: &[String]) {
        if wanted.iter().any(|w| w == id) {
            if !self.found.iter().any(|f| f == id) {
                self.found.push(id.to_string());
            }
            return;
        }
        if wanted.iter().any(|w| w.eq_ignore_ascii_case(id))
            && self.case_only.len() < MAX_OTHER_IDS
            && !self.case_only.iter().any(|c| c == id)
        {
            self.case_only.push(id.to_string());
        }
        if self.counted.contains(id) || self.counted.len() >= MAX_COUNTED_IDS {
            return;
        }
        self.counted.insert(id.to_string());
        self.other_count += 1;
        if self.others.len() < MAX_OTHER_IDS {
            self.others.push(id.to_string());
        }
    }

    /// The hint for `--egress` IDs the input does not hold: which, and the IDs it holds.
    pub fn hint(&self, wanted: &[String]) -> Option<String> {
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|w| !self.found.contains(w))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return None;
        }
        let mut h = format!("No egress {} in the input (--egress).", missing.join(", "));
        if !self.case_only.is_empty() {
            h.push_str(&format!(
                " Egress IDs are case-sensitive: the input has {}.",
                self.case_only.join(", ")
            ));
        }
        if self.others.is_empty() {
            if self.found.is_empty() {
                h.push_str(" Its lines name no egress ID at all.");
            }
            return Some(h);
        }
        let more = self.other_count.saturating_sub(self.others.len() as u64);
        h.push_str(&format!(
            " {} present: {}",
            if self.found.is_empty() {
                "Egress IDs"
            } else {
                "Other egress IDs"
            },
            self.others.join(", ")
        ));
        if self.counted.len() >= MAX_COUNTED_IDS {
            h.push_str(&format!(" and at least {more} more"));
        } else if more > 0 {
            h.push_str(&format!(" and {more} more"));
        }
        h.push('.');
        Some(h)
    }
}

impl Analysis {
    /// True when any failure or warning was diagnosed, or an egress had stalled when the input
    /// ended (exit code 1).
    pub fn has_findings(&self) -> bool {
        self.summary.failed > 0
            || self.summary.warnings > 0
            || self.summary.stalled > 0
            || self.omitted > 0
            || self
                .findings
                .iter()
                .any(|d| d.severity >= Severity::Warning)
    }

    /// True when the input holds lines forwarded from the egress handler process but none from
    /// the egress service, which writes every status line: how the egresses ended is unknown
    /// (`docker logs egress` without `2>&1`).
    pub fn only_handler_lines(&self) -> bool {
        (self.global.handler_lines > 0 || self.stats.skipped_handler)
            && self.global.service_lines == 0
    }

    /// The causes by count, most frequent first (ties by rule id).
    pub fn causes_by_count(&self) -> Vec<(&str, &Cause)> {
        let mut v: Vec<(&str, &Cause)> = self.causes.iter().map(|(k, c)| (k.as_str(), c)).collect();
        v.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        v
    }

    /// Source name for an origin.
    pub fn source_name(&self, o: Origin) -> &str {
        self.sources
            .get(o.source as usize)
            .map_or("?", String::as_str)
    }
}
