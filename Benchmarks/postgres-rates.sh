#!/usr/bin/env bash
# Measures durable appends per second on PostgreSQL with 1, 4 and 16 client processes, alone
# and with a synchronous streaming standby, the figures the README's "Running on PostgreSQL"
# section quotes. Every process is the test harness appending through `Store(postgres:)`
# (one connection per process, group commit inside it); processes serialize on the ledger's
# head row, as the design requires.
#
#   Benchmarks/postgres-rates.sh [EVENTS_PER_RUN]     (default 4000 events per configuration)
#
# Needs Debian's postgresql (what .ci/run installs). Starts throwaway clusters
# under /tmp with scripts/pg-cluster.sh and removes them afterwards. Run it on a quiet machine:
# the client processes and the server share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-4000}
cluster=scripts/pg-cluster.sh

swift build -c release --product TallyHarness >&2
harness=$(swift build -c release --show-bin-path)/TallyHarness

primary=$(mktemp -u /tmp/pgrA.XXXX)
standby=$(mktemp -u /tmp/pgrB.XXXX)
trap '"$cluster" destroy "$standby" >/dev/null 2>&1 || true; "$cluster" destroy "$primary" >/dev/null 2>&1 || true' EXIT

# Runs N processes that together append $total events to fresh streams; prints events/s.
rate() { # URI N LABEL
    local uri=$1 processes=$2 label=$3 each=$(( total / $2 )) pids=() start end
    start=$(date +%s%N)
    for i in $(seq 1 "$processes"); do
        "$harness" ledger-append "$uri" "$label-$processes-$i" "$each" >/dev/null &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    end=$(date +%s%N)
    echo $(( each * processes * 1000000000 / (end - start) ))
}

uri=$("$cluster" start "$primary" 55501)
uri=${uri/\/\/\/postgres\?/\/\/\/tally\?}  # the `tally` database start created
"$harness" ledger-append "$uri" warmup 50 >/dev/null  # migrate, warm caches

echo "| client processes | appends/s, primary alone | appends/s, synchronous standby |"
echo "|---|---|---|"
declare -A alone
for n in 1 4 16; do alone[$n]=$(rate "$uri" "$n" alone); done
"$cluster" standby "$primary" "$standby" 55502 >/dev/null
for n in 1 4 16; do
    echo "| $n | ${alone[$n]} | $(rate "$uri" "$n" standby) |"
done
