//! Rule patterns as the rule base matches them: each compiled on first use to a forward lazy
//! DFA (all a yes/no question needs), and the message and raw-line pattern sets behind a
//! literal prefilter. A pattern's required literals (texts every match contains, in any case)
//! are read from its syntax tree when the rules are loaded; one Aho-Corasick pass over a text
//! names the patterns whose literals it contains, and only those, with the few patterns that
//! have no usable literal, are run. Which patterns match a text is exactly what one combined
//! pattern set would say (a test checks it over every rule example and random texts).

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_syntax::ast::{self, Ast};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::OnceLock;

/// The syntax every rule pattern is read with: case-insensitive, ASCII classes, on bytes.
fn syntax() -> regex_syntax::ParserBuilder {
    let mut b = regex_syntax::ParserBuilder::new();
    b.case_insensitive(true).unicode(false).utf8(false);
    b
}

type CacheFn = Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe>;

/// A pattern's compiled form: a forward lazy DFA and its caches (one per thread that asks).
struct Compiled {
    dfa: DFA,
    caches: Pool<Cache, CacheFn>,
}

/// One rule pattern, compiled on first use.
pub(super) struct Pattern {
    pub(super) src: String,
    /// Largest compiled program allowed (bytes of NFA).
    limit: usize,
    compiled: OnceLock<Result<Compiled, String>>,
    /// Its required literals, read on first use (for [`Pattern::is_match_alone`]).
    literals: OnceLock<Option<Vec<Vec<u8>>>>,
    /// The texts [`Pattern::is_match_alone`] was asked about last, with its verdicts, the
    /// latest first (an egress's final error text is most often one of a few).
    recent: std::sync::Mutex<Vec<(Box<[u8]>, bool)>>,
    /// The plain regex, used only if the lazy DFA ever gives up on a text.
    fallback: OnceLock<Option<super::Regex>>,
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Pattern").field(&self.src).finish()
    }
}

impl Pattern {
    pub(super) fn new(src: &str, limit: usize) -> Pattern {
        Pattern {
            src: src.to_string(),
            limit,
            compiled: OnceLock::new(),
            literals: OnceLock::new(),
            recent: std::sync::Mutex::new(Vec::new()),
            fallback: OnceLock::new(),
        }
    }

