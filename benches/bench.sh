#!/usr/bin/env bash
# End-to-end throughput of egresslens next to grep and jq on the same generated logs.
#
# Generates (once) console and JSON egress logs with the project's generator, builds the
# release binary, then prints for each file: tool, MB/s (10^6 bytes per second), wall seconds
# and peak resident memory. Ends with the "paste latency": the median wall time of 20 runs
# on samples/origin-412.log.
#
# Environment:
#   EGRESSLENS_BENCH_DIR   where the logs go (default /tmp/egresslens-bench); delete it when done
#   BENCH_SIZES            sizes to generate and measure (default "100M 1G")
#   BENCH_FORMATS          formats (default "console json")
#   BENCH_RUNS             runs per tool and file; the fastest counts (default 1)
#   BENCH_SEED             generator seed (default 1)
#
# Columns: MB/s and wall seconds of the fastest run, its CPU seconds (user + system, all
# threads), peak RSS, and the share of the machine's CPU time the hypervisor took ("steal",
# from /proc/stat) during that run: a shared VM can lose a third of its CPU at busy moments,
# which makes every tool slower; compare runs taken with little steal.
#
# Usage: benches/bench.sh            (from anywhere inside the repository)
#        BENCH_SIZES=100M benches/bench.sh
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
DIR=${EGRESSLENS_BENCH_DIR:-/tmp/egresslens-bench}
SIZES=${BENCH_SIZES:-"100M 1G"}
FORMATS=${BENCH_FORMATS:-"console json"}
RUNS=${BENCH_RUNS:-1}
SEED=${BENCH_SEED:-1}
BIN=target/release/egresslens
GEN=target/release/examples/genlog
TAB=$(printf '\t')

say() { printf '%s\n' "$*" >&2; }

# ---- peak RSS: /usr/bin/time, else python3's getrusage, else polling /proc/<pid>/status ----
if /usr/bin/time -f %M true >/dev/null 2>&1; then
    RSS_METHOD=gnu-time
elif command -v python3 >/dev/null 2>&1; then
    RSS_METHOD=python3
else
    RSS_METHOD=proc
fi

# Output of the measured commands. Not /dev/null: GNU grep notices /dev/null and stops at the
# first match, which would time nothing.
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

# run_rss CMD... : runs CMD (stdout to $OUT), sets RSS_KB to its peak resident set in KiB and
# CPU_S to its user + system CPU seconds ("-" when unknown).
run_rss() {
    local tmp
    tmp=$(mktemp)
    CPU_S=-
    case $RSS_METHOD in
    gnu-time)
        /usr/bin/time -f '%M %U %S' -o "$tmp" "$@" >"$OUT" 2>/dev/null
        read -r RSS_KB u s < <(tail -n 1 "$tmp")
        CPU_S=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        ;;
    python3)
        python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[2:], stdout=sys.stdout, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%d %.2f" % (r.ru_maxrss, r.ru_utime + r.ru_stime))
' "$tmp" "$@" >"$OUT"
        read -r RSS_KB CPU_S <"$tmp"
        ;;
    proc)
        "$@" >"$OUT" 2>/dev/null &
        local pid=$! peak=0 v
        while kill -0 "$pid" 2>/dev/null; do
            v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
            [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
            sleep 0.01
        done
        wait "$pid"
        RSS_KB=$peak
        ;;
    esac
    rm -f "$tmp"
}

now_ns() { date +%s%N; }

# Steal and total CPU ticks of the machine so far (/proc/stat): on a shared VM the hypervisor
# may take a good part of the CPU while a tool runs, which the wall time alone hides.
ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit }' /proc/stat 2>/dev/null || echo "0 0"; }

# measure LABEL FILE CMD... : best of $RUNS runs, one table row.
measure() {
    local label=$1 file=$2
    shift 2
    local size best_ns=0 best_rss=0 best_cpu=- best_steal=- i t0 t1 ns s0 s1
    size=$(stat -c %s "$file")
    for ((i = 0; i < RUNS; i++)); do
        s0=$(ticks)
        t0=$(now_ns)
        run_rss "$@"
        t1=$(now_ns)
        s1=$(ticks)
        ns=$((t1 - t0))
        if [ "$best_ns" -eq 0 ] || [ "$ns" -lt "$best_ns" ]; then
            best_ns=$ns
            best_rss=$RSS_KB
            best_cpu=$CPU_S
            best_steal=$(echo "$s0 $s1" | awk '{ d = $4 - $2; printf "%.0f", (d > 0 ? 100 * ($3 - $1) / d : 0) }')
        fi
    done
    printf '  %-52s' "$label"
    awk -v b="$size" -v ns="$best_ns" -v kb="$best_rss" -v cpu="$best_cpu" -v st="$best_steal" 'BEGIN {
        s = ns / 1e9
        printf " %9.1f %9.3f %9s %12.1f %7s\n", (s > 0 ? b / 1e6 / s : 0), s, cpu, kb / 1024, st
    }'
}

