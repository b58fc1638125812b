//! Synthetic LiveKit Egress logs for tests and benchmarks: writes a deterministic (seeded) log
//! in zap console or JSON form, of a target size, with many interleaved egresses that follow the
//! lifecycles of the reference, and returns the ground truth (each egress's final status, error
//! and code). It only produces data: it must not read input or call the analysis stages.

use std::io::{self, Write};

/// Seconds since the epoch of the first generated line: 2026-11-25T08:00:00Z.
const START_EPOCH_SECS: i64 = 1_795_593_600;
/// Bytes per line assumed before any line was written (for the size estimate).
const FIRST_LINE_GUESS: u64 = 320;

/// A tiny xorshift64 generator: deterministic for a seed, no dependency, good enough for
/// shaping test data (not for anything that needs real randomness).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        let s = mix64(seed ^ 0x9E37_79B9_7F4A_7C15);
        Rng(if s == 0 { 0x2545_F491_4F6C_DD1D } else { s })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// One of `items`, picked by weight.
    fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.below(total);
        for &(item, w) in items {
            if r < w {
                return item;
            }
            r -= w;
        }
        items[items.len() - 1].0
    }

    /// One of `items`, uniformly.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// SplitMix64's finalizer: a bijection on `u64` (so distinct inputs give distinct outputs).
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const SHORTUUID: &[u8; 57] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// A LiveKit-style ID: `prefix` + 12 shortuuid characters, unique per `(n, salt)`: the last 11
/// characters encode a bijective mix of `n` (57^11 > 2^64), the first one is a hash of it.
fn guid(prefix: &str, n: u64, salt: u64) -> String {
    let mut v = mix64(n ^ mix64(salt));
    let mut digits = [0u8; 12];
    digits[0] = SHORTUUID[(mix64(v) % 57) as usize];
    for d in digits[1..].iter_mut().rev() {
        *d = SHORTUUID[(v % 57) as usize];
        v /= 57;
    }
    let mut s = String::with_capacity(prefix.len() + 12);
    s.push_str(prefix);
    s.extend(digits.iter().map(|&c| char::from(c)));
    s
}

/// Which zap encoder to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// zap development encoder (the egress default): tab-separated columns and a spaced JSON object.
    Console,
    /// zap production encoder (`logging.json: true`): one compact JSON object per line.
    Json,
}

impl LogFormat {
    /// Parses `console` or `json`.
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "console" => Some(LogFormat::Console),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }

    /// `console` or `json`.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Console => "console",
            LogFormat::Json => "json",
        }
    }
}

/// How a generated egress ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// `egress_complete`, code 0.
    Complete,
    /// `egress_aborted` `Start signal not received` 412: no start signal, no `pipeline playing`.
    StartSignalNotReceived,
    /// `egress_failed` `S3 upload failed: ... StatusCode: 403 ...` 400, at the end of a file egress.
    S3UploadFailed,
    /// `egress_failed` `pipeline frozen` 500 after `controller onError invoked` (with a stack).
    PipelineFrozen,
    /// `egress_limit_reached` `Session limit reached` 413.
    LimitReached,
    /// `egress_aborted` `Stop called before pipeline could start` 412.
    StopBeforeStart,
}

const S3_403: &str = "S3 upload failed: operation error S3: PutObject, https response error StatusCode: 403, RequestID: 8F3K2J9QZ1X7V4NB, HostID: t7Yb2mQ0cXo1Rk3Jd9LwV5eHs8ZpN4uA6gFiC0yTqW=, api error AccessDenied: Access Denied";

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Outcome; 6] = [
        Outcome::Complete,
        Outcome::StartSignalNotReceived,
        Outcome::S3UploadFailed,
        Outcome::PipelineFrozen,
        Outcome::LimitReached,
        Outcome::StopBeforeStart,
    ];

    /// Share of each outcome, per mille: mostly completions.
    const MIX: [(Outcome, u64); 6] = [
        (Outcome::Complete, 780),
        (Outcome::StartSignalNotReceived, 70),
        (Outcome::S3UploadFailed, 40),
        (Outcome::PipelineFrozen, 30),
        (Outcome::LimitReached, 50),
        (Outcome::StopBeforeStart, 30),
    ];

    /// Index into [`Outcome::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Short name (`complete`, `start-signal-412` ...).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Complete => "complete",
            Outcome::StartSignalNotReceived => "start-signal-412",
            Outcome::S3UploadFailed => "s3-upload-403",
            Outcome::PipelineFrozen => "pipeline-frozen-500",
            Outcome::LimitReached => "limit-reached-413",
            Outcome::StopBeforeStart => "stop-before-start-412",
        }
    }

    /// The final status as in the JSON report (`complete`, `failed`, `aborted`, `limit_reached`).
    pub fn status(self) -> &'static str {
        match self {
            Outcome::Complete => "complete",
            Outcome::StartSignalNotReceived | Outcome::StopBeforeStart => "aborted",
            Outcome::S3UploadFailed | Outcome::PipelineFrozen => "failed",
            Outcome::LimitReached => "limit_reached",
        }
    }

    /// The status code of the terminal line.
    pub fn code(self) -> i64 {
        match self {
            Outcome::Complete => 0,
            Outcome::StartSignalNotReceived | Outcome::StopBeforeStart => 412,
            Outcome::S3UploadFailed => 400,
            Outcome::PipelineFrozen => 500,
            Outcome::LimitReached => 413,
        }
    }

    /// The `error` of the terminal line (empty for a completion).
    pub fn error(self) -> &'static str {
        match self {
            Outcome::Complete => "",
            Outcome::StartSignalNotReceived => "Start signal not received",
            Outcome::S3UploadFailed => S3_403,
            Outcome::PipelineFrozen => "pipeline frozen",
            Outcome::LimitReached => "Session limit reached",
            Outcome::StopBeforeStart => "Stop called before pipeline could start",
        }
    }

    /// True for every outcome but a completion.
    pub fn is_failure(self) -> bool {
        self != Outcome::Complete
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    pub format: LogFormat,
    /// Target size in bytes. New egresses stop once the open ones are expected to fill it, and
    /// every egress is finished, so the result is within a few percent of it.
    pub size: u64,
    pub seed: u64,
    /// Egresses open at once (in steady state).
    pub concurrency: usize,
    /// Mean periodic lines (stats, resource usage, GStreamer warnings) per active egress.
    pub noise: u64,
    /// Also interleave livekit-server lines (`API Egress.*`, `starting RTC session`, `sent webhook`).
    pub server_lines: bool,
    /// Keep the per-egress ground truth; `false` keeps only counts (flat memory for huge files).
    pub keep_egresses: bool,
}

impl Config {
    /// Defaults: seed 1, 300 egresses open at once, 16 periodic lines per egress, no
    /// livekit-server lines, per-egress truth kept.
    pub fn new(format: LogFormat, size: u64) -> Config {
        Config {
            format,
            size,
            seed: 1,
            concurrency: 300,
            noise: 16,
            server_lines: false,
            keep_egresses: true,
        }
    }
}