    fn compile(&self) -> Result<Compiled, String> {
        let hir = syntax()
            .build()
            .parse(&self.src)
            .map_err(|e| e.to_string())?;
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .utf8(false)
                    .which_captures(thompson::WhichCaptures::None)
                    .nfa_size_limit(Some(self.limit)),
            )
            .build_from_hir(&hir)
            .map_err(|e| e.to_string())?;
        let dfa = DFA::builder()
            .configure(DFA::config().cache_capacity(1 << 20))
            .build_from_nfa(nfa)
            .map_err(|e| e.to_string())?;
        let for_caches = dfa.clone();
        let create: CacheFn = Box::new(move || for_caches.create_cache());
        Ok(Compiled {
            dfa,
            caches: Pool::new(create),
        })
    }

    /// Compiles the pattern now (if not yet): the error, if it cannot be.
    pub(super) fn check(&self) -> Result<(), String> {
        match self.compiled.get_or_init(|| self.compile()) {
            Ok(_) => Ok(()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Whether the pattern matches somewhere in `hay` (a pattern that cannot be compiled
    /// matches nothing).
    pub(super) fn is_match(&self, hay: &[u8]) -> bool {
        let Ok(c) = self.compiled.get_or_init(|| self.compile()) else {
            return false;
        };
        let input = regex_automata::Input::new(hay).earliest(true);
        match c.dfa.try_search_fwd(&mut c.caches.get(), &input) {
            Ok(m) => m.is_some(),
            Err(_) => self
                .fallback
                .get_or_init(|| super::regex(&self.src).ok())
                .as_ref()
                .is_some_and(|re| re.is_match(hay)),
        }
    }
}

impl Pattern {
    /// [`Pattern::is_match`] for a pattern asked on its own (not in a [`PatternSet`]): a text
    /// without any of its required literals is turned down before the pattern is compiled
    /// or run.
    pub(super) fn is_match_alone(&self, hay: &[u8]) -> bool {
        let remember = hay.len() <= RECENT_TEXT;
        if remember {
            if let Ok(recent) = self.recent.lock() {
                if let Some(&(_, verdict)) = recent.iter().find(|(t, _)| **t == *hay) {
                    return verdict;
                }
            }
        }
        let literals = self.literals.get_or_init(|| required_literals(&self.src));
        let verdict = literals
            .as_ref()
            .is_none_or(|ls| ls.iter().any(|l| contains_any_case(hay, l)))
            && self.is_match(hay);
        if remember {
            if let Ok(mut recent) = self.recent.lock() {
                recent.insert(0, (hay.into(), verdict));
                recent.truncate(RECENT_TEXTS);
            }
        }
        verdict
    }
}

/// How many texts a pattern asked on its own remembers its verdict for.
const RECENT_TEXTS: usize = 4;
/// Longest text whose verdict is remembered.
const RECENT_TEXT: usize = 512;

/// Whether `hay` contains `lit` (in lower case), in any ASCII case.
pub(super) fn contains_any_case(hay: &[u8], lit: &[u8]) -> bool {
    let Some((&first, rest)) = lit.split_first() else {
        return true;
    };
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), hay).any(|at| {
        hay.get(at + 1..at + 1 + rest.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(rest))
    })
}

/// Shortest literal worth looking for: shorter ones are in too many texts.
const MIN_LITERAL: usize = 3;
/// Most literals one pattern may need looking for (one of them in every match).
const MAX_LITERALS: usize = 32;

/// What every match of a piece of a pattern contains.
#[derive(Debug)]
enum Need {
    /// The piece matches exactly this text (lower case; compared in any case) and only it.
    Exact(Vec<u8>),
    /// Every match contains one of these texts (in any case).
    Any(Vec<Vec<u8>>),
    /// Nothing usable.
    Nothing,
}

impl Need {
    /// The texts one of which every match contains, if any.
    fn any(self) -> Option<Vec<Vec<u8>>> {
        match self {
            Need::Exact(s) if !s.is_empty() => Some(vec![s]),
            Need::Any(set) => Some(set),
            _ => None,
        }
    }
}

/// The better of two literal sets to look for: the longer shortest literal, then fewer.
fn better(a: Option<Vec<Vec<u8>>>, b: Option<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    let score = |s: &Vec<Vec<u8>>| {
        (
            s.iter().map(Vec::len).min().unwrap_or(0),
            std::cmp::Reverse(s.len()),
        )
    };
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The one ASCII character (lower case) a bracketed class stands for when it only lists the
/// cases of one letter (`[Tt]`), as the whole pattern is matched in any case.
fn class_letter(c: &ast::ClassBracketed) -> Option<u8> {
    if c.negated {
        return None;
    }
    let items: &[ast::ClassSetItem] = match &c.kind {
        ast::ClassSet::Item(ast::ClassSetItem::Union(u)) => &u.items,
        ast::ClassSet::Item(item) => std::slice::from_ref(item),
        ast::ClassSet::BinaryOp(_) => return None,
    };
    let mut letter = None;
    for item in items {
        let ast::ClassSetItem::Literal(l) = item else {
            return None;
        };
        let c = ascii(l)?;
        if letter.is_some_and(|x| x != c) {
            return None;
        }
        letter = Some(c);
    }
    letter
}

/// An ASCII literal in lower case. (A non-ASCII one may stand for one byte, `\xFF`, or for
/// its UTF-8 form: it is not used.)
fn ascii(l: &ast::Literal) -> Option<u8> {
    u8::try_from(l.c)
        .ok()
        .filter(u8::is_ascii)
        .map(|c| c.to_ascii_lowercase())
}

/// Appends the text `a` matches to a literal run; `None` when it is not a plain literal,
/// a one-letter class or a zero-width item.
fn extend_exact(a: &Ast, run: &mut Vec<u8>) -> Option<()> {
    match a {
        Ast::Empty(_) | Ast::Flags(_) | Ast::Assertion(_) => {}
        Ast::Literal(l) => run.push(ascii(l)?),
        Ast::ClassBracketed(c) => run.push(class_letter(c)?),
        _ => return None,
    }
    Some(())
}

fn need(a: &Ast) -> Need {
    let mut run = Vec::new();
    if extend_exact(a, &mut run).is_some() {
        return Need::Exact(run);
    }
    match a {
        Ast::Group(g) => need(&g.ast),
        Ast::Repetition(r) => {
            let min = match &r.op.kind {
                ast::RepetitionKind::ZeroOrOne | ast::RepetitionKind::ZeroOrMore => 0,
                ast::RepetitionKind::OneOrMore => 1,
                ast::RepetitionKind::Range(
                    ast::RepetitionRange::Exactly(n)
                    | ast::RepetitionRange::AtLeast(n)
                    | ast::RepetitionRange::Bounded(n, _),
                ) => *n,
            };
            match need(&r.ast).any() {
                Some(set) if min > 0 => Need::Any(set),
                _ => Need::Nothing,
            }
        }
        Ast::Alternation(alt) => {
            let mut all: Vec<Vec<u8>> = Vec::new();
            for branch in &alt.asts {
                match need(branch).any() {
                    Some(any) if all.len() + any.len() <= MAX_LITERALS => all.extend(any),
                    _ => return Need::Nothing,
                }
            }
            all.sort();
            all.dedup();
            Need::Any(all)
        }
        Ast::Concat(c) => {
            // Adjacent exact pieces make one literal; of the literals and the other pieces'
            // needs, the best is kept.
            let mut whole = true;
            let mut best = None;
            for piece in &c.asts {
                if extend_exact(piece, &mut run).is_some() {
                    continue;
                }
                match need(piece) {
                    Need::Exact(s) => run.extend_from_slice(&s),
                    n => {
                        whole = false;
                        if !run.is_empty() {
                            best = better(best, Some(vec![std::mem::take(&mut run)]));
                        }
                        best = better(best, n.any());
                    }
                }
            }
            if whole {
                return Need::Exact(run);
            }
            if !run.is_empty() {
                best = better(best, Some(vec![run]));
            }
            best.map_or(Need::Nothing, Need::Any)
        }
        _ => Need::Nothing,
    }
}

/// Texts one of which every match of `src` contains, in any case (`None`: no usable ones:
/// the pattern is run on every text).
pub(super) fn required_literals(src: &str) -> Option<Vec<Vec<u8>>> {
    let ast = ast::parse::Parser::new().parse(src).ok()?;
    need(&ast).any().filter(|s| {
        !s.is_empty() && s.len() <= MAX_LITERALS && s.iter().all(|l| l.len() >= MIN_LITERAL)
    })
}

/// Most literals searched for with an Aho-Corasick DFA rather than an NFA.
const SMALL_LITERAL_SET: usize = 64;

/// The literal prefilter of a [`PatternSet`]: built on first use.
struct Prefilter {
    /// Finds every occurrence of every required literal, in any case.
    finder: Option<aho_corasick::AhoCorasick>,
    /// Per literal of `finder`, the patterns that require it.
    owners: Vec<Vec<u32>>,
    /// Patterns without a usable literal: run on every text.
    always: Vec<u32>,
}

impl Prefilter {
    fn new(patterns: &[Pattern]) -> Prefilter {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<u32>> = Vec::new();
        let mut always = Vec::new();
        let mut index: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        for (i, p) in patterns.iter().enumerate() {
            let i = i as u32;
            match required_literals(&p.src) {
                Some(lits) => {
                    for l in lits {
                        let at = *index.entry(l.clone()).or_insert_with(|| {
                            literals.push(l);
                            owners.push(Vec::new());
                            owners.len() - 1
                        });
                        owners[at].push(i);
                    }
                }
                None => always.push(i),
            }
        }
        let finder = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::Standard)
            // (A few literals, as of the raw-line patterns, are looked for in whole lines: a
            // DFA is quicker there and cheap to build; the message patterns' hundreds of
            // literals are looked for once per distinct text.)
            .kind(Some(if literals.len() <= SMALL_LITERAL_SET {
                aho_corasick::AhoCorasickKind::DFA
            } else {
                aho_corasick::AhoCorasickKind::NoncontiguousNFA
            }))
            .build(&literals);
        match finder {
            Ok(finder) => Prefilter {
                finder: (!literals.is_empty()).then_some(finder),
                owners,
                always,
            },
            // (Cannot happen for a few hundred short literals; if it did: run everything.)
            Err(_) => Prefilter {
                finder: None,
                owners: Vec::new(),
                always: (0..patterns.len() as u32).collect(),
            },
        }
    }

    /// The patterns that may match `hay`, in pattern order.
    fn candidates(&self, hay: &[u8], len: usize) -> Candidates {
        let mut bits = Candidates::new(len);
        if let Some(finder) = &self.finder {
            // (The literals are in lower case: so is the text they are looked for in.)
            let lower = hay.to_ascii_lowercase();
            for m in finder.find_overlapping_iter(&lower) {
                for &p in &self.owners[m.pattern().as_usize()] {
                    bits.set(p as usize);
                }
            }
        }
        for &p in &self.always {
            bits.set(p as usize);
        }
        bits
    }
}

/// A set of pattern indices (small: one word per 64 patterns).
struct Candidates(Vec<u64>);

impl Candidates {
    fn new(len: usize) -> Candidates {
        Candidates(vec![0; len.div_ceil(64)])
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + b
                })
            })
        })
    }
}

