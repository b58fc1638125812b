//! Advice about the input ([`hints`]) and what it cannot tell about one egress
//! ([`notes_for`]). Texts only; it must not count or decide findings.

use super::result::Analysis;
use crate::correlate::Egress;

/// What the input cannot tell about one egress.
pub(super) fn notes_for(e: &Egress) -> Vec<String> {
    let mut n = Vec::new();
    if e.id.is_none() {
        n.push("No egress ID in the input, so these lines were grouped as one egress. Pass the full `docker logs egress 2>&1` output to follow each egress by its ID.".into());
    }
    if !e.t.reached("start") {
        n.push("The request lines (`request received` / `request validated`) are not in the input: the log starts later or was filtered, so the request type and the time from request to end are unknown.".into());
    }
    if e.open_at_end && !e.status.is_terminal() {
        n.push("No terminal status (`egress_complete`, `egress_failed`, `egress_aborted` ...) appears: the egress was still running when the input ends, or the log was cut.".into());
    }
    if e.egress_lines == 0 && e.server_lines > 0 {
        n.push("Only livekit-server lines mention this egress; add the egress service's own log (`docker logs egress 2>&1`) to see why it failed there.".into());
    }
    if e.problems_dropped > 0 {
        n.push(format!(
            "{} more warning/error lines for this egress are not shown.",
            e.problems_dropped
        ));
    }
    n
}

/// Advice about the input as a whole.
pub(super) fn hints(a: &Analysis) -> Vec<String> {
    let mut h = Vec::new();
    let st = &a.stats;
    // (Lines may all have been read and found needed by no stage: that is not an empty input.)
    if st.lines == st.blank {
        h.push("No log lines in the input. Pipe the egress log in (`docker logs egress 2>&1 | egresslens`) or pass log files.".into());
        return h;
    }
    if st.binary > 0 && st.binary * 4 >= st.lines {
        h.push(format!(
            "{} of {} lines hold binary data: this does not look like a log. Was a binary or a compressed archive other than gzip passed by mistake?",
            st.binary, st.lines
        ));
    }
    if a.only_handler_lines() {
        h.push("Only lines forwarded from the egress handler process are present, none from the egress service itself (which writes its status lines to stderr). Run `docker logs egress 2>&1 | egresslens`: without `2>&1` the service's lines are lost.".into());
    }
    // (With `--egress`, the hint about the IDs says what the input holds.)
    if a.summary.egresses == 0 && a.findings.is_empty() && a.ids.other_count == 0 {
        h.push(
            "No egress activity found in the input (no request, status or egress ID lines).".into(),
        );
    }
    if st.truncated > 0 {
        h.push(format!(
            "{} overlong lines were cut at {} bytes.",
            st.truncated,
            crate::source::MAX_LINE
        ));
    }
    h
}
