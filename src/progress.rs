//! A progress bar on stderr for inputs large enough to take a moment, shown only when stderr
//! is a terminal (not a dumb one).

use std::io::IsTerminal;

/// Inputs smaller than this finish too fast for a bar to help.
const MIN_BYTES: u64 = 64 << 20;

/// A progress bar that may be disabled.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// A bar for `total` bytes (hidden when small, unknown or not on a terminal).
    pub fn new(total: u64) -> Progress {
        // A dumb terminal cannot redraw a line in place.
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        if total < MIN_BYTES || !std::io::stderr().is_terminal() || dumb {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {bar:30} {binary_bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }

    /// Counts bytes read.
    pub fn add(&mut self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.0.take() {
            b.finish_and_clear();
        }
    }
}
