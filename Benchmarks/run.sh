#!/usr/bin/env bash
# Builds Tally's benchmark suite in release mode, runs every workload and writes
# Benchmarks/results.md. Usage (from anywhere):
#
#   Benchmarks/run.sh                 the full suite (~20 minutes on 2 cores plus any load waits;
#                                     the first build of this package takes ~15 minutes; the
#                                     fixtures, W10's 1,000,000-event ledger included, ~30 s)
#   TALLY_BENCH_SCALE=0.05 Benchmarks/run.sh    a quick smoke run at 5 % of every size
#
# W9 times the main package's `tally` CLI: built here with `swift build -c release --product
# tally --static-swift-stdlib` in the repository root (set TALLY_CLI to use another binary
# and skip that build), and as a static executable (`-Xswiftc -static-executable`, in
# .build-static; TALLY_CLI_STATIC to use another).
#
# Files go to Benchmarks/.data (gitignored; override with TALLY_BENCH_DATA), which must be
# on the disk under test, not a tmpfs. Before each workload group the script waits (60 s at a
# time, at most 10 times) while the 1-minute load average is above 1.5, and records the load.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
export TALLY_BENCH_DATA=${TALLY_BENCH_DATA:-$HERE/.data}
RAW=$TALLY_BENCH_DATA/raw
COMMAND="Benchmarks/run.sh${TALLY_BENCH_SCALE:+ (TALLY_BENCH_SCALE=$TALLY_BENCH_SCALE)}"
MAX_LOAD=${TALLY_BENCH_MAX_LOAD:-1.5}
mkdir -p "$TALLY_BENCH_DATA"
rm -rf "$RAW"
mkdir -p "$RAW"
# W7's finished mirrors (BenchPaths.retire): removed only after the last group, since
# removing 100,000 files slows the next 100,000 creations on an ext4 without a journal.
rm -rf "$TALLY_BENCH_DATA/retired"

fstype=$(stat -f -c %T "$TALLY_BENCH_DATA")
if [ "$fstype" = tmpfs ] || [ "$fstype" = ramfs ]; then
    echo "error: $TALLY_BENCH_DATA is on $fstype; benchmarks must run on the disk under test (set TALLY_BENCH_DATA)" >&2
    exit 2
fi

# Tools: the sqlite3 CLI (W4 reference) and GNU time (its peak RSS).
missing=()
command -v sqlite3 >/dev/null || missing+=(sqlite3)
[ -x /usr/bin/time ] || missing+=(time)
pkg-config --exists sqlite3 2>/dev/null || missing+=(libsqlite3-dev)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi

wait_for_quiet() {  # $1 = label
    local load i
    for i in $(seq 1 10); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        awk -v l="$load" -v m="$MAX_LOAD" 'BEGIN { exit !(l > m) }' || break
        echo "load $load > $MAX_LOAD before $1: waiting 60 s ($i/10)"
        sleep 60
    done
    printf '%s\t%s\t%s\n' "$1" "$(date -u +%FT%TZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/load.tsv"
}

started=$(date +%s)
echo "== building (release)"
# SwiftPM plans a path dependency's sources once: a file added to Tally since the last build
# is not compiled ("no member" errors) until the build plan is made again.
rm -f .build/release.yaml
swift build -c release 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
swift build -c release --product tally-bench >/dev/null
if [ -z "${TALLY_CLI:-}" ]; then
    echo "== building the tally CLI (release, repository root) for W9"
    # As Tally's CLI is meant to be shipped: release, Swift runtime linked statically (it
    # saves ~3 ms of dynamic symbol binding per invocation).
    (cd .. && swift build -c release --product tally --static-swift-stdlib 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]|mktemp' || true)
    export TALLY_CLI=$HERE/../.build/release/tally
fi
[ -x "$TALLY_CLI" ] || { echo "error: no tally CLI at $TALLY_CLI" >&2; exit 2; }
if [ -z "${TALLY_CLI_STATIC:-}" ]; then
    echo "== building the tally CLI as a static executable (release, repository root, .build-static) for W9"
    # The same sources with nothing left to the dynamic loader (the README's "static
    # executable" build): no shared library is mapped, relocated or bound at start-up.
    # Its own build directory, so that neither build's flags rebuild the other's objects.
    (cd .. && swift build -c release --product tally --static-swift-stdlib -Xswiftc -static-executable \
        --scratch-path .build-static 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]|mktemp|statically linked applications requires' || true)
    export TALLY_CLI_STATIC=$HERE/../.build-static/release/tally
fi
[ -x "$TALLY_CLI_STATIC" ] || { echo "error: no static tally CLI at $TALLY_CLI_STATIC" >&2; exit 2; }

echo "== fixtures (W4/W6/W7 documents and snapshot, W10's ledger; cached in $TALLY_BENCH_DATA)"
.build/release/tally-bench fixtures
.build/release/tally-bench list > "$RAW/cases.tsv"
.build/release/tally-bench sizes > "$RAW/sizes.json"

# One plugin invocation per workload group, so the load is checked before each.
groups=("W1" "W1g" "W2|disk" "W3" "W4" "W5" "W5x" "W6" "W7" "W7b|W7r" "W8" "W9" "W10")
for group in "${groups[@]}"; do
    wait_for_quiet "$group"
    echo "== $group"
    name=$(echo "$group" | tr -c 'A-Za-z0-9\n' '_')
    swift package --allow-writing-to-package-directory benchmark \
        --filter "($group) .*" --format histogramSamples --path "$RAW/$name" --no-progress 2>&1 \
        | grep -Ev '^\[[0-9]+/[0-9]+\]|^Building|^Build of|interposer' || true
done

# The sqlite3 CLI on the same table as W4: 1 warm-up + 5 timed runs, wall time and peak RSS.
wait_for_quiet "W4 sqlite3 CLI"
echo "== W4 sqlite3 -json"
fixture=$(ls "$TALLY_BENCH_DATA"/fixture-state-*.db | head -1)
out="$TALLY_BENCH_DATA/w4-cli.json"
for run in 0 1 2 3 4 5; do
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$RAW/cli-rss.txt" sqlite3 -json "$fixture" 'SELECT * FROM state' > "$out"
    t1=$(date +%s%N)
    sync "$out"
    t2=$(date +%s%N)
    rows=$(sqlite3 "$fixture" 'SELECT count(*) FROM state')
    [ "$run" -gt 0 ] && printf '%s\t%s\t%s\t%s\n' "$rows" $(( t1 - t0 )) $(( t2 - t0 )) "$(cat "$RAW/cli-rss.txt")" >> "$RAW/cli.tsv"
done
rm -f "$out"
rm -rf "$TALLY_BENCH_DATA/retired"

finished=$(date +%s)
python3 Tools/report.py --raw "$RAW" --data "$TALLY_BENCH_DATA" --command "$COMMAND" \
    --seconds $(( finished - started )) --output "$HERE/results.md"
echo "== wrote $HERE/results.md in $(( finished - started )) s"
