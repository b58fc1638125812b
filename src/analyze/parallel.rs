//! Decoding one source on several cores: cuts its lines into chunks before lines that surely
//! start a new entry, decodes the chunks on worker threads and hands the events back in input
//! order, so the correlator sees exactly what one decoder would have produced. It does no I/O
//! beyond pulling lines from a `source` reader, and keeps no analysis state.

use crate::decode::{self, Decoder, Stats};
use crate::event::{Event, Origin};
use crate::source::LineReader;
use std::io;
use std::sync::mpsc::{self, Receiver, SyncSender};

/// Bytes of lines in a chunk before a cut is sought. Interleaved runs on 1 GB logs: 512 KiB
/// was as fast as 256 KiB or up to 10 % faster (fewer hand-overs between threads), 64 KiB
/// slower; 1 MiB no faster and 13 MiB more resident memory.
const CHUNK: usize = 512 * 1024;
/// Lines past [`CHUNK`] searched for a clean cut. Without one (an envelope format, a long
/// stack trace) the chunk is cut anyway and the next one goes to the same worker, whose
/// decoder carries on where it stopped.
const CUT_SEARCH: usize = 64;
/// Events whose parts the correlating thread fetches ahead of correlating them.
const AHEAD: usize = 16;
/// Chunks queued per worker, and decoded batches waiting per worker.
const QUEUE: usize = 2;

/// Whole lines cut from the source.
struct Chunk {
    data: Vec<u8>,
    /// Per line: end offset in `data`, line number, cut by the reader.
    lines: Vec<(usize, u64, bool)>,
    /// The next line starts a new entry (or the input ends): the decoder is flushed after
    /// this chunk, and the next chunk may go to another worker.
    clean: bool,
    /// Bytes read from the source so far.
    read: u64,
}

impl Chunk {
    fn new() -> Chunk {
        Chunk {
            data: Vec::with_capacity(CHUNK + 4096),
            lines: Vec::with_capacity(1024),
            clean: false,
            read: 0,
        }
    }
}

/// One chunk decoded.
struct Decoded {
    events: Vec<Event>,
    read: u64,
    /// The counters for this chunk's lines.
    stats: Stats,
}

/// How many decoding workers a single source gets on this machine (1: decode on one thread).
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Reads `reader` on one thread, decodes it on `workers` threads and calls `each` with every
/// event in input order, and `progress` with the bytes read since the last call. Returns the
/// decoding counters. Spent batches go back to the worker that decoded them, which frees them
/// between chunks: freeing costs about as much as correlating, the calling thread is the one
/// every event passes through, and memory freed by the thread that allocated it takes the
/// allocator's fast path.
pub fn decode_parallel(
    reader: LineReader,
    source: u32,
    workers: usize,
    decoder: &(dyn Fn() -> Decoder + Sync),
    progress: &mut dyn FnMut(u64),
    each: &mut dyn FnMut(&Event),
) -> io::Result<Stats> {
    let workers = workers.max(1);
    let container = reader.label().map(str::to_string);
    // The first chunk is read here: an input that fits in it (a paste) is decoded right away,
    // without starting threads.
    let mut reader = reader;
    let mut first = Chunk::new();
    let mut whole = false;
    while first.data.len() < CHUNK {
        let Some(line) = reader.next_line()? else {
            whole = true;
            break;
        };
        first.data.extend_from_slice(line.bytes);
        first
            .lines
            .push((first.data.len(), line.number, line.truncated));
    }
    first.read = reader.bytes_read();
    if whole {
        let mut dec = decoder();
        dec.set_default_container(container);
        decode_chunk(&mut dec, &first, source, &mut |e| each(&e));
        dec.finish(&mut |e| each(&e));
        progress(first.read);
        return Ok(dec.stats);
    }
    std::thread::scope(|scope| {
        let mut inputs = Vec::with_capacity(workers);
        let mut outputs = Vec::with_capacity(workers);
        let mut returns = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (in_tx, in_rx) = mpsc::sync_channel::<Chunk>(QUEUE);
            let (out_tx, out_rx) = mpsc::sync_channel::<Decoded>(QUEUE);
            // Unbounded, so handing a batch back never waits: a worker holds at most the
            // batches it decoded since it last took a chunk.
            let (spent_tx, spent_rx) = mpsc::channel::<Vec<Event>>();
            let t = decoder();
            let c = container.clone();
            let w = Worker {
                chunks: in_rx,
                decoded: out_tx,
                spent: spent_rx,
            };
            std::thread::Builder::new()
                .name(format!("decode-{}", inputs.len()))
                .spawn_scoped(scope, move || decode_chunks(w, t, c, source))?;
            inputs.push(in_tx);
            outputs.push(out_rx);
            returns.push(spent_tx);
        }
        // Which worker decodes each chunk, in input order (or the read error that ended it).
        let (order_tx, order_rx) = mpsc::channel::<io::Result<usize>>();
        std::thread::Builder::new()
            .name("read".into())
            .spawn_scoped(scope, move || split(reader, first, inputs, order_tx))?;

        let mut stats = Stats::default();
        let mut reported = 0;
        for next in order_rx {
            let next = next?;
            let Ok(d) = outputs[next].recv() else {
                break;
            };
            progress(d.read.saturating_sub(reported));
            reported = d.read;
            stats.merge(&d.stats);
            // Events were built on another core: the correlator's first look at each one
            // waits on memory. Touching the heap parts of the next few events in one tight
            // pass, ahead of correlating them, lets the processor fetch many at once.
            let mut sink = 0;
            for (i, ev) in d.events.iter().enumerate() {
                if i % AHEAD == 0 {
                    let window = d.events.iter().skip(i).take(2 * AHEAD);
                    sink ^= window.fold(0, |n, ev| n ^ ev.touch());
                }
                each(ev);
            }
            std::hint::black_box(sink);
            if let Err(mpsc::SendError(events)) = returns[next].send(d.events) {
                drop(events);
            }
        }
        Ok(stats)
    })
}