/// The ground truth about one generated egress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub egress_id: String,
    pub outcome: Outcome,
    pub request_type: &'static str,
    pub output_type: &'static str,
    /// `None` for web egresses (their request names no room).
    pub room: Option<String>,
    /// The `details` of the terminal line.
    pub details: &'static str,
}

impl Expected {
    /// Final status as in the JSON report.
    pub fn status(&self) -> &'static str {
        self.outcome.status()
    }

    /// Code of the terminal line.
    pub fn code(&self) -> i64 {
        self.outcome.code()
    }

    /// Error of the terminal line (empty for a completion).
    pub fn error(&self) -> &'static str {
        self.outcome.error()
    }
}

/// Counts over the whole generated log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Egresses generated (all of them reach a terminal status).
    pub egresses: u64,
    /// Egresses per outcome, indexed by [`Outcome::index`].
    pub by_outcome: [u64; 6],
    /// Physical lines written (stack trace lines included).
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Raw Go stack lines written after ERROR entries (console only).
    pub stack_lines: u64,
    /// Lines about the node rather than one egress (startup, `cpu check`, `high cpu usage`).
    pub node_lines: u64,
    /// Most egresses open at once.
    pub peak_open: usize,
}

impl Counts {
    /// Egresses with this outcome.
    pub fn outcome(&self, o: Outcome) -> u64 {
        self.by_outcome[o.index()]
    }

    /// Egresses that completed normally.
    pub fn complete(&self) -> u64 {
        self.outcome(Outcome::Complete)
    }

    /// Egresses that ended failed, aborted or at their limit.
    pub fn failed(&self) -> u64 {
        self.egresses - self.complete()
    }

    /// Egresses per report status (`complete`, `failed`, `aborted`, `limit_reached`).
    pub fn status(&self, status: &str) -> u64 {
        Outcome::ALL
            .iter()
            .filter(|o| o.status() == status)
            .map(|o| self.outcome(*o))
            .sum()
    }
}

/// What [`generate`] returns.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    pub counts: Counts,
    /// Every egress in the order its terminal line was written (empty unless
    /// [`Config::keep_egresses`]).
    pub egresses: Vec<Expected>,
}

/// Writes a log as `cfg` asks and returns what it holds.
pub fn generate(w: &mut dyn Write, cfg: &Config) -> io::Result<Truth> {
    let mut out = io::BufWriter::with_capacity(1 << 18, w);
    let mut g = Gen::new(&mut out, cfg);
    g.startup()?;
    let mut open: Vec<Live> = Vec::new();
    let mut remaining: u64 = 0;
    let mut starting = true;
    let mut serial: u64 = 0;
    loop {
        if starting {
            let per_line = if g.truth.counts.lines >= 64 {
                g.truth.counts.bytes / g.truth.counts.lines
            } else {
                FIRST_LINE_GUESS
            };
            starting = g.truth.counts.bytes + remaining * per_line < cfg.size;
        }
        if !starting && open.is_empty() {
            break;
        }
        if g.rng.chance(20) {
            g.node_noise(open.len())?;
            continue;
        }
        if starting && open.len() < cfg.concurrency.max(1) && (open.is_empty() || g.rng.chance(500))
        {
            let e = g.new_egress(serial);
            serial += 1;
            remaining += e.plan.len() as u64;
            open.push(e);
            g.truth.counts.peak_open = g.truth.counts.peak_open.max(open.len());
        }
        let i = g.rng.below(open.len() as u64) as usize;
        let n_open = open.len();
        g.step(&mut open[i], n_open)?;
        remaining = remaining.saturating_sub(1);
        if open[i].plan.get(open[i].pos.wrapping_sub(1)) == Some(&Step::Terminal) {
            // The service writes the rest (webhook, metrics, cleanup) within milliseconds of
            // the status line, before other egresses get many lines in.
            while open[i].pos < open[i].plan.len() {
                g.step(&mut open[i], n_open)?;
                remaining = remaining.saturating_sub(1);
            }
        }
        if open[i].pos >= open[i].plan.len() {
            open.swap_remove(i);
        }
    }
    let truth = std::mem::take(&mut g.truth);
    out.flush()?;
    Ok(truth)
}

/// Which request the egress serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    RoomComposite,
    Web,
    Track,
    TrackComposite,
    Participant,
}

impl Kind {
    const MIX: [(Kind, u64); 5] = [
        (Kind::RoomComposite, 35),
        (Kind::Web, 10),
        (Kind::Track, 15),
        (Kind::TrackComposite, 15),
        (Kind::Participant, 25),
    ];

    fn request_type(self) -> &'static str {
        match self {
            Kind::RoomComposite => "room_composite",
            Kind::Web => "web",
            Kind::Track => "track",
            Kind::TrackComposite => "track_composite",
            Kind::Participant => "participant",
        }
    }

    /// Chrome-based (start signal = `chrome: START_RECORDING`) rather than SDK.
    fn is_web(self) -> bool {
        matches!(self, Kind::RoomComposite | Kind::Web)
    }

    fn source_type(self) -> &'static str {
        if self.is_web() {
            "EGRESS_SOURCE_TYPE_WEB"
        } else {
            "EGRESS_SOURCE_TYPE_SDK"
        }
    }

    fn api_method(self) -> &'static str {
        match self {
            Kind::RoomComposite => "StartRoomCompositeEgress",
            Kind::Web => "StartWebEgress",
            Kind::Track => "StartTrackEgress",
            Kind::TrackComposite => "StartTrackCompositeEgress",
            Kind::Participant => "StartParticipantEgress",
        }
    }
}

/// One planned line (or short group of lines) of an egress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    ApiStart,
    CpuCheck,
    Received,
    Validated,
    Launched,
    HandlerReady,
    LaunchChrome,
    ChromeInit,
    ConnectRoom,
    Subscribe(u8),
    RtcSession,
    WaitStart,
    StartRecording,
    Playing,
    Active,
    WebhookActive,
    Noise,
    ApiStop,
    Stopping,
    Ending,
    EndRecording,
    Eos,
    StorageLimit,
    UploadDone,
    UploadFailed,
    EosTimer,
    OnError,
    SlowClose,
    HandlerFinished,
    Terminal,
    WebhookEnded,
    Metrics,
    ProcessFinished,
}

/// An egress being written.
struct Live {
    id: String,
    handler: String,
    kind: Kind,
    output: &'static str,
    outcome: Outcome,
    room: String,
    room_id: String,
    tracks: [String; 2],
    /// End reason of the stop (`StopEgress API`, `Source closed`, `Session limit reached`).
    reason: &'static str,
    plan: Vec<Step>,
    pos: usize,
}

