//! Criterion benchmarks: decoder throughput on console and JSON lines, and the whole pipeline
//! (`analyze_bytes`: decode, correlate, rules) on generated logs, in bytes per second.
//! Inputs come from the project's own generator, so runs are comparable across machines.
//! `cargo bench --bench pipeline` (add `-- decode` or `-- pipeline` to run one group).

use criterion::{
    black_box, criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use egresslens::analyze::{analyze_bytes, Options};
use egresslens::decode::Decoder;
use egresslens::event::Origin;
use egresslens::generate::{generate, Config, LogFormat};
use egresslens::rulebase::RuleSet;
use std::time::Duration;

/// Size of the decoder inputs.
const DECODE_BYTES: u64 = 8 << 20;
/// Size of the whole-pipeline inputs (override with EGRESSLENS_BENCH_MB).
const PIPELINE_MB_DEFAULT: u64 = 24;

fn log(format: LogFormat, size: u64) -> Vec<u8> {
    let mut cfg = Config::new(format, size);
    cfg.keep_egresses = false;
    let mut out = Vec::with_capacity(size as usize + (1 << 20));
    generate(&mut out, &cfg).expect("generate in memory");
    out
}

fn decode_all(data: &[u8]) -> u64 {
    let mut dec = Decoder::new();
    let mut events = 0u64;
    let mut count = |_ev| events += 1;
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        let origin = Origin {
            source: 0,
            line: n as u64 + 1,
        };
        dec.push(line, origin, false, &mut count);
    }
    dec.finish(&mut count);
    events
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for format in [LogFormat::Console, LogFormat::Json] {
        let data = log(format, DECODE_BYTES);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(format.name()), &data, |b, d| {
            b.iter(|| black_box(decode_all(d)))
        });
    }
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let mb = std::env::var("EGRESSLENS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PIPELINE_MB_DEFAULT);
    let rules = RuleSet::load(None).expect("built-in rules");
    let mut g = c.benchmark_group("pipeline");
    // Each iteration takes around a second: flat sampling keeps the run to ~10 iterations.
    g.sampling_mode(SamplingMode::Flat);
    for format in [LogFormat::Console, LogFormat::Json] {
        let data = log(format, mb << 20);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(format.name()), &data, |b, d| {
            b.iter(|| {
                let a = analyze_bytes(&rules, d, Options::default());
                black_box(a.summary)
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    targets = decode, pipeline
}
criterion_main!(benches);