/// Cuts the source into chunks and deals them to the workers, telling `order` who got each.
fn split(
    mut reader: LineReader,
    first: Chunk,
    inputs: Vec<SyncSender<Chunk>>,
    order: mpsc::Sender<io::Result<usize>>,
) {
    let mut worker = 0;
    let first_end = first.lines.first().map_or(0, |&(end, _, _)| end);
    let mut envelopes = decode::EnvelopeCuts::new(&first.data[..first_end]);
    let mut start = 0;
    for &(end, _, _) in &first.lines {
        envelopes.see(&first.data[start..end]);
        start = end;
    }
    let mut chunk = first;
    let mut past = 0;
    let send = |chunk: Chunk, worker: usize| -> bool {
        inputs[worker].send(chunk).is_ok() && order.send(Ok(worker)).is_ok()
    };
    loop {
        let line = match reader.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                let _ = order.send(Err(e));
                return;
            }
        };
        if chunk.data.len() >= CHUNK {
            let clean = decode::starts_entry(line.bytes) || envelopes.clean_before(line.bytes);
            if clean || past >= CUT_SEARCH {
                chunk.clean = clean;
                let full = std::mem::replace(&mut chunk, Chunk::new());
                if !send(full, worker) {
                    return;
                }
                if clean {
                    worker = (worker + 1) % inputs.len();
                    envelopes.cut();
                }
                past = 0;
            } else {
                past += 1;
            }
        }
        envelopes.see(line.bytes);
        chunk.data.extend_from_slice(line.bytes);
        chunk
            .lines
            .push((chunk.data.len(), line.number, line.truncated));
        chunk.read = reader.bytes_read();
    }
    chunk.clean = true;
    chunk.read = reader.bytes_read();
    send(chunk, worker);
}

/// A worker's channels.
struct Worker {
    /// Chunks to decode.
    chunks: Receiver<Chunk>,
    /// Their events.
    decoded: SyncSender<Decoded>,
    /// Batches of this worker's events the correlator is done with, to free.
    spent: Receiver<Vec<Event>>,
}

/// A worker: decodes the chunks it is dealt with one decoder, flushed after clean cuts, and
/// frees the batches handed back (reusing the last one's room for the next batch).
fn decode_chunks(w: Worker, mut dec: Decoder, container: Option<String>, source: u32) {
    dec.set_default_container(container);
    let mut room: Option<Vec<Event>> = None;
    for chunk in w.chunks {
        for mut spent in w.spent.try_iter() {
            spent.clear();
            room = Some(spent);
        }
        let mut events = room
            .take()
            .unwrap_or_else(|| Vec::with_capacity(chunk.lines.len() / 2 + 8));
        decode_chunk(&mut dec, &chunk, source, &mut |e| events.push(e));
        if chunk.clean {
            dec.finish(&mut |e| events.push(e));
        }
        let stats = std::mem::take(&mut dec.stats);
        let done = Decoded {
            events,
            read: chunk.read,
            stats,
        };
        if w.decoded.send(done).is_err() {
            return;
        }
    }
}

/// Feeds a chunk's lines to `dec`.
fn decode_chunk(dec: &mut Decoder, chunk: &Chunk, source: u32, out: &mut dyn FnMut(Event)) {
    // One search of the whole chunk instead of one per line: binary bytes are rare.
    dec.set_nul_free(memchr::memchr(0, &chunk.data).is_none());
    let mut start = 0;
    for &(end, line, truncated) in &chunk.lines {
        let origin = Origin { source, line };
        dec.push(&chunk.data[start..end], origin, truncated, out);
        start = end;
    }
}