impl Live {
    fn details(&self) -> &'static str {
        match (self.outcome, self.reason) {
            (Outcome::LimitReached, _) => "End reason: Session limit reached",
            (_, "Source closed") => "End reason: Source closed",
            _ => "End reason: StopEgress API",
        }
    }

    fn room_field(&self) -> &str {
        if self.kind == Kind::Web {
            ""
        } else {
            &self.room
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Lvl {
    Debug,
    Info,
    Warn,
    Error,
}

impl Lvl {
    fn upper(self) -> &'static str {
        match self {
            Lvl::Debug => "DEBUG",
            Lvl::Info => "INFO",
            Lvl::Warn => "WARN",
            Lvl::Error => "ERROR",
        }
    }

    fn lower(self) -> &'static str {
        match self {
            Lvl::Debug => "debug",
            Lvl::Info => "info",
            Lvl::Warn => "warn",
            Lvl::Error => "error",
        }
    }
}

/// Logger context (`WithValues`) fields, written before the call-site fields.
#[derive(Clone, Copy)]
enum Ctx<'a> {
    /// livekit-server lines in this generator carry no context.
    None,
    /// The egress service: `nodeID`, `clusterID`.
    Service,
    /// A handler process: `nodeID`, `handlerID`, `clusterID`, `egressID`.
    Handler { handler: &'a str, egress: &'a str },
}

/// A field value, encoded as zap does in each format.
#[derive(Clone, Copy)]
enum V<'a> {
    S(&'a str),
    I(i64),
    F(f64),
    B(bool),
    /// Already-encoded compact JSON (zap `Reflect` through `encoding/json`).
    Raw(&'a str),
    /// A duration in microseconds: `"1.82s"` in console, `1.82` (seconds) in JSON.
    Dur(i64),
}

type Fields<'a> = &'a [(&'a str, V<'a>)];

struct Entry<'a> {
    level: Lvl,
    logger: &'a str,
    /// `None` for GStreamer lines (their logger has no caller).
    caller: Option<&'a str>,
    msg: &'a str,
    ctx: Ctx<'a>,
    fields: Fields<'a>,
    /// A zap stack trace (`\n`-separated frames) for ERROR entries.
    stack: Option<&'a str>,
}

const FROZEN_STACK: &str = "github.com/livekit/protocol/logger.(*zapLogger).Errorw\n\t/go/pkg/mod/github.com/livekit/protocol@v1.40.0/logger/logger.go:371\ngithub.com/livekit/egress/pkg/pipeline.(*Controller).OnError\n\t/workspace/pkg/pipeline/controller.go:587\ngithub.com/livekit/egress/pkg/pipeline.(*Controller).SendEOS.func1\n\t/workspace/pkg/pipeline/controller.go:566\ntime.goFunc\n\t/usr/local/go/src/time/sleep.go:215\nruntime.goexit\n\t/usr/local/go/src/runtime/asm_amd64.s:1700";

const GST_WARNINGS: [(&str, &str); 3] = [
    (
        "[basesink warning] gst_base_sink_is_too_late: A lot of buffers are being dropped.",
        "gstbasesink.c:3143",
    ),
    (
        "[GST_PADS warning] gst_pad_push_event_unchecked: Got data flow before segment event",
        "gstpad.c:5807",
    ),
    (
        "[aggregator warning] gst_aggregator_query_latency_unlocked: Latency query failed on a live source",
        "gstaggregator.c:2197",
    ),
];

struct Gen<'w> {
    out: &'w mut dyn Write,
    cfg: Config,
    rng: Rng,
    buf: Vec<u8>,
    /// Current time, microseconds since the epoch.
    now: i64,
    node: String,
    lk_node: String,
    truth: Truth,
    /// Cached `YYYY-MM-DD` for the day `day_cache.0`.
    day_cache: (i64, String),
}

