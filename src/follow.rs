//! Follow mode: keeps reading stdin or files as they grow, reports each egress the moment it
//! ends, and flushes after every report. Wires `source` readers into the `analyze` engine;
//! formats nothing itself.

use crate::analyze::{Engine, Options};
use crate::cli::AnalyzeConfig;
use crate::error::{Error, Result, EXIT_FINDINGS, EXIT_OK};
use crate::event::Origin;
use crate::report::{self, Style};
use crate::rulebase::RuleSet;
use crate::source::Input;
use std::io::{self, Write};

/// Runs follow mode until the inputs end (stdin closed) or the process is stopped.
pub fn run(a: &AnalyzeConfig, rules: &RuleSet, style: &Style, inputs: Vec<Input>) -> Result<u8> {
    let mut readers = Vec::new();
    let mut names = Vec::new();
    for input in &inputs {
        let mut r = input.open()?;
        r.set_hold_partial(!matches!(input, Input::Stdin));
        readers.push(r);
        names.push(input.name());
    }
    let opts = Options {
        all: a.all,
        egress_ids: a.egress_ids.clone(),
    };
    let mut engine = Engine::new(rules, opts, names.clone());
    let mut decoders: Vec<crate::decode::Decoder> = (0..readers.len())
        .map(|_| crate::decode::Decoder::new())
        .collect();
    let stdout = io::stdout();
    let failures = std::cell::Cell::new(0u64);
    let write_err: std::cell::RefCell<Option<io::Error>> = std::cell::RefCell::new(None);
    let report_now = |r: &crate::analyze::EgressResult, sources: &[String]| {
        if r.is_failure() {
            failures.set(failures.get() + 1);
        }
        if write_err.borrow().is_some() {
            return;
        }
        let mut w = stdout.lock();
        if let Err(e) = report::write_egress_now(r, sources, style, &mut w).and_then(|_| w.flush())
        {
            *write_err.borrow_mut() = Some(e);
        }
    };
    loop {
        let mut progressed = false;
        for (i, r) in readers.iter_mut().enumerate() {
            while let Some(line) = r.next_line().map_err(|source| Error::Input {
                path: names[i].clone(),
                source,
            })? {
                progressed = true;
                let origin = Origin {
                    source: i as u32,
                    line: line.number,
                };
                let mut evs = Vec::new();
                decoders[i].push(line.bytes, origin, line.truncated, &mut |e| evs.push(e));
                for ev in evs {
                    let sources = engine.sources().to_vec();
                    engine.push(ev, &mut |res| report_now(res, &sources));
                }
                if !matches!(inputs[i], Input::Stdin) || r.at_eof() {
                    break;
                }
            }
        }
        if let Some(e) = write_err.borrow_mut().take() {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(EXIT_OK);
            }
            return Err(Error::Output {
                path: "<stdout>".into(),
                source: e,
            });
        }
        let all_stdin_closed = inputs
            .iter()
            .zip(&readers)
            .all(|(inp, r)| matches!(inp, Input::Stdin) && r.at_eof());
        if all_stdin_closed {
            break;
        }
        if !progressed {
            // Idle: emit what is held back, then wait for more data.
            for (i, d) in decoders.iter_mut().enumerate() {
                let _ = i;
                let mut evs = Vec::new();
                d.finish(&mut |e| evs.push(e));
                for ev in evs {
                    let sources = engine.sources().to_vec();
                    engine.push(ev, &mut |res| report_now(res, &sources));
                }
            }
            let sources = engine.sources().to_vec();
            engine.flush_ended(&mut |res| report_now(res, &sources));
            std::thread::sleep(std::time::Duration::from_millis(200));
            for r in readers.iter_mut() {
                r.resume();
            }
        }
    }
    let mut evs = Vec::new();
    for d in decoders.iter_mut() {
        d.finish(&mut |e| evs.push(e));
    }
    let sources = engine.sources().to_vec();
    for ev in evs {
        engine.push(ev, &mut |res| report_now(res, &sources));
    }
    let analysis = engine.finish(crate::decode::Stats::default());
    for r in &analysis.egresses {
        if r.egress.open_at_end {
            report_now(r, &analysis.sources);
        }
    }
    let _ = stdout.lock().flush();
    Ok(if failures.get() > 0 && !a.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