/// Largest compiled program of a message or raw-line pattern (bytes of NFA).
const SET_PATTERN_LIMIT: usize = 1 << 26;

/// Many patterns asked at once which of them match a text, behind the literal prefilter.
pub(super) struct PatternSet {
    patterns: Vec<Pattern>,
    prefilter: OnceLock<Prefilter>,
}

impl std::fmt::Debug for PatternSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.patterns).finish()
    }
}

impl PatternSet {
    pub(super) fn new(patterns: &[&String]) -> PatternSet {
        PatternSet {
            patterns: patterns
                .iter()
                .map(|p| Pattern::new(p, SET_PATTERN_LIMIT))
                .collect(),
            prefilter: OnceLock::new(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Compiles the patterns `which` names now: the first error, if one cannot be.
    pub(super) fn check(&self, which: impl Fn(usize) -> bool) -> Result<(), String> {
        for (i, p) in self.patterns.iter().enumerate() {
            if which(i) {
                p.check().map_err(|e| format!("`{}`: {e}", p.src))?;
            }
        }
        Ok(())
    }

    fn prefilter(&self) -> &Prefilter {
        self.prefilter
            .get_or_init(|| Prefilter::new(&self.patterns))
    }

    /// Calls `each` with the index of every pattern that matches `hay`, in pattern order.
    pub(super) fn matches(&self, hay: &[u8], mut each: impl FnMut(usize)) {
        if self.patterns.is_empty() {
            return;
        }
        for i in self.prefilter().candidates(hay, self.patterns.len()).iter() {
            if self.patterns[i].is_match(hay) {
                each(i);
            }
        }
    }

    /// Whether some pattern matches `hay`.
    pub(super) fn any(&self, hay: &[u8]) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let candidates = self.prefilter().candidates(hay, self.patterns.len());
        let found = candidates.iter().any(|i| self.patterns[i].is_match(hay));
        found
    }
}