impl<'w> Gen<'w> {
    fn new(out: &'w mut dyn Write, cfg: &Config) -> Gen<'w> {
        Gen {
            out,
            cfg: cfg.clone(),
            rng: Rng::new(cfg.seed),
            buf: Vec::with_capacity(4096),
            now: START_EPOCH_SECS * 1_000_000,
            node: guid("NE_", 0, cfg.seed ^ 0x4E45),
            lk_node: guid("ND_", 0, cfg.seed ^ 0x4E44),
            truth: Truth::default(),
            day_cache: (i64::MIN, String::new()),
        }
    }

    fn startup(&mut self) -> io::Result<()> {
        let s = Ctx::Service;
        let startup: [(Lvl, &str, &str, Fields); 5] = [
            (
                Lvl::Info,
                "redis/redis.go:101",
                "connecting to redis",
                &[("simple", V::B(true)), ("addr", V::S("redis:6379"))],
            ),
            (
                Lvl::Info,
                "stats/monitor.go:184",
                "cpu available: 8.000000 max cost: 4.000000",
                &[],
            ),
            (
                Lvl::Debug,
                "server/server.go:149",
                "starting template server on address localhost:7980",
                &[],
            ),
            (
                Lvl::Debug,
                "server/server.go:157",
                "starting service",
                &[("version", V::S("1.14.1"))],
            ),
            (Lvl::Info, "server/server.go:163", "service ready", &[]),
        ];
        for (level, caller, msg, fields) in startup {
            self.truth.counts.node_lines += 1;
            self.emit(&Entry {
                level,
                logger: "egress",
                caller: Some(caller),
                msg,
                ctx: s,
                fields,
                stack: None,
            })?;
        }
        Ok(())
    }

    fn node_noise(&mut self, open: usize) -> io::Result<()> {
        self.truth.counts.node_lines += 1;
        if self.rng.chance(150) {
            let cpu = self.rng.range(900, 990) as f64 / 1000.0;
            return self.emit(&Entry {
                level: Lvl::Warn,
                logger: "egress",
                caller: Some("stats/monitor.go:785"),
                msg: "high cpu usage",
                ctx: Ctx::Service,
                fields: &[("cpu", V::F(cpu)), ("requests", V::I(open as i64))],
                stack: None,
            });
        }
        self.cpu_check(open)
    }

    fn cpu_check(&mut self, open: usize) -> io::Result<()> {
        let used = self.rng.range(50, 640) as f64 / 100.0;
        let available = ((800.0 - used * 100.0) / 100.0 * 100.0).round() / 100.0;
        let memory = self.rng.range(80, 900) as f64 / 100.0;
        self.emit(&Entry {
            level: Lvl::Debug,
            logger: "egress",
            caller: Some("stats/monitor.go:194"),
            msg: "cpu check",
            ctx: Ctx::Service,
            fields: &[
                ("total", V::I(8)),
                ("available", V::F(available)),
                ("pending", V::I(0)),
                ("used", V::F(used)),
                ("activeRequests", V::I(open as i64)),
                ("activeWeb", V::I((open / 3) as i64)),
                ("memory", V::F(memory)),
                ("memorySource", V::S("proc_rss")),
                ("required", V::I(4)),
                ("canAccept", V::B(true)),
            ],
            stack: None,
        })
    }

    fn new_egress(&mut self, n: u64) -> Live {
        let seed = self.cfg.seed;
        let kind = self.rng.weighted(&Kind::MIX);
        let outcome = self.rng.weighted(&Outcome::MIX);
        let output = if outcome == Outcome::S3UploadFailed {
            "file"
        } else {
            self.rng.weighted(&[
                ("file", 55),
                ("stream", 20),
                ("segments", 20),
                ("multiple", 5),
            ])
        };
        let reason = match outcome {
            Outcome::LimitReached => "Session limit reached",
            Outcome::Complete if self.rng.chance(300) => "Source closed",
            _ => "StopEgress API",
        };
        let room_no = self.rng.below(5000);
        let mut live = Live {
            id: guid("EG_", n, seed),
            handler: guid("EGH_", n, seed ^ 0x48),
            kind,
            output,
            outcome,
            room: format!("room-{room_no}"),
            room_id: guid("RM_", room_no, seed ^ 0x52),
            tracks: [
                guid("TR_", n.wrapping_mul(2), seed ^ 0x54),
                guid("TR_", n.wrapping_mul(2) + 1, seed ^ 0x54),
            ],
            reason,
            plan: Vec::new(),
            pos: 0,
        };
        live.plan = self.plan(&live);
        live
    }

    fn plan(&mut self, e: &Live) -> Vec<Step> {
        let server = self.cfg.server_lines;
        let web = e.kind.is_web();
        let mut p = Vec::with_capacity(24 + self.cfg.noise as usize * 2);
        if server {
            p.push(Step::ApiStart);
        }
        p.extend([
            Step::CpuCheck,
            Step::Received,
            Step::Validated,
            Step::Launched,
            Step::HandlerReady,
        ]);
        if web {
            p.extend([Step::LaunchChrome, Step::ChromeInit]);
        } else {
            p.push(Step::ConnectRoom);
            p.push(Step::Subscribe(0));
            if e.kind == Kind::TrackComposite || self.rng.chance(400) {
                p.push(Step::Subscribe(1));
            }
        }
        if server && e.kind != Kind::Web {
            // The recorder (SDK, or Chrome running the room template) joins the room as a
            // participant whose identity is the egress ID.
            p.push(Step::RtcSession);
        }
        p.push(Step::WaitStart);
        let noise = |rng: &mut Rng, p: &mut Vec<Step>, mean: u64| {
            for _ in 0..rng.range(mean / 2, mean + mean / 2) {
                p.push(Step::Noise);
            }
        };
        match e.outcome {
            Outcome::StartSignalNotReceived => {
                // Waits without a start signal until stopped: no playing, no ending.
                noise(&mut self.rng, &mut p, 1);
                if server {
                    p.push(Step::ApiStop);
                }
                p.extend([Step::HandlerFinished, Step::Terminal]);
                if server {
                    p.push(Step::WebhookEnded);
                }
                p.push(Step::ProcessFinished);
                return p;
            }
            Outcome::StopBeforeStart => {
                if web {
                    p.push(Step::StartRecording);
                }
                if server {
                    p.push(Step::ApiStop);
                }
                p.extend([Step::Stopping, Step::HandlerFinished, Step::Terminal]);
                if server {
                    p.push(Step::WebhookEnded);
                }
                p.push(Step::ProcessFinished);
                return p;
            }
            _ => {}
        }
        if web {
            p.push(Step::StartRecording);
        }
        p.extend([Step::Playing, Step::Active]);
        if server {
            p.push(Step::WebhookActive);
        }
        noise(&mut self.rng, &mut p, self.cfg.noise);
        if e.outcome == Outcome::LimitReached && self.rng.chance(500) {
            p.push(Step::StorageLimit);
        }
        if server && e.reason == "StopEgress API" {
            p.push(Step::ApiStop);
        }
        p.extend([Step::Stopping, Step::Ending]);
        if web {
            p.push(Step::EndRecording);
        }
        match e.outcome {
            Outcome::PipelineFrozen => p.extend([Step::EosTimer, Step::OnError]),
            Outcome::S3UploadFailed => p.extend([Step::Eos, Step::UploadFailed]),
            _ => {
                p.push(Step::Eos);
                if e.output != "stream" {
                    p.push(Step::UploadDone);
                }
            }
        }
        if self.rng.chance(100) {
            p.push(Step::SlowClose);
        }
        p.extend([Step::HandlerFinished, Step::Terminal]);
        if server {
            p.push(Step::WebhookEnded);
        }
        p.extend([Step::Metrics, Step::ProcessFinished]);
        p
    }

    /// Writes the next planned line(s) of `e`.
    fn step(&mut self, e: &mut Live, open: usize) -> io::Result<()> {
        let Some(&step) = e.plan.get(e.pos) else {
            return Ok(());
        };
        e.pos += 1;
        let hdl = Ctx::Handler {
            handler: &e.handler,
            egress: &e.id,
        };
        let svc = Ctx::Service;
        let id = V::S(&e.id);
        let rt = V::S(e.kind.request_type());
        let ot = V::S(e.output);
        let info = |caller, msg, ctx, fields| Entry {
            level: Lvl::Info,
            logger: "egress",
            caller: Some(caller),
            msg,
            ctx,
            fields,
            stack: None,
        };
        let debug = |caller, msg, ctx, fields| Entry {
            level: Lvl::Debug,
            logger: "egress",
            caller: Some(caller),
            msg,
            ctx,
            fields,
            stack: None,
        };
        match step {
            Step::ApiStart => {
                let method = format!("API Egress.{}", e.kind.api_method());
                let dur = self.rng.range(3_000, 40_000) as i64;
                self.emit(&Entry {
                    level: Lvl::Info,
                    logger: "livekit.api",
                    caller: Some("service/twirp.go:150"),
                    msg: &method,
                    ctx: Ctx::None,
                    fields: &[
                        ("service", V::S("Egress")),
                        ("method", V::S(e.kind.api_method())),
                        ("egressID", id),
                        ("room", V::S(e.room_field())),
                        ("outputType", ot),
                        ("duration", V::Dur(dur)),
                        ("status", V::S("200")),
                    ],
                    stack: None,
                })
            }
            Step::CpuCheck => self.cpu_check(open),
            Step::Received => self.emit(&info(
                "server/server_rpc.go:66",
                "request received",
                svc,
                &[("egressID", id)],
            )),
            Step::Validated => {
                let request = request_json(e);
                self.emit(&info(
                    "server/server_rpc.go:76",
                    "request validated",
                    svc,
                    &[
                        ("egressID", id),
                        ("requestType", rt),
                        ("sourceType", V::S(e.kind.source_type())),
                        ("outputType", ot),
                        ("room", V::S(e.room_field())),
                        ("request", V::Raw(&request)),
                        ("syncEngine", V::B(false)),
                    ],
                ))
            }
            Step::Launched => self.emit(&debug("server/main.go:181", "handler launched", hdl, &[])),
            Step::HandlerReady => self.emit(&debug(
                "server/server_ipc.go:31",
                "handler ready",
                svc,
                &[("egressID", id)],
            )),
            Step::LaunchChrome => {
                let url = format!(
                    "http://localhost:7980/?layout=grid&url=ws%3A%2F%2Flivekit%3A7880&token=eyJhbGciOiJIUzI1NiJ9.eyJ2aWRlbyI6eyJyb29tIjoi{}In19.c2lnbmF0dXJl",
                    e.room
                );
                self.emit(&debug(
                    "source/web.go:226",
                    "launching chrome",
                    hdl,
                    &[
                        ("url", V::S(&url)),
                        ("sandbox", V::B(false)),
                        ("insecure", V::B(true)),
                    ],
                ))
            }
            Step::ChromeInit => {
                self.emit(&debug("source/web.go:354", "chrome initialized", hdl, &[]))
            }
            Step::ConnectRoom => {
                self.emit(&debug("source/sdk.go:274", "connecting to room", hdl, &[]))
            }
            Step::Subscribe(t) => self.emit(&info(
                "source/sdk.go:652",
                "subscribing to track",
                hdl,
                &[("trackID", V::S(&e.tracks[usize::from(t) % 2]))],
            )),
            Step::RtcSession => {
                let pid = guid("PA_", self.rng.next_u64(), 0);
                let lk_node = self.lk_node.clone();
                let participants = self.rng.range(1, 6) as i64;
                self.emit(&Entry {
                    level: Lvl::Info,
                    logger: "livekit",
                    caller: Some("service/roommanager.go:427"),
                    msg: "starting RTC session",
                    ctx: Ctx::None,
                    fields: &[
                        ("room", V::S(&e.room)),
                        ("roomID", V::S(&e.room_id)),
                        ("participant", id),
                        ("participantID", V::S(&pid)),
                        ("remote", V::B(false)),
                        ("nodeID", V::S(&lk_node)),
                        ("numParticipants", V::I(participants)),
                    ],
                    stack: None,
                })
            }
            Step::WaitStart => self.emit(&debug(
                "pipeline/controller.go:288",
                "waiting for start signal",
                hdl,
                &[],
            )),
            Step::StartRecording => self.emit(&info(
                "source/web.go:324",
                "chrome: START_RECORDING",
                hdl,
                &[],
            )),
            Step::Playing => {
                let ttp = self.rng.range(600_000, 4_500_000) as i64 / 1000 * 1000;
                self.emit(&info(
                    "pipeline/watch.go:275",
                    "pipeline playing",
                    hdl,
                    &[("timeToPlaying", V::Dur(ttp))],
                ))
            }
            Step::Active | Step::Ending => {
                let (msg, details) = if step == Step::Active {
                    ("egress_active", "")
                } else {
                    ("egress_ending", e.details())
                };
                self.emit(&info(
                    "info/io.go:268",
                    msg,
                    svc,
                    &[
                        ("egressID", id),
                        ("requestType", rt),
                        ("outputType", ot),
                        ("error", V::S("")),
                        ("code", V::I(0)),
                        ("details", V::S(details)),
                    ],
                ))
            }
            Step::WebhookActive => self.webhook(e, "egress_updated", "EGRESS_ACTIVE", ""),
            Step::WebhookEnded => {
                let status = match e.outcome.status() {
                    "complete" => "EGRESS_COMPLETE",
                    "failed" => "EGRESS_FAILED",
                    "aborted" => "EGRESS_ABORTED",
                    _ => "EGRESS_LIMIT_REACHED",
                };
                self.webhook(e, "egress_ended", status, e.outcome.error())
            }
            Step::Noise => self.noise(e),
            Step::ApiStop => {
                let dur = self.rng.range(2_000, 30_000) as i64;
                self.emit(&Entry {
                    level: Lvl::Info,
                    logger: "livekit.api",
                    caller: Some("service/twirp.go:150"),
                    msg: "API Egress.StopEgress",
                    ctx: Ctx::None,
                    fields: &[
                        ("service", V::S("Egress")),
                        ("method", V::S("StopEgress")),
                        ("egressID", id),
                        ("duration", V::Dur(dur)),
                        ("status", V::S("200")),
                    ],
                    stack: None,
                })
            }
            Step::Stopping => self.emit(&debug(
                "pipeline/controller.go:517",
                "stopping pipeline",
                hdl,
                &[("reason", V::S(e.reason))],
            )),
            Step::EndRecording => self.emit(&info(
                "source/web.go:328",
                "chrome: END_RECORDING",
                hdl,
                &[],
            )),
            Step::Eos => self.emit(&info(
                "pipeline/watch.go:124",
                "pipeline received EOS",
                hdl,
                &[],
            )),
            Step::StorageLimit => {
                let dir = format!("/home/egress/tmp/{}", e.id);
                self.emit(&Entry {
                    level: Lvl::Warn,
                    ..info(
                        "pipeline/controller.go:759",
                        "output storage limit reached",
                        hdl,
                        &[
                            ("dir", V::S(&dir)),
                            ("bytesWritten", V::I(2_147_500_000)),
                            ("limitBytes", V::I(2_147_483_648)),
                        ],
                    )
                })
            }
            Step::UploadDone => {
                let bytes = self.rng.range(1 << 20, 1 << 31) as i64;
                let dur = self.rng.range(200_000, 9_000_000) as i64;
                self.emit(&debug(
                    "sink/file.go:87",
                    "file upload completed",
                    hdl,
                    &[("bytes", V::I(bytes)), ("duration", V::Dur(dur))],
                ))
            }
            Step::UploadFailed => self.emit(&debug(
                "sink/file.go:93",
                "file upload failed",
                hdl,
                &[("error", V::S(S3_403))],
            )),
            Step::EosTimer => self.emit(&debug(
                "pipeline/controller.go:559",
                "eos timer firing",
                hdl,
                &[],
            )),
            Step::OnError => self.emit(&Entry {
                level: Lvl::Error,
                stack: Some(FROZEN_STACK),
                ..info(
                    "pipeline/controller.go:587",
                    "controller onError invoked",
                    hdl,
                    &[("error", V::S("pipeline frozen"))],
                )
            }),
            Step::SlowClose => {
                // The call site passes egressID again although the handler's context has it:
                // zap writes the key twice.
                let elapsed = self.rng.range(10_000_000, 40_000_000) as i64;
                self.emit(&Entry {
                    level: Lvl::Warn,
                    ..info(
                        "pipeline/controller.go:612",
                        "Close() taking longer than expected",
                        hdl,
                        &[
                            ("threshold", V::Dur(10_000_000)),
                            ("elapsed", V::Dur(elapsed)),
                            ("egressID", id),
                            ("sourceType", V::S(e.kind.source_type())),
                        ],
                    )
                })
            }
            Step::HandlerFinished => self.emit(&debug(
                "server/server_ipc.go:56",
                "handler finished",
                svc,
                &[("egressID", id)],
            )),
            Step::Terminal => {
                let msg = match e.outcome.status() {
                    "complete" => "egress_complete",
                    "failed" => "egress_failed",
                    "aborted" => "egress_aborted",
                    _ => "egress_limit_reached",
                };
                self.emit(&info(
                    "info/io.go:268",
                    msg,
                    svc,
                    &[
                        ("egressID", id),
                        ("requestType", rt),
                        ("outputType", ot),
                        ("error", V::S(e.outcome.error())),
                        ("code", V::I(e.outcome.code())),
                        ("details", V::S(e.details())),
                    ],
                ))?;
                self.record(e);
                Ok(())
            }
            Step::Metrics => {
                let avg = self.rng.range(20, 300) as f64 / 100.0;
                let max = avg + self.rng.range(0, 150) as f64 / 100.0;
                let mem = self.rng.range(200, 2500) as f64 / 1000.0;
                self.emit(&info(
                    "server/server_rpc.go:192",
                    "egress metrics",
                    svc,
                    &[
                        ("egressID", id),
                        ("requestType", rt),
                        ("outputType", ot),
                        ("sdkSource", V::B(!e.kind.is_web())),
                        ("avgCPU", V::F(avg)),
                        ("maxCPU", V::F(max)),
                        ("maxMemory", V::F(mem)),
                    ],
                ))
            }
            Step::ProcessFinished => self.emit(&debug(
                "service/process.go:353",
                "process finished",
                svc,
                &[("egressID", id)],
            )),
        }
    }

    fn record(&mut self, e: &Live) {
        let c = &mut self.truth.counts;
        c.egresses += 1;
        c.by_outcome[e.outcome.index()] += 1;
        if self.cfg.keep_egresses {
            self.truth.egresses.push(Expected {
                egress_id: e.id.clone(),
                outcome: e.outcome,
                request_type: e.kind.request_type(),
                output_type: e.output,
                room: (e.kind != Kind::Web).then(|| e.room.clone()),
                details: e.details(),
            });
        }
    }

    /// One periodic line of an active egress.
    fn noise(&mut self, e: &Live) -> io::Result<()> {
        let hdl = Ctx::Handler {
            handler: &e.handler,
            egress: &e.id,
        };
        let rt = V::S(e.kind.request_type());
        let sdk = !e.kind.is_web();
        let which = self.rng.below(100);
        match which {
            0..=29 if sdk => {
                let track = self.rng.below(2) as usize;
                let kind = if track == 0 { "video" } else { "audio" };
                let stats = format!(
                    "{{\"packetsReceived\":{},\"packetsLost\":{},\"samplesPushed\":{},\"droppedSamples\":{}}}",
                    self.rng.range(1000, 900_000),
                    self.rng.below(40),
                    self.rng.range(1000, 900_000),
                    self.rng.below(10)
                );
                self.emit(&Entry {
                    level: Lvl::Info,
                    logger: "egress",
                    caller: Some("sdk/appwriter.go:717"),
                    msg: "appwriter stats ",
                    ctx: hdl,
                    fields: &[
                        ("trackID", V::S(&e.tracks[track])),
                        ("kind", V::S(kind)),
                        ("stats", V::Raw(&stats)),
                        ("requestType", rt),
                    ],
                    stack: None,
                })
            }
            0..=44 => {
                let dropped = self.rng.below(30) as i64;
                self.emit(&Entry {
                    level: Lvl::Info,
                    logger: "egress",
                    caller: Some("pipeline/controller.go:256"),
                    msg: "video input queue stats",
                    ctx: hdl,
                    fields: &[
                        ("videoBuffersDropped", V::I(dropped)),
                        ("requestType", rt),
                        ("sourceType", V::S(e.kind.source_type())),
                        ("droppedByQueue", V::I(dropped / 2)),
                    ],
                    stack: None,
                })
            }
            45..=54 if sdk => {
                let dropped = self.rng.below(12) as i64;
                self.emit(&Entry {
                    level: Lvl::Info,
                    logger: "egress",
                    caller: Some("pipeline/controller.go:266"),
                    msg: "audio qos stats",
                    ctx: hdl,
                    fields: &[
                        ("audioBuffersDropped", V::I(dropped)),
                        ("totalAudioDurationDropped", V::Dur(dropped * 20_000)),
                        ("queueDroppedAudioBuffers", V::I(0)),
                        ("droppedByQueue", V::I(0)),
                        ("requestType", rt),
                    ],
                    stack: None,
                })
            }
            45..=74 => {
                let rss = self.rng.range(150_000_000, 1_800_000_000) as i64;
                let last = self.rng.range(10, 380) as f64 / 100.0;
                let avg = self.rng.range(10, 300) as f64 / 100.0;
                let pid = self.rng.range(100, 60_000) as i64;
                let processes = self.rng.range(2, 9) as i64;
                self.emit(&Entry {
                    level: Lvl::Info,
                    logger: "egress",
                    caller: Some("stats/monitor.go:683"),
                    msg: "hw resources usage",
                    ctx: Ctx::Service,
                    fields: &[
                        ("egressID", V::S(&e.id)),
                        ("groupPID", V::I(pid)),
                        ("totalRSSBytes", V::I(rss)),
                        ("processes", V::I(processes)),
                        ("lastCPU", V::F(last)),
                        ("avgCPU", V::F(avg)),
                        ("maxCPU", V::F(avg + last)),
                        ("allowedCPU", V::I(4)),
                    ],
                    stack: None,
                })
            }
            75..=94 => {
                let (msg, caller) = self.rng.pick(&GST_WARNINGS);
                self.emit(&Entry {
                    level: Lvl::Info,
                    logger: "egress",
                    caller: None,
                    msg,
                    ctx: hdl,
                    fields: &[("caller", V::S(caller))],
                    stack: None,
                })
            }
            _ if sdk => self.emit(&Entry {
                level: Lvl::Info,
                logger: "egress.lksdk",
                caller: Some("v2/engine.go:412"),
                msg: "resuming connection...",
                ctx: hdl,
                fields: &[("reconnectCount", V::I(0))],
                stack: None,
            }),
            _ => self.cpu_check(1),
        }
    }

    fn webhook(&mut self, e: &Live, event: &str, status: &str, error: &str) -> io::Result<()> {
        let ev_id = guid("EV_", self.rng.next_u64(), 0);
        let when = self.now / 1_000_000;
        let mut fields = vec![
            ("event", V::S(event)),
            ("id", V::S(&ev_id)),
            ("webhookTime", V::I(when)),
            ("url", V::S("https://hooks.example.com/livekit")),
            ("room", V::S(e.room_field())),
            ("roomID", V::S(&e.room_id)),
            ("egressID", V::S(&e.id)),
            ("status", V::S(status)),
        ];
        if !error.is_empty() {
            fields.push(("error", V::S(error)));
        }
        // livekit-server logs the EgressStatus and then the HTTP status under the same key.
        fields.extend([
            ("queueDuration", V::Dur(self.rng.range(20, 900) as i64)),
            ("sendDuration", V::Dur(self.rng.range(5_000, 90_000) as i64)),
            ("status", V::S("200 OK")),
            ("statusCode", V::I(200)),
        ]);
        self.emit(&Entry {
            level: Lvl::Info,
            logger: "livekit",
            caller: Some("webhook/url_notifier.go:213"),
            msg: "sent webhook",
            ctx: Ctx::None,
            fields: &fields,
            stack: None,
        })
    }

    /// Writes one entry (and its stack) in the configured format.
    fn emit(&mut self, e: &Entry<'_>) -> io::Result<()> {
        self.now += 100 + self.rng.below(40_000) as i64;
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        match self.cfg.format {
            LogFormat::Console => self.console(&mut buf, e),
            LogFormat::Json => self.json(&mut buf, e),
        }
        let r = self.out.write_all(&buf);
        let c = &mut self.truth.counts;
        c.bytes += buf.len() as u64;
        let lines = memchr::memchr_iter(b'\n', &buf).count() as u64;
        c.lines += lines;
        c.stack_lines += lines - 1;
        self.buf = buf;
        r
    }

    fn console(&mut self, b: &mut Vec<u8>, e: &Entry<'_>) {
        self.console_ts(b);
        b.push(b'\t');
        b.extend_from_slice(e.level.upper().as_bytes());
        b.push(b'\t');
        b.extend_from_slice(e.logger.as_bytes());
        b.push(b'\t');
        if let Some(c) = e.caller {
            b.extend_from_slice(c.as_bytes());
            b.push(b'\t');
        }
        b.extend_from_slice(e.msg.as_bytes());
        let mut first = true;
        let mut field = |b: &mut Vec<u8>, k: &str, v: V<'_>| {
            b.extend_from_slice(if first { b"\t{\"" } else { b", \"" });
            first = false;
            b.extend_from_slice(k.as_bytes());
            b.extend_from_slice(b"\": ");
            push_value(b, v, true);
        };
        self.context(b, e.ctx, &mut field);
        for &(k, v) in e.fields {
            field(b, k, v);
        }
        if !first {
            b.push(b'}');
        }
        b.push(b'\n');
        if let Some(stack) = e.stack {
            b.extend_from_slice(stack.as_bytes());
            b.push(b'\n');
        }
    }

