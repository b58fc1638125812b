//! A big incident report leads with what matters: on a generated log with more failures than
//! the report has room for (`MAX_REPORTED`), normal completions are neither detailed nor
//! counted as problems, the report opens with the causes by count, the detailed sections go
//! to the failures (the first of every cause before the others, even a cause that only shows
//! up after the report is full), and the "not shown" table is sorted by count.

use crate::util::run_stdin;
use egresslens::analyze::MAX_REPORTED;
use egresslens::generate::{generate, Config, LogFormat};
use egresslens::report::mermaid;

/// A generated JSON log with well over `MAX_REPORTED` failures and warnings, then one failure
/// of a cause the generator never writes, a day after the rest.
fn big_log() -> Vec<u8> {
    let mut cfg = Config::new(LogFormat::Json, 16 << 20);
    cfg.seed = 21;
    cfg.concurrency = 250;
    cfg.noise = 1;
    let mut data = Vec::with_capacity(17 << 20);
    let truth = generate(&mut data, &cfg).expect("generate into memory");
    let problems = truth.counts.failed();
    assert!(
        problems > MAX_REPORTED as u64 + 50,
        "only {problems} failures"
    );
    data.extend_from_slice(concat!(
        r#"{"level":"info","ts":1795694400.0,"logger":"egress","caller":"server/server_rpc.go:76","msg":"request validated","nodeID":"NE_8vQm3KpXz2Lr","clusterID":"","egressID":"EG_LateRtmp0001","requestType":"web","outputType":"stream","room":""}"#,
        "\n",
        r#"{"level":"info","ts":1795694448.4,"logger":"egress","caller":"info/io.go:268","msg":"egress_failed","nodeID":"NE_8vQm3KpXz2Lr","clusterID":"","egressID":"EG_LateRtmp0001","requestType":"web","outputType":"stream","error":"Connection refused: Could not connect to RTMP stream rtmp://a.rtmp.youtube.com/live2/xxxx","code":503,"details":"End reason: Failure"}"#,
        "\n",
    ).as_bytes());
    data
}

