//! Makes untrusted log text safe to print: strips ANSI/OSC escapes, control and bidi
//! characters, masks secrets (JWTs, `token=`, API secrets, storage keys, credentials in URLs,
//! stream keys, presigned signatures), and escapes markdown.

use aho_corasick::AhoCorasick;
use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Removes terminal escape sequences and control characters (keeping `\n`; tabs become spaces).
pub fn strip_controls(s: &str) -> Cow<'_, str> {
    // Printable ASCII, line breaks and tabs (most log text): only the tabs change.
    let b = s.as_bytes();
    if plain_ascii(b) {
        return match memchr::memchr(b'\t', b) {
            None => Cow::Borrowed(s),
            Some(_) => Cow::Owned(s.replace('\t', " ")),
        };
    }
    if !s.chars().any(|c| is_unsafe(c) || c == '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    // CSI: parameters and intermediates, then one final byte.
                    for n in chars.by_ref() {
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                }
                Some(']') | Some('P') | Some('_') | Some('^') => {
                    chars.next();
                    // OSC/DCS/APC/PM: up to BEL or ST (ESC \).
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' {
                            break;
                        }
                        if n == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                Some(_) => {
                    chars.next();
                }
                None => {}
            },
            '\t' => out.push(' '),
            c if is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// True when `b` holds only printable ASCII, line breaks and tabs; eight bytes at a time, as
/// every line a report cites passes through here.
fn plain_ascii(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let w = <[u8; 8]>::try_from(w).map_or(0, u64::from_le_bytes);
        // A byte below 0x20 sets its high bit in `low`, one of 0x7f and above in `high`
        // (carries may flag bytes above a true one, never hide one); flagged words are then
        // checked byte by byte, as tabs and line breaks are allowed.
        let low = w.wrapping_sub(LO * 0x20) & !w;
        let high = w | w.wrapping_add(LO);
        if (low | high) & HI != 0 && !w.to_le_bytes().iter().all(|&c| plain_byte(c)) {
            return false;
        }
    }
    words.remainder().iter().all(|&c| plain_byte(c))
}

fn plain_byte(c: u8) -> bool {
    (0x20..0x7f).contains(&c) || c == b'\n' || c == b'\t'
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
        || c == '\u{200e}'
        || c == '\u{200f}'
}

/// One kind of secret: what to look for, what to put instead, and lower-case literals of which
/// a text must hold one for the pattern to have a chance (checked before the pattern, which is
/// compiled on first use).
struct Mask {
    hints: &'static [&'static str],
    pattern: &'static str,
    keep: &'static str,
    re: OnceLock<Regex>,
}

const fn mask(hints: &'static [&'static str], pattern: &'static str, keep: &'static str) -> Mask {
    Mask {
        hints,
        pattern,
        keep,
        re: OnceLock::new(),
    }
}

// ASCII word boundaries (`(?-u:\b)`): the lazy DFA handles them, Unicode ones need the slow
// PikeVM.
static MASKS: [Mask; 9] = [
    // JWTs anywhere (room tokens).
    mask(
        &["eyj"],
        r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
        "eyJ[redacted]",
    ),
    // token=... / access_token=... in URLs and text.
    mask(
        &["token="],
        r#"(?i)(?-u:\b)((?:access_|room_|auth_)?token=)[^&\s"'<>`]+"#,
        "${1}[redacted]",
    ),
    // Presigned URL signatures and credentials.
    mask(
        &["signature=", "credential=", "token=", "sig="],
        r#"(?i)(?-u:\b)(X-Amz-Signature=|X-Amz-Credential=|X-Amz-Security-Token=|Signature=|sig=|X-Goog-Signature=)[^&\s"'<>`]+"#,
        "${1}[redacted]",
    ),
    // key: value / key=value / "key": "value" secrets.
    mask(
        &["secret", "key", "token", "passw", "credentials"],
        r#"(?i)("?(?-u:\b)(?:api_?secret|secret(?:_?key)?|access_?key(?:_?id)?|session_?token|password|passwd|account_?key|credentials_?json|stream_?key|s3_assume_role_key|s3_assume_role_secret)"?\s*[:=]\s*"?)([^"\s,}&`]{1,})"#,
        "${1}[redacted]",
    ),
    // Bearer tokens.
    mask(
        &["bearer"],
        r"(?i)(?-u:\b)(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}",
        "${1}[redacted]",
    ),
    // user:password@ in URLs.
    mask(
        &["://"],
        r"(?i)(?-u:\b)([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@",
        "${1}[redacted]@",
    ),
    // RTMP/RTMPS stream keys: the last path segment, up to punctuation that ends the URL in
    // the text around it (`.../live2/KEY: connection refused` keeps its `:`).
    mask(
        &["rtmp"],
        r#"(?i)(?-u:\b)(rtmps?://[^\s"'/`]+(?:/[^\s"'/`]+)*/)([^\s"'/{}`<>()\[\],;|]{3,}[^\s"'/{}`<>()\[\],;|:.!?])([:.!?]*(?:$|[\s"'`<>()\[\],;|]))"#,
        "${1}[redacted]${3}",
    ),
    // SRT stream ids and passphrases.
    mask(
        &["streamid=", "passphrase="],
        r#"(?i)(?-u:\b)((?:streamid|passphrase)=)[^&\s"'`]+"#,
        "${1}[redacted]",
    ),
    // AWS access key ids.
    mask(
        &["akia", "asia"],
        r"(?-u:\b)(AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)",
        "${1}[redacted]",
    ),
];