    fn json(&mut self, b: &mut Vec<u8>, e: &Entry<'_>) {
        b.extend_from_slice(b"{\"level\":\"");
        b.extend_from_slice(e.level.lower().as_bytes());
        b.extend_from_slice(b"\",\"ts\":");
        let ts = self.now as f64 / 1_000_000.0;
        let _ = write!(b, "{ts}");
        b.extend_from_slice(b",\"logger\":");
        push_json_str(b, e.logger);
        if let Some(c) = e.caller {
            b.extend_from_slice(b",\"caller\":");
            push_json_str(b, c);
        }
        b.extend_from_slice(b",\"msg\":");
        push_json_str(b, e.msg);
        let mut field = |b: &mut Vec<u8>, k: &str, v: V<'_>| {
            b.extend_from_slice(b",\"");
            b.extend_from_slice(k.as_bytes());
            b.extend_from_slice(b"\":");
            push_value(b, v, false);
        };
        self.context(b, e.ctx, &mut field);
        for &(k, v) in e.fields {
            field(b, k, v);
        }
        if let Some(stack) = e.stack {
            field(b, "stacktrace", V::S(stack));
        }
        b.extend_from_slice(b"}\n");
    }

    fn context(&self, b: &mut Vec<u8>, ctx: Ctx<'_>, field: &mut dyn FnMut(&mut Vec<u8>, &str, V)) {
        match ctx {
            Ctx::None => {}
            Ctx::Service => {
                field(b, "nodeID", V::S(&self.node));
                field(b, "clusterID", V::S(""));
            }
            Ctx::Handler { handler, egress } => {
                field(b, "nodeID", V::S(&self.node));
                field(b, "handlerID", V::S(handler));
                field(b, "clusterID", V::S(""));
                field(b, "egressID", V::S(egress));
            }
        }
    }

    /// `2026-11-25T08:00:00.123Z` (zap's ISO8601 layout with milliseconds).
    fn console_ts(&mut self, b: &mut Vec<u8>) {
        let secs = self.now.div_euclid(1_000_000);
        let millis = self.now.rem_euclid(1_000_000) / 1000;
        let day = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        if self.day_cache.0 != day {
            let (y, m, d) = civil_from_days(day);
            self.day_cache = (day, format!("{y:04}-{m:02}-{d:02}"));
        }
        b.extend_from_slice(self.day_cache.1.as_bytes());
        let _ = write!(
            b,
            "T{:02}:{:02}:{:02}.{:03}Z",
            sod / 3600,
            sod / 60 % 60,
            sod % 60,
            millis
        );
    }
}