/// The rows of the first markdown table after `heading`, as cells.
fn table_after(md: &str, heading: &str) -> Vec<Vec<String>> {
    let Some(at) = md.find(heading) else {
        return Vec::new();
    };
    md[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn a_big_incident_report_leads_with_the_failures_by_cause() {
    let data = big_log();
    let r = run_stdin(&["--format", "json"], &data);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON report");
    let s = &v["summary"];
    let (failed, warnings) = (
        s["failed"].as_u64().expect("failed"),
        s["warnings"].as_u64().expect("warnings"),
    );
    let completed = s["completed"].as_u64().expect("completed");
    assert!(completed > 1000, "{s}");
    // by_rule counts the problems only: its counts add up to the failures and warnings.
    let by_rule = s["by_rule"].as_object().expect("by_rule");
    assert_eq!(
        by_rule.values().filter_map(|n| n.as_u64()).sum::<u64>(),
        failed + warnings
    );
    assert!(
        !by_rule.contains_key("room-closed-normal-end"),
        "{by_rule:?}"
    );
    // The causes, most frequent first, agree with by_rule.
    let causes = s["causes"].as_array().expect("causes");
    let counts: Vec<u64> = causes.iter().filter_map(|c| c["count"].as_u64()).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    for c in causes {
        let rule = c["rule"].as_str().expect("rule");
        assert_eq!(by_rule.get(rule), Some(&c["count"]), "{rule}");
        assert!(c["first"].as_str() <= c["last"].as_str(), "{c}");
    }
    // Only problems are listed: no normal completion without --all. The report is full, and
    // the late cause still has its example.
    let egresses = v["egresses"].as_array().expect("egresses");
    assert!(
        egresses.iter().all(|e| e["status"] != "complete"),
        "a completion is listed"
    );
    assert!(egresses.len() > MAX_REPORTED, "{} listed", egresses.len());
    assert!(egresses.len() <= MAX_REPORTED + causes.len());
    assert!(egresses.iter().any(|e| e["egress_id"] == "EG_LateRtmp0001"));
    let not_shown = s["not_shown"].as_u64().expect("not_shown");
    assert_eq!(egresses.len() as u64 + not_shown, failed + warnings);

    let md = run_stdin(&["--format", "markdown"], &data);
    assert_eq!(md.code, 1);
    let md = md.stdout;
    // It opens with the causes, then the timeline, then the egresses, then their sections.
    let at = |h: &str| md.find(h).unwrap_or_else(|| panic!("no {h:?}"));
    assert!(at("### Causes") < at("### Failures over time"));
    assert!(at("### Failures over time") < at("### Egresses in this report"));
    assert!(at("### Egresses in this report") < at("\n## Egress `"));
    assert!(at("\n## Egress `") < at("## Not shown"));
    let overview = table_after(&md, "### Causes");
    assert_eq!(overview.len(), causes.len());
    let rows: Vec<(String, u64, String)> = overview
        .iter()
        .map(|c| {
            (
                c[1].trim_matches('`').to_string(),
                c[3].parse().expect("count"),
                c[7].clone(),
            )
        })
        .collect();
    assert!(rows.windows(2).all(|w| w[0].1 >= w[1].1), "{rows:?}");
    assert_eq!(rows.iter().map(|r| r.1).sum::<u64>(), failed + warnings);
    let shares: f64 = overview
        .iter()
        .map(|c| c[4].trim_end_matches(" %").parse::<f64>().expect("share"))
        .sum();
    assert!((shares - 100.0).abs() < 0.5, "shares add up to {shares}");
    // The sections: one per egress in the table, every one a failure or a warning; the first
    // ones are each cause's example, in the overview's order.
    let table = table_after(&md, "### Egresses in this report");
    assert_eq!(table.len(), egresses.len());
    assert!(
        table.iter().all(|c| c[0] == "✖" || c[0] == "▲"),
        "only problems are detailed"
    );
    let sections: Vec<(&str, &str)> = md
        .split("\n## Egress `")
        .skip(1)
        .map(|sec| {
            let id = sec.split('`').next().unwrap_or_default();
            let rule = sec
                .split(", rule `")
                .nth(1)
                .and_then(|x| x.split('`').next())
                .unwrap_or_default();
            (id, rule)
        })
        .collect();
    assert_eq!(sections.len(), egresses.len());
    for (i, (rule, _, example)) in rows.iter().enumerate() {
        assert_eq!(sections[i].1, rule, "section {i}");
        assert_eq!(format!("`{}`", sections[i].0), *example, "section {i}");
    }
    assert!(sections
        .iter()
        .any(|(id, rule)| *id == "EG_LateRtmp0001" && *rule == "rtmp-destination-refused"));
    // What did not fit, by cause, most first; it adds up to `not_shown`.
    let rest = table_after(&md, "## Not shown");
    let left: Vec<u64> = rest
        .iter()
        .map(|c| c[2].parse().expect("not shown"))
        .collect();
    assert!(left.windows(2).all(|w| w[0] >= w[1]), "{left:?}");
    assert_eq!(left.iter().sum::<u64>(), not_shown);
    // The chart stays small and every line of it is one mermaid can read.
    let chart = md
        .split("```mermaid\n")
        .nth(1)
        .and_then(|c| c.split("```").next())
        .expect("a mermaid chart");
    let lines: Vec<&str> = chart.lines().collect();
    assert_eq!(lines[0], "gantt");
    let sections_drawn = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("section "))
        .count();
    assert_eq!(sections_drawn, causes.len().min(mermaid::MAX_CAUSES));
    let bars: Vec<&&str> = lines.iter().filter(|l| l.contains(" : ")).collect();
    assert!(bars.len() <= mermaid::MAX_CAUSES * (1 + mermaid::MAX_EGRESSES_PER_CAUSE));
    for bar in bars {
        let (name, data) = bar.split_once(" : ").expect("name : data");
        assert!(!name.contains([':', ';', '#', '%']), "{bar}");
        let parts: Vec<&str> = data.split(", ").collect();
        assert!(matches!(parts[0], "crit" | "active" | "done"), "{bar}");
        assert_eq!(parts.len(), 3, "{bar}");
        assert!(parts[1] <= parts[2], "{bar}");
    }
}

/// `--all` lists the normal completions too, after the problems, and still does not count
/// them as problems.
#[test]
fn all_lists_completions_after_the_problems() {
    let log = concat!(
        r#"{"level":"info","ts":1,"msg":"egress_complete","egressID":"EG_C1aaaaaaaaaa","error":"","code":0,"details":"End reason: Source closed"}"#,
        "\n",
        r#"{"level":"info","ts":2,"msg":"egress_failed","egressID":"EG_R1aaaaaaaaaa","error":"Connection refused: Could not connect to RTMP stream rtmp://h/live2/k","code":503,"details":"End reason: Failure"}"#,
        "\n",
    );
    let md = run_stdin(&["--format", "markdown"], log.as_bytes()).stdout;
    assert!(!md.contains("EG\\_C1aaaaaaaaaa"), "{md}");
    let md = run_stdin(&["--format", "markdown", "--all"], log.as_bytes()).stdout;
    let sections: Vec<&str> = md.split("\n## Egress `").skip(1).collect();
    assert_eq!(sections.len(), 2, "{md}");
    assert!(sections[0].starts_with("EG_R1aaaaaaaaaa"), "{md}");
    assert!(sections[1].starts_with("EG_C1aaaaaaaaaa"), "{md}");
    let v: serde_json::Value =
        serde_json::from_str(&run_stdin(&["--format", "json", "--all"], log.as_bytes()).stdout)
            .expect("JSON");
    assert_eq!(
        v["summary"]["by_rule"],
        serde_json::json!({"rtmp-destination-refused": 1})
    );
}