/// One automaton over every mask's hints (ASCII case ignored): pattern `i` belongs to mask
/// `owner[i]`.
struct Hints {
    ac: Option<AhoCorasick>,
    owner: Vec<usize>,
}

fn hints() -> &'static Hints {
    static HINTS: OnceLock<Hints> = OnceLock::new();
    HINTS.get_or_init(|| {
        let (owner, words): (Vec<usize>, Vec<&str>) = MASKS
            .iter()
            .enumerate()
            .flat_map(|(i, m)| m.hints.iter().map(move |h| (i, *h)))
            .unzip();
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .ok();
        Hints { ac, owner }
    })
}

/// Which masks have one of their hints in `s` (bit `i` for mask `i`).
fn hinted(s: &str) -> u32 {
    let h = hints();
    let Some(ac) = &h.ac else {
        // Cannot happen with the built-in hints; every mask is then tried.
        return u32::MAX;
    };
    ac.find_overlapping_iter(s)
        .fold(0, |set, m| set | 1 << h.owner[m.pattern().as_usize()])
}

/// Masks secrets in `s`.
pub fn redact(s: &str) -> Cow<'_, str> {
    let mut cur: Cow<'_, str> = Cow::Borrowed(s);
    let mut set = hinted(s);
    for (i, m) in MASKS.iter().enumerate() {
        if set & 1 << i == 0 {
            continue;
        }
        let re = m.re.get_or_init(|| {
            Regex::new(m.pattern).unwrap_or_else(|e| unreachable!("built-in mask regex: {e}"))
        });
        if re.is_match(&cur) {
            cur = Cow::Owned(re.replace_all(&cur, m.keep).into_owned());
            set = hinted(&cur);
        }
    }
    cur
}

/// Escapes text for a markdown table cell: no pipes, no line breaks, no HTML.
pub fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push('\''),
            '[' | ']' | '*' | '_' | '\\' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes prose for markdown, leaving `code spans` as they are (they render literally).
/// A run of backticks opens a span only when the same run closes it on the same line, as
/// markdown renderers do; an unmatched run is escaped. Outside spans, characters that could
/// make links, emphasis, HTML or headings are escaped. Line breaks become spaces.
pub fn md_prose(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let run = chars[i..].iter().take_while(|&&x| x == '`').count();
            if let Some(close) = find_run(&chars, i + run, run) {
                out.extend(&chars[i..close + run]);
                i = close + run;
            } else {
                for _ in 0..run {
                    out.push_str("\\`");
                }
                i += run;
            }
            continue;
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '[' | ']' | '*' | '_' | '\\' | '|' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '-' | '+' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Start of the next run of exactly `n` backticks at or after `from`.
fn find_run(chars: &[char], from: usize, n: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        if chars[j] == '`' {
            let m = chars[j..].iter().take_while(|&&x| x == '`').count();
            if m == n {
                return Some(j);
            }
            j += m;
        } else {
            j += 1;
        }
    }
    None
}