/// The `request` field of `request validated`: the request oneof dumped by `encoding/json`
/// (compact, HTML characters escaped), outputs redacted.
fn request_json(e: &Live) -> String {
    let out = match e.output {
        "stream" => "\"stream_outputs\":[{\"protocol\":1,\"urls\":[\"rtmps://live.example.com/app/{stream_key}\"]}]",
        "segments" => "\"segment_outputs\":[{\"filename_prefix\":\"hls/seg\",\"playlist_name\":\"index.m3u8\",\"segment_duration\":6}]",
        _ => "\"file_outputs\":[{\"filepath\":\"recordings/{room_name}-{time}.mp4\",\"Output\":{\"S3\":{\"access_key\":\"{access_key}\",\"secret\":\"{secret}\",\"bucket\":\"recordings\",\"region\":\"eu-west-1\"}}}]",
    };
    match e.kind {
        Kind::RoomComposite => format!(
            "{{\"RoomComposite\":{{\"room_name\":\"{}\",\"layout\":\"grid\",{out}}}}}",
            e.room
        ),
        Kind::Web => format!(
            "{{\"Web\":{{\"url\":\"https://dash.example.com/view?room={}\\u0026theme=dark\",{out}}}}}",
            e.room
        ),
        Kind::Track => format!(
            "{{\"Track\":{{\"room_name\":\"{}\",\"track_id\":\"{}\",\"Output\":{{\"File\":{{\"filepath\":\"tracks/{{track_id}}.ogg\"}}}}}}}}",
            e.room, e.tracks[0]
        ),
        Kind::TrackComposite => format!(
            "{{\"TrackComposite\":{{\"room_name\":\"{}\",\"audio_track_id\":\"{}\",\"video_track_id\":\"{}\",{out}}}}}",
            e.room, e.tracks[1], e.tracks[0]
        ),
        Kind::Participant => format!(
            "{{\"Participant\":{{\"room_name\":\"{}\",\"identity\":\"speaker-{}\",\"screen_share\":false,{out}}}}}",
            e.room,
            &e.tracks[0][3..7]
        ),
    }
}

