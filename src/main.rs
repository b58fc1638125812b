//! The `egresslens` binary: parses nothing itself, runs the library and exits with its code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(egresslens::run(std::env::args_os()))
}
