//! The batch driver: line readers decoded on threads of their own and merged by timestamp
//! into the [`Engine`] ([`run_readers`], [`Strategy`]; a single source goes to `parallel`). It
//! must not change the events' order by strategy: every strategy gives the same report.

use super::engine::{Engine, Options};
use super::parallel;
use super::parallel::workers;
use super::result::{Analysis, EgressResult};
use super::triage::Triage;
use crate::decode::{Decoder, Stats};
use crate::event::{Event, Origin, Ts};
use crate::rulebase::RuleSet;
use crate::source::LineReader;

/// Events decoded from one source, sent from its decoding thread in batches.
pub(super) struct Batch {
    events: Vec<Event>,
    /// Bytes read from the source so far.
    read: u64,
    /// The source's counters, in the last batch only.
    stats: Option<Stats>,
}

/// Events per batch handed from a decoding thread to the correlating thread.
pub(super) const BATCH: usize = 2048;

/// Reads and decodes one source on its own thread, sending event batches until the end.
pub(super) fn decode_source(
    idx: u32,
    mut reader: LineReader,
    mut dec: Decoder,
    tx: std::sync::mpsc::SyncSender<std::io::Result<Batch>>,
) {
    dec.set_default_container(reader.label().map(str::to_string));
    let mut events = Vec::with_capacity(BATCH);
    loop {
        match reader.next_line() {
            Ok(Some(line)) => {
                let origin = Origin {
                    source: idx,
                    line: line.number,
                };
                dec.push(line.bytes, origin, line.truncated, &mut |e| events.push(e));
                if events.len() >= BATCH {
                    let batch = Batch {
                        events: std::mem::replace(&mut events, Vec::with_capacity(BATCH)),
                        read: reader.bytes_read(),
                        stats: None,
                    };
                    if tx.send(Ok(batch)).is_err() {
                        return;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
    dec.finish(&mut |e| events.push(e));
    let _ = tx.send(Ok(Batch {
        events,
        read: reader.bytes_read(),
        stats: Some(dec.stats.clone()),
    }));
}

/// Pulls events from several sources, merged by timestamp (events without a timestamp keep
/// their place after the previous event of their source), while this thread correlates and
/// diagnoses. Several sources are each read and decoded on a thread of their own; a single
/// source is cut into chunks decoded on [`workers`] threads (see `analyze::parallel`).
pub fn run_readers(
    engine: &mut Engine<'_>,
    readers: Vec<(u32, LineReader)>,
    progress: &mut dyn FnMut(u64),
    done: &mut dyn FnMut(&EgressResult),
) -> std::io::Result<Stats> {
    run_readers_with(engine, readers, Strategy::default(), progress, done)
}

/// How the batch path reads: decoding threads for a single source, and whether lines that no
/// stage needs are skipped before decoding (the [`Triage`]). Every strategy gives the same
/// report; `tests/differential.rs` holds them to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strategy {
    /// Decoding threads for a single source (one: a decoding thread per source).
    pub workers: usize,
    /// Skip the lines the triage finds irrelevant (off: decode every line).
    pub prefilter: bool,
}

impl Default for Strategy {
    fn default() -> Strategy {
        Strategy {
            workers: workers(),
            prefilter: true,
        }
    }
}

impl Strategy {
    /// A decoder for one source (or one worker) under this strategy: both pass on the entries
    /// the [`Triage`] finds needed; with the prefilter, lines are judged from their head first
    /// and those turned down are never decoded.
    pub fn decoder(&self, rules: &RuleSet) -> Decoder {
        let triage = Box::new(Triage::new(rules));
        if self.prefilter {
            Decoder::with_triage(triage)
        } else {
            Decoder::plain(triage)
        }
    }
}

/// The decoder of the plain path (follow mode, `--no-prefilter`): every line decoded in full,
/// the entries the [`Triage`] finds needed passed on.
pub fn plain_decoder(rules: &RuleSet) -> Decoder {
    Strategy {
        workers: 1,
        prefilter: false,
    }
    .decoder(rules)
}

/// [`run_readers`] with a chosen [`Strategy`]. The events reach the engine in the same order
/// whatever the strategy.
pub fn run_readers_with(
    engine: &mut Engine<'_>,
    mut readers: Vec<(u32, LineReader)>,
    strategy: Strategy,
    progress: &mut dyn FnMut(u64),
    done: &mut dyn FnMut(&EgressResult),
) -> std::io::Result<Stats> {
    struct Src {
        rx: std::sync::mpsc::Receiver<std::io::Result<Batch>>,
        queue: std::collections::VecDeque<Event>,
        last_ts: Option<Ts>,
        eof: bool,
        reported: u64,
        stats: Stats,
    }
    // Fill one source's queue with at least one event (or reach its end).
    fn fill(s: &mut Src, progress: &mut dyn FnMut(u64)) -> std::io::Result<()> {
        while s.queue.is_empty() && !s.eof {
            match s.rx.recv() {
                Ok(Ok(batch)) => {
                    s.queue.extend(batch.events);
                    progress(batch.read.saturating_sub(s.reported));
                    s.reported = batch.read;
                    if let Some(st) = batch.stats {
                        s.stats = st;
                        s.eof = true;
                    }
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => s.eof = true,
            }
        }
        Ok(())
    }
    let rules = engine.rules();
    if readers.len() == 1 && strategy.workers > 1 {
        if let Some((idx, reader)) = readers.pop() {
            return parallel::decode_parallel(
                reader,
                idx,
                strategy.workers,
                &|| strategy.decoder(rules),
                progress,
                &mut |ev| engine.push(ev, done),
            );
        }
    }
    std::thread::scope(|scope| {
        let mut srcs: Vec<Src> = Vec::new();
        for (idx, reader) in readers {
            let (tx, rx) = std::sync::mpsc::sync_channel(4);
            let dec = strategy.decoder(rules);
            scope.spawn(move || decode_source(idx, reader, dec, tx));
            srcs.push(Src {
                rx,
                queue: Default::default(),
                last_ts: None,
                eof: false,
                reported: 0,
                stats: Stats::default(),
            });
        }
        if srcs.len() == 1 {
            let s = &mut srcs[0];
            loop {
                fill(s, progress)?;
                if s.queue.is_empty() {
                    break;
                }
                while let Some(ev) = s.queue.pop_front() {
                    engine.push(&ev, done);
                }
            }
        } else {
            loop {
                for s in srcs.iter_mut() {
                    fill(s, progress)?;
                }
                // The head with the earliest (effective) timestamp goes first.
                let pick = srcs
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| s.queue.front().map(|e| (i, e.ts.or(s.last_ts))))
                    .min_by_key(|&(i, ts)| (ts.map_or(i64::MIN, |t| t.0), i))
                    .map(|(i, _)| i);
                let Some(i) = pick else { break };
                let s = &mut srcs[i];
                if let Some(ev) = s.queue.pop_front() {
                    if ev.ts.is_some() {
                        s.last_ts = ev.ts;
                    }
                    engine.push(&ev, done);
                }
            }
        }
        let mut stats = Stats::default();
        for s in &srcs {
            stats.merge(&s.stats);
        }
        Ok(stats)
    })
}

/// Analyses bytes in memory (rule examples, tests, pastes).
pub fn analyze_bytes(rules: &RuleSet, data: &[u8], opts: Options) -> Analysis {
    let mut engine = Engine::new(rules, opts, vec!["<input>".into()]);
    let reader = LineReader::from_bytes(data.to_vec());
    let stats =
        run_readers(&mut engine, vec![(0, reader)], &mut |_| {}, &mut |_| {}).unwrap_or_default();
    engine.finish(stats)
}