/// A code fence longer than any run of backticks in `body` (at least three).
pub fn fence_for(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escapes() {
        assert_eq!(strip_controls("a\u{1b}[31mred\u{1b}[0m b"), "ared b");
        assert_eq!(strip_controls("x\u{1b}]0;title\u{7}y"), "xy");
        assert_eq!(
            strip_controls("x\u{1b}]8;;http://e\u{1b}\\link\u{1b}]8;;\u{1b}\\y"),
            "xlinky"
        );
        assert_eq!(strip_controls("a\u{0}b\u{8}c\td\u{202e}e"), "abc de");
        assert_eq!(strip_controls("keep\nlines"), "keep\nlines");
    }

    #[test]
    fn plain_ascii_agrees_with_the_byte_check() {
        let mut samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"plain text with\ttabs\nand breaks ~".to_vec(),
            b"0123456789abcdef".to_vec(),
        ];
        for bad in [0u8, 0x1b, 0x7f, 0x80, 0xff, b'\r', 0x1f] {
            for at in [0, 3, 7, 8, 15, 16, 20] {
                let mut v = b"abcdefghijklmnopqrstu".to_vec();
                v[at] = bad;
                samples.push(v);
            }
        }
        for v in samples {
            let want = v.iter().all(|&c| plain_byte(c));
            assert_eq!(plain_ascii(&v), want, "{v:?}");
        }
    }

    #[test]
    fn every_mask_has_a_hint_bit() {
        assert!(MASKS.len() <= 32);
        assert!(MASKS.iter().all(|m| !m.hints.is_empty()));
        assert_eq!(
            hinted("a Bearer TOKEN= here"),
            1 << 1 | 1 << 2 | 1 << 3 | 1 << 4
        );
        assert_eq!(hinted("nothing to hide"), 0);
    }

    #[test]
    fn masks_secrets() {
        let cases = [
            (
                "url=wss://h/?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abc",
                "secret-free",
            ),
            ("\"api_secret\": \"s3cr3tvalue\"", "s3cr3tvalue"),
            ("access_key: AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
            ("secret=hunter2hunter2", "hunter2"),
            ("session_token: FQoGZXIvYXdzE", "FQoGZXIvYXdzE"),
            (
                "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop",
                "abcd-efgh-ijkl-mnop",
            ),
            ("https://user:pa55word@minio:9000/bucket", "pa55word"),
            (
                "https://b.s3.amazonaws.com/k?X-Amz-Signature=deadbeef00&X-Amz-Credential=AK",
                "deadbeef00",
            ),
            ("srt://host:9000?streamid=mystream", "mystream"),
            ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
        ];
        for (input, secret) in cases {
            let out = redact(input);
            if secret == "secret-free" {
                assert!(!out.contains("eyJzdWIi"), "{out}");
            } else {
                assert!(!out.contains(secret), "{input} -> {out}");
            }
            assert!(out.contains("[redacted]"), "{out}");
        }
        assert_eq!(
            redact("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop: connection refused"),
            "rtmp://a.rtmp.youtube.com/live2/[redacted]: connection refused"
        );
        assert_eq!(
            redact("pushing to rtmps://live.example.com/app/sk_ab:cd. Retrying!"),
            "pushing to rtmps://live.example.com/app/[redacted]. Retrying!"
        );
        assert_eq!(
            redact("(rtmp://h/live/key1234?s=x&t=y), then rtmp://h/live/abcd"),
            "(rtmp://h/live/[redacted]), then rtmp://h/live/[redacted]"
        );
        assert_eq!(
            redact("no secrets here: ws_url ws://livekit:7880"),
            "no secrets here: ws_url ws://livekit:7880"
        );
    }

    #[test]
    fn markdown_escaping() {
        assert_eq!(md_cell("a|b\nc<script>"), "a\\|b c&lt;script&gt;");
        assert_eq!(
            md_prose("# head [link](x) `a|b` <b>"),
            "\\# head \\[link\\](x) `a|b` &lt;b&gt;"
        );
        assert_eq!(fence_for("a ```` b"), "`````");
        assert_eq!(md_prose("```[x](y)"), "\\`\\`\\`\\[x\\](y)");
        assert_eq!(md_prose("a `b_c` d_e"), "a `b_c` d\\_e");
        assert_eq!(fence_for("plain"), "```");
    }
}