header() {
    printf '  %-52s %9s %9s %9s %12s %7s\n' tool MB/s seconds "CPU s" "peak RSS MiB" "steal %"
}

# ---- build ----
say "building release binary and generator (cargo build --release) ..."
if ! cargo build --release --quiet --bin egresslens --example genlog; then
    say "error: build failed"
    exit 2
fi

# ---- inputs ----
mkdir -p "$DIR" || exit 2
for size in $SIZES; do
    for fmt in $FORMATS; do
        f="$DIR/$fmt-$size.log"
        if [ ! -s "$f" ]; then
            say "generating $f ..."
            "$GEN" --format "$fmt" --size "$size" --seed "$SEED" -o "$f" || exit 2
        fi
    done
done

HAVE_JQ=1
if ! command -v jq >/dev/null 2>&1; then
    HAVE_JQ=0
fi

echo "egresslens benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)'); $(nproc) cores: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); peak RSS via $RSS_METHOD; best of $RUNS run(s); files read from page cache"
[ "$HAVE_JQ" -eq 1 ] && echo "jq: $(jq --version)" || echo "jq: not installed, skipped (install with: apt-get install jq)"
echo

for size in $SIZES; do
    for fmt in $FORMATS; do
        f="$DIR/$fmt-$size.log"
        bytes=$(stat -c %s "$f")
        # Warm the page cache so every tool reads from memory, not from disk.
        cat "$f" >/dev/null
        echo "== $f ($fmt, $bytes bytes, $(wc -l <"$f") lines)"
        header
        measure "egresslens --format json FILE" "$f" "$BIN" --format json "$f"
        python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print("    (egresses %d, failed %d, completed %d, in progress %d)" % (s["egresses"], s["failed"], s["completed"], s["in_progress"]))' "$OUT" 2>/dev/null
        measure "egresslens -j 1 --format json FILE (one decoding thread)" "$f" "$BIN" -j 1 --format json "$f"
        measure "grep -c egress_ FILE" "$f" grep -c egress_ "$f"
        echo "    (count $(cat "$OUT"))"
        if [ "$fmt" = json ]; then
            if [ "$HAVE_JQ" -eq 1 ]; then
                measure "jq -c 'select(.msg==\"egress_failed\" or ...aborted)'" "$f" \
                    jq -c 'select(.msg=="egress_failed" or .msg=="egress_aborted")' "$f"
                echo "    ($(wc -l <"$OUT") lines selected)"
            else
                echo "  (jq skipped: not installed; apt-get install jq)"
            fi
        else
            # jq cannot parse zap console lines; the nearest equivalent selects the same lines.
            measure "grep -E '\\tegress_(failed|aborted)\\t' FILE | cut -f6" "$f" \
                bash -c "grep -E '${TAB}egress_(failed|aborted)${TAB}' \"\$1\" | cut -f6" _ "$f"
            echo "    ($(wc -l <"$OUT") lines selected)"
            echo "  (jq cannot parse console lines: grep + cut shown instead)"
        fi
        echo
    done
done

# ---- paste latency ----
SAMPLE=samples/origin-412.log
echo "== paste latency: $BIN $SAMPLE, 20 runs"
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --warmup 3 --runs 20 -N --export-json "$DIR/paste.json" "$BIN $SAMPLE" >/dev/null 2>&1 || true
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("  median %.2f ms (hyperfine, min %.2f, max %.2f)" % (r["median"]*1e3, r["min"]*1e3, r["max"]*1e3))' "$DIR/paste.json"
else
    times=()
    "$BIN" "$SAMPLE" >/dev/null 2>&1 # warm-up
    for _ in $(seq 20); do
        t0=$(now_ns)
        "$BIN" "$SAMPLE" >/dev/null 2>&1
        t1=$(now_ns)
        times+=($((t1 - t0)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "  median %.2f ms (min %.2f, max %.2f; date +%%s%%N loop, hyperfine not installed)\n", m / 1e6, a[1] / 1e6, a[NR] / 1e6
    }'
fi
echo
echo "logs kept in $DIR (rm -r $DIR when done)"