fn push_value(b: &mut Vec<u8>, v: V<'_>, console: bool) {
    match v {
        V::S(s) => push_json_str(b, s),
        V::I(i) => {
            let _ = write!(b, "{i}");
        }
        V::F(f) => {
            let _ = write!(b, "{f}");
        }
        V::B(x) => b.extend_from_slice(if x { b"true" } else { b"false" }),
        V::Raw(r) => b.extend_from_slice(r.as_bytes()),
        V::Dur(us) if console => {
            b.push(b'"');
            push_go_duration(b, us);
            b.push(b'"');
        }
        V::Dur(us) => {
            let secs = us as f64 / 1_000_000.0;
            let _ = write!(b, "{secs}");
        }
    }
}

/// A JSON string as zap writes it: `"` and `\` escaped, control characters as `\n`, `\t` ... or
/// `\u00XX`; everything else (including non-ASCII) as is.
fn push_json_str(b: &mut Vec<u8>, s: &str) {
    b.push(b'"');
    for &c in s.as_bytes() {
        match c {
            b'"' => b.extend_from_slice(b"\\\""),
            b'\\' => b.extend_from_slice(b"\\\\"),
            b'\n' => b.extend_from_slice(b"\\n"),
            b'\r' => b.extend_from_slice(b"\\r"),
            b'\t' => b.extend_from_slice(b"\\t"),
            0..=0x1f => {
                let _ = write!(b, "\\u{:04x}", c);
            }
            _ => b.push(c),
        }
    }
    b.push(b'"');
}

