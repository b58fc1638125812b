//! Writes a synthetic egress log: `cargo run --release --example genlog -- --format console|json
//! --size 1G --seed 1 -o /tmp/x.log`, and prints the ground-truth counts to stderr.

use egresslens::generate::{generate, parse_size, Config, LogFormat, Outcome};
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: genlog [--format console|json] [--size N[k|M|G]] [--seed N] [--concurrency N] [--noise N] [--server-lines] [-o FILE]
  --format       zap encoder to imitate (default: console)
  --size         target size, K/M/G are powers of 1024 (default: 100M)
  --seed         PRNG seed; the same seed gives the same file (default: 1)
  --concurrency  egresses open at once (default: 300)
  --noise        mean periodic lines per active egress (default: 16)
  --server-lines also interleave livekit-server lines about each egress
  -o, --output   output file (default: stdout)";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genlog: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut cfg = Config::new(LogFormat::Console, 100 << 20);
    cfg.keep_egresses = false;
    let mut output: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--format" => {
                let v = value("--format")?;
                cfg.format = LogFormat::parse(&v).ok_or(format!("unknown format {v:?}"))?;
            }
            "--size" => {
                let v = value("--size")?;
                cfg.size = parse_size(&v).ok_or(format!("bad size {v:?}"))?;
            }
            "--seed" => cfg.seed = num(&value("--seed")?)?,
            "--concurrency" => cfg.concurrency = num(&value("--concurrency")?)? as usize,
            "--noise" => cfg.noise = num(&value("--noise")?)?,
            "--server-lines" => cfg.server_lines = true,
            "-o" | "--output" => output = Some(value("-o")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let started = std::time::Instant::now();
    let truth = match &output {
        Some(path) => {
            let mut f = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
            generate(&mut f, &cfg).map_err(|e| format!("{path}: {e}"))?
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            let t = generate(&mut lock, &cfg).map_err(|e| format!("<stdout>: {e}"))?;
            lock.flush().map_err(|e| format!("<stdout>: {e}"))?;
            t
        }
    };
    let c = &truth.counts;
    let secs = started.elapsed().as_secs_f64();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "format={} seed={} bytes={} lines={} egresses={} complete={} failed={} aborted={} limit_reached={} peak_open={} stack_lines={} node_lines={} ({:.1} MB/s)",
        cfg.format.name(),
        cfg.seed,
        c.bytes,
        c.lines,
        c.egresses,
        c.status("complete"),
        c.status("failed"),
        c.status("aborted"),
        c.status("limit_reached"),
        c.peak_open,
        c.stack_lines,
        c.node_lines,
        c.bytes as f64 / 1e6 / secs.max(1e-9),
    );
    for o in Outcome::ALL {
        let _ = writeln!(
            err,
            "  {:<22} {:>9}  status={} code={}",
            o.name(),
            c.outcome(o),
            o.status(),
            o.code()
        );
    }
    Ok(())
}

fn num(s: &str) -> Result<u64, String> {
    s.trim().parse().map_err(|_| format!("not a number: {s:?}"))
}
