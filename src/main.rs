//! The `egresslens` binary: parses nothing itself, runs the library and exits with its code.

/// mimalloc: events are built on the decoding thread and freed on the correlating one, which
/// the system allocator serialises on an arena lock (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(egresslens::run(std::env::args_os()))
}