/// Go's `time.Duration.String()` for a duration in microseconds: `1.82s`, `12.5ms`, `1m2.5s`.
fn push_go_duration(b: &mut Vec<u8>, us: i64) {
    fn frac(b: &mut Vec<u8>, whole: i64, part: i64, digits: usize) {
        let _ = write!(b, "{whole}");
        if part > 0 {
            let s = format!("{part:0digits$}");
            let _ = write!(b, ".{}", s.trim_end_matches('0'));
        }
    }
    let us = us.max(0);
    if us == 0 {
        b.extend_from_slice(b"0s");
    } else if us < 1000 {
        let _ = write!(b, "{us}µs");
    } else if us < 1_000_000 {
        frac(b, us / 1000, us % 1000, 3);
        b.extend_from_slice(b"ms");
    } else {
        let total_s = us / 1_000_000;
        let (h, m, s) = (total_s / 3600, total_s / 60 % 60, total_s % 60);
        if h > 0 {
            let _ = write!(b, "{h}h");
        }
        if h > 0 || m > 0 {
            let _ = write!(b, "{m}m");
        }
        frac(b, s, us % 1_000_000, 6);
        b.push(b's');
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses a size such as `100M`, `1G`, `512k`, `1.5G` or `2000000` (bytes; K/M/G are powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        (i, 'b' | 'B') => (&s[..i], 1),
        _ => (s, 1),
    };
    let v: f64 = num.trim().parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    Some((v * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(format: LogFormat, size: u64, seed: u64) -> (Vec<u8>, Truth) {
        let mut cfg = Config::new(format, size);
        cfg.seed = seed;
        cfg.concurrency = 50;
        let mut out = Vec::new();
        let truth = generate(&mut out, &cfg).unwrap();
        (out, truth)
    }

    #[test]
    fn deterministic_per_seed() {
        let (a, ta) = gen(LogFormat::Console, 200_000, 7);
        let (b, tb) = gen(LogFormat::Console, 200_000, 7);
        let (c, _) = gen(LogFormat::Console, 200_000, 8);
        assert_eq!(a, b);
        assert_eq!(ta.egresses, tb.egresses);
        assert_ne!(a, c);
    }

    #[test]
    fn size_counts_and_ids() {
        for format in [LogFormat::Console, LogFormat::Json] {
            let (out, t) = gen(format, 500_000, 3);
            let c = &t.counts;
            assert_eq!(c.bytes, out.len() as u64);
            assert_eq!(c.lines, out.iter().filter(|&&b| b == b'\n').count() as u64);
            let ratio = out.len() as f64 / 500_000.0;
            assert!((0.95..1.05).contains(&ratio), "{}", out.len());
            assert_eq!(c.egresses, t.egresses.len() as u64);
            assert_eq!(c.by_outcome.iter().sum::<u64>(), c.egresses);
            let ids: std::collections::HashSet<_> =
                t.egresses.iter().map(|e| &e.egress_id).collect();
            assert_eq!(ids.len(), t.egresses.len());
            assert!(t
                .egresses
                .iter()
                .all(|e| crate::event::is_egress_id(&e.egress_id)));
            assert!(c.peak_open >= 40, "peak {}", c.peak_open);
        }
    }

    #[test]
    fn console_line_shape() {
        let (out, _) = gen(LogFormat::Console, 50_000, 1);
        let text = String::from_utf8(out).unwrap();
        let first = text.lines().next().unwrap();
        assert!(first.starts_with("2026-11-25T08:00:00."), "{first}");
        let cols: Vec<&str> = first.split('\t').collect();
        assert_eq!(cols[1], "INFO");
        assert_eq!(cols[2], "egress");
        assert_eq!(cols[3], "redis/redis.go:101");
        assert_eq!(cols[4], "connecting to redis");
        assert!(cols[5].starts_with("{\"nodeID\": \"NE_"), "{}", cols[5]);
        assert!(text.contains("\"clusterID\": \"\""));
    }

    #[test]
    fn json_lines_parse_with_zap_key_order() {
        let (out, _) = gen(LogFormat::Json, 100_000, 1);
        for line in String::from_utf8(out).unwrap().lines() {
            assert!(line.starts_with("{\"level\":\""), "{line}");
            let after = line.split_once(",\"ts\":").unwrap().1;
            assert!(after.as_bytes()[0].is_ascii_digit(), "{line}");
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(v["msg"].is_string());
        }
    }

    #[test]
    fn go_durations_and_dates() {
        let d = |us| {
            let mut b = Vec::new();
            push_go_duration(&mut b, us);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(d(1_820_000), "1.82s");
        assert_eq!(d(12_500), "12.5ms");
        assert_eq!(d(62_500_000), "1m2.5s");
        assert_eq!(d(2_000_000), "2s");
        assert_eq!(civil_from_days(START_EPOCH_SECS / 86_400), (2026, 11, 25));
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100M"), Some(100 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("1.5k"), Some(1536));
        assert_eq!(parse_size("42"), Some(42));
        assert_eq!(parse_size("x"), None);
    }
}
