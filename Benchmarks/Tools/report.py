#!/usr/bin/env python3
"""Turns the raw results of Benchmarks/run.sh into Benchmarks/results.md.

Inputs (in --raw): ordo-one's `--format histogramSamples` export per workload group
(<group>/*.histogram.samples.tsv: every measured iteration's wall clock in μs and peak RSS),
cases.tsv (case name, operations per run), cli.tsv (the sqlite3 CLI runs), load.tsv.
Medians are taken over each benchmark's measured iterations (its rawData samples).
"""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess

parser = argparse.ArgumentParser()
parser.add_argument("--raw", required=True)
parser.add_argument("--data", required=True)
parser.add_argument("--command", required=True)
parser.add_argument("--seconds", type=int, default=0)
parser.add_argument("--output", required=True)
args = parser.parse_args()


def sh(command):
    try:
        return subprocess.run(command, shell=True, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


# ---- inputs -------------------------------------------------------------------------
operations = {}
with open(os.path.join(args.raw, "cases.tsv")) as f:
    for line in f:
        name, ops = line.rstrip("\n").split("\t")
        operations[name] = int(ops.split()[0])

results = {}  # case name -> dict(ops_s, min, max, n, wall_s, rss_mb, rss_max_mb)


def shell_safe(text):
    return re.sub(r"[^A-Za-z0-9]", "_", text)


samples = {}  # (case name, metric) -> [values]
for path in glob.glob(os.path.join(args.raw, "*", "*.histogram.samples.tsv")):
    base = os.path.basename(path)[: -len(".histogram.samples.tsv")]
    stem, metric = base.rsplit(".", 1)
    key = stem.split(".", 2)[-1]  # Current_run.TallyBenchmarks.<name>
    name = next((n for n in operations if shell_safe(n) == shell_safe(key)), None)
    if name is None:
        continue
    with open(path) as f:
        header = f.readline()
        values = [float(line) for line in f if line.strip()]
    samples[(name, metric)] = (header.strip(), values)

for name, ops in operations.items():
    wall = samples.get((name, "wallClock"))
    if not wall or not wall[1]:
        continue
    header, wall_us = wall
    assert "(μs)" in header or "(us)" in header, f"wall clock not in microseconds: {header}"
    rss = samples.get((name, "peakMemoryResident"), ("", []))[1]
    rates = [ops / (us / 1e6) for us in wall_us if us > 0]
    results[name] = {
        "ops_s": ops / (statistics.median(wall_us) / 1e6),
        "min": min(rates),
        "max": max(rates),
        "n": len(wall_us),
        "wall_s": statistics.median(wall_us) / 1e6,
        "rss_mb": statistics.median(rss) if rss else None,  # ordo-one reports it in M (10^6 bytes)
        "rss_max_mb": max(rss) if rss else None,
    }

cli = None
cli_path = os.path.join(args.raw, "cli.tsv")
if os.path.exists(cli_path):
    rows = [line.split("\t") for line in open(cli_path).read().splitlines() if line]
    if rows:
        n_rows = int(rows[0][0])
        plain = [int(r[1]) / 1e9 for r in rows]
        synced = [int(r[2]) / 1e9 for r in rows]
        rss = [int(r[3]) * 1024 / 1e6 for r in rows]  # GNU time: KiB -> MB
        cli = {
            "ops_s": n_rows / statistics.median(plain),
            "min": n_rows / max(plain),
            "max": n_rows / min(plain),
            "synced_ops_s": n_rows / statistics.median(synced),
            "rss_mb": statistics.median(rss),
            "n": len(rows),
        }

sizes = {}
sizes_path = os.path.join(args.raw, "sizes.json")
if os.path.exists(sizes_path):
    with open(sizes_path) as f:
        sizes = json.load(f)

loads = []
load_path = os.path.join(args.raw, "load.tsv")
if os.path.exists(load_path):
    loads = [line.split("\t") for line in open(load_path).read().splitlines() if line]


# ---- formatting -----------------------------------------------------------------------
def rate(name):
    r = results.get(name)
    return r["ops_s"] if r else None


def fmt_rate(value):
    if value is None:
        return "—"
    if value >= 100_000:
        return f"{value / 1000:,.0f}k"
    if value >= 10_000:
        return f"{value / 1000:,.1f}k"
    return f"{value:,.0f}"


def cell(name):
    r = results.get(name)
    if not r:
        return "—"
    return f"**{fmt_rate(r['ops_s'])}** ({fmt_rate(r['min'])}–{fmt_rate(r['max'])}, n={r['n']})"


def ratio(a, b):
    return a / b if a and b else None


def fmt_ratio(value):
    return "—" if value is None else f"{value:.2f}×"


def rss(name):
    r = results.get(name)
    return "—" if not r or r["rss_mb"] is None else f"{r['rss_mb']:.0f} MB"


def n(name):
    return f"{operations.get(name, 0):,}"


# Per-operation metrics (custom metrics of W8-W10, nanoseconds, measured iterations only).
def per_op(name, metric):
    return samples.get((name, metric), ("", []))[1]


def pct(name, metric, p):
    values = sorted(per_op(name, metric))
    if not values:
        return None
    rank = max(1, min(len(values), -(-len(values) * p // 100)))  # nearest rank
    return values[int(rank) - 1]


def fmt_ms(nanoseconds):
    if nanoseconds is None:
        return "—"
    ms = nanoseconds / 1e6
    return f"{ms:.3f} ms" if ms < 1 else f"{ms:.2f} ms" if ms < 100 else f"{ms:.0f} ms"


W = {
    "W1": f"bulk append, {n('W1 Tally')} events, 1,000/tx, `synchronous=NORMAL`",
    "W2": f"durable append, {n('W2 Tally')} events, 1 tx each, `synchronous=FULL`",
    "W3": f"state upserts, {n('W3 Tally')} docs (~210 B), 1,000/tx, `NORMAL`",
    "W4": f"export {n('W4 Tally')} docs to a file (rows/s)",
    "W5": f"{n('W5 Tally')} durable appends from 4 writer threads (`FULL`)",
    "W1g": f"bulk append as W1, event ids made by the writer (Tally: UUIDv7; raw C: v7, other: v4)",
    "W5x": f"{n('W5x Tally')} durable appends from 32 writer threads (`FULL`)",
    "W6": "import the W4 snapshot into a fresh DB (docs/s)",
    "W7": f"`Store.mirror(to:)` of {n('W7 Tally')} docs into an empty dir (files/s) — stands in for reconcile",
    "W7b": "`Store.mirror(to:)` again over the complete, unchanged mirror (files/s)",
    "W7r": "`Store.reconcile(against: .directory(…))` of the same unchanged mirror (files/s; raw C: W7b's)",
}
MAIN = ["W1", "W1g", "W2", "W3", "W4", "W5", "W5x", "W6", "W7", "W7b", "W7r"]
# The raw C column's case where it is not "<W> raw C".
RAW_PEER = {"W1g": "W1g raw C v7", "W7r": "W7b raw C"}

lines = []
add = lines.append
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-").strip()
disk = sh(f"df -h --output=source,fstype,size,avail,target {args.data} | tail -1")
commit = sh("git -C .. log -1 --format='%h %s' | cut -c1-90")

add("# Tally benchmark results")
add("")
add(f"- **Date:** {now}; full run {args.seconds // 60} min {args.seconds % 60} s including the build check")
add(f"- **Command:** `{args.command}` (from the repository root; `swift package benchmark` per workload group, release build)")
memory = sh("free -g | awk '/Mem:/ {print $2}'")
sqlite_version = sh("sqlite3 --version | cut -d' ' -f1")
add(f"- **Machine:** {sh('nproc')} cores ({cpu}), {memory} GiB RAM, "
    f"kernel {platform.release()}; shared with other builds")
add(f"- **Disk under test:** `{disk}` (data in `{os.path.relpath(args.data, os.path.dirname(args.output))}`)")
add(f"- **SQLite:** {sqlite_version} (system libsqlite3, used by all three peers); "
    f"**Swift:** {sh('swift --version 2>&1 | head -1')}")
add(f"- **Tally commit:** `{commit}`")
if loads:
    add("- **1-minute load before each group** (waited while > 1.5, up to 10 × 60 s): "
        + ", ".join(f"{g} {l.split()[0]}" for g, _, l in loads))
add("")
add("Medians of the measured iterations (ordo-one `benchmark` 1.38.1, wall clock of the "
    "measured region only; setup such as creating the fresh database is outside it). "
    "In parentheses: slowest–fastest iteration and the number of iterations. ops/s = events, "
    "documents, rows or files per second.")
add("")
add("| Workload | Tally | raw C (SQLite C API) | GRDB 7.10 | other | Tally/raw C | Tally/GRDB |")
add("|---|---|---|---|---|---|---|")
for w in MAIN:
    raw_case = RAW_PEER.get(w, w + " raw C")
    other = "—"
    if w == "W1g":
        other = "raw C v4 (random ids): " + cell("W1g raw C v4")
    if w == "W5x":
        other = "Tally W2 (one writer): " + cell("W2 Tally")
    if w == "W2":
        other = "disk 4k append+fdatasync: " + cell("disk 4k append+fdatasync")
    if w == "W4" and cli:
        other = (f"`sqlite3 -json`: **{fmt_rate(cli['ops_s'])}** ({fmt_rate(cli['min'])}–{fmt_rate(cli['max'])}, "
                 f"n={cli['n']}); with `sync FILE`: {fmt_rate(cli['synced_ops_s'])}")
    add(f"| **{w}** {W[w]} | {cell(w + ' Tally')} | {cell(raw_case)} | {cell(w + ' GRDB')} | {other} | "
        f"{fmt_ratio(ratio(rate(w + ' Tally'), rate(raw_case)))} | "
        f"{fmt_ratio(ratio(rate(w + ' Tally'), rate(w + ' GRDB')))} |")
add("")

# ---- W1g ------------------------------------------------------------------------------
add("### W1g: event ids generated while appending")
add("")
add("| | ops/s | ratio |")
add("|---|---|---|")
add(f"| Tally W1g (ids generated: UUIDv7) vs Tally W1 (ids given) | {cell('W1g Tally')} vs {cell('W1 Tally')} | "
    f"W1g/W1 = {fmt_ratio(ratio(rate('W1g Tally'), rate('W1 Tally')))} |")
add(f"| raw C, UUIDv7 ids vs random v4 ids (the gain of time-ordered ids) | {cell('W1g raw C v7')} vs {cell('W1g raw C v4')} | "
    f"v7/v4 = {fmt_ratio(ratio(rate('W1g raw C v7'), rate('W1g raw C v4')))} |")
add(f"| Tally W1g vs raw C v7 | | {fmt_ratio(ratio(rate('W1g Tally'), rate('W1g raw C v7')))} |")
add("")

# ---- W5 ceiling ------------------------------------------------------------------------
add("### W5: what 4 synchronous writers can reach")
add("")
add(f"A writer that waits for its commit has one event in flight, so 4 writers put at most 4 events in "
    f"one transaction, whatever the design. Committing 4 events per transaction from one connection, with "
    f"no callers to wake:")
add("")
add("| | ops/s | vs W5's raw C | Tally's W5 against it |")
add("|---|---|---|---|")
for case, what in [("W5 raw C 4/commit", "raw C, 4 consecutive W1-style events (adjacent ids and streams), no hashing"),
                   ("W5 raw C 4 writers/commit", "raw C, every writer's next W5 event (each writer's own stream and ids), no hashing"),
                   ("W5 Tally 4/commit", "Tally, the same 4 W5 events per `append(contentsOf:)` call, one thread")]:
    add(f"| {what} | {cell(case)} | {fmt_ratio(ratio(rate(case), rate('W5 raw C')))} | "
        f"{fmt_ratio(ratio(rate('W5 Tally'), rate(case)))} |")
add("")
add(f"The second row is the ceiling of any group commit of W5's writers against W5's raw C "
    f"({cell('W5 raw C')}); the third is Tally's own, with every event hashed and checked: what its "
    f"group commit would reach if waking the writers cost nothing. Tally's W5: {cell('W5 Tally')} "
    f"(its single-writer W2 is {fmt_ratio(ratio(rate('W2 Tally'), rate('W2 raw C')))} raw C's).")
add("")

# ---- W5x ------------------------------------------------------------------------------
add("### W5x: 32 durable writers against one")
add("")
add(f"Tally with 32 writer threads ({n('W5x Tally')} appends, one event per call, `FULL`, group commit): "
    f"{cell('W5x Tally')}; Tally's single-writer W2: {cell('W2 Tally')} → "
    f"**{fmt_ratio(ratio(rate('W5x Tally'), rate('W2 Tally')))}** (goal ≥ 10×). "
    f"For reference, raw C with 32 connections (`BEGIN IMMEDIATE`, busy timeout, one transaction per event): "
    f"{cell('W5x raw C')}; W5 (4 writers) Tally: {cell('W5 Tally')}.")
add("")

# ---- W5 async -------------------------------------------------------------------------
add("### W5 async: 64 tasks against 4 threads")
add("")
add(f"The W5 events ({n('W5 Tally')} durable appends) from 64 tasks calling `await store.ledger.append`: "
    f"{cell('W5 Tally async')}; from 4 threads (W5): {cell('W5 Tally')} → "
    f"**{fmt_ratio(ratio(rate('W5 Tally async'), rate('W5 Tally')))}** (goal ≥ 1×).")
add("")

# ---- W8 -------------------------------------------------------------------------------
W8_CASES = [("none", "W8 Tally no follower"), ("in-process (`LedgerFeed` thread)", "W8 Tally in-process"),
            ("cross-process (`tally-bench follow-child`)", "W8 Tally cross-process")]
add(f"### W8: following the ledger under W5's load ({n('W8 Tally no follower')} durable appends from 4 writers)")
add("")
add("Latency = the follower's `CLOCK_MONOTONIC` when it receives an event − the writer's, read right after "
    "`append` returned that event (nearest-rank percentiles over every event of the measured iterations).")
add("")
add("| Follower | latency p50 | p99 | max | events | writers' rate | rate vs no follower |")
add("|---|---|---|---|---|---|---|")
for label, case in W8_CASES:
    values = per_op(case, "latency_ns")
    has = bool(values)
    add(f"| {label} | {fmt_ms(pct(case, 'latency_ns', 50)) if has else '—'} | {fmt_ms(pct(case, 'latency_ns', 99)) if has else '—'} | "
        f"{fmt_ms(max(values)) if has else '—'} | {len(values) if has else '—'} | {cell(case)} | "
        f"{fmt_ratio(ratio(rate(case), rate('W8 Tally no follower')))} |")
add("")

# ---- W9 -------------------------------------------------------------------------------
W9_ROWS = [("W9 tally append", "`tally append --stream s --kind k`", "W9 sqlite3 insert"),
           ("W9 tally append, static executable", "the same, `tally` built as a static executable", "W9 sqlite3 insert"),
           ("W9 sqlite3 insert", "`sqlite3 DB \"PRAGMA synchronous=FULL; INSERT INTO t …\"`", None),
           ("W9 tally --help", "`tally --help`", "W9 sqlite3 --version"),
           ("W9 tally --version", "`tally --version`", "W9 sqlite3 --version"),
           ("W9 sqlite3 --version", "`sqlite3 --version`", None)]
add(f"### W9: command-line start-up ({n('W9 tally append')} invocations per iteration, after warm-up)")
add("")
add("| Command | ms per invocation p50 | p99 | invocations | vs sqlite3 (p50) |")
add("|---|---|---|---|---|")
for case, label, reference in W9_ROWS:
    p50 = pct(case, "invocation_ns", 50)
    add(f"| {label} | {fmt_ms(p50)} | {fmt_ms(pct(case, 'invocation_ns', 99))} | {len(per_op(case, 'invocation_ns')) or '—'} | "
        f"{fmt_ratio(ratio(p50, pct(reference, 'invocation_ns', 50))) if reference else ''} |")
add("")

# ---- W10 ------------------------------------------------------------------------------
ledger_size = sizes.get("proofEvents")
add(f"### W10: proofs on a ledger of {f'{ledger_size:,}' if ledger_size else '—'} events")
add("")
add("| Call | p50 | p99 | max | calls | calls/s (median iteration) |")
add("|---|---|---|---|---|---|")
for case, label in [("W10 Tally inclusion proof", "`store.inclusionProof(seq: random, treeSize: size)`"),
                    ("W10 Tally consistency proof", "`store.consistencyProof(from: random, to: random ≥ from)`")]:
    values = per_op(case, "proof_ns")
    add(f"| {label} | {fmt_ms(pct(case, 'proof_ns', 50))} | {fmt_ms(pct(case, 'proof_ns', 99))} | "
        f"{fmt_ms(max(values)) if values else '—'} | {len(values) or '—'} | {cell(case)} |")
add("")
add("**Not the same work per row** (the peers do what the schema requires, no more):")
add("")
add("- All peers: the same schema (raw C and GRDB create it from every migration in `Migrations/`; W6's raw C peer "
    "writes into a database Tally created) and writing connections set as Tally's is: WAL, the workload's "
    "`synchronous`, `foreign_keys = ON`, `temp_store = MEMORY` (statement journals in memory).")
add("- WAL checkpoints: raw C and GRDB run SQLite's automatic checkpoint, inside the commit that leaves 1,000 "
    "pages in the WAL, on the writing thread. Tally (by default) copies the bulk of the WAL on a thread of its "
    "own and the writer only the short tail a round leaves (`Store.Configuration.walCheckpointing`), so on "
    "2 cores the copy runs beside the writes. Every Tally run that writes ends its timed region with "
    "`store.checkpointWAL()`, which waits for a round in flight and copies what is left: Tally's measured "
    "region includes at least the copying the peers' does (they leave up to 1,000 pages uncopied). "
    "`TALLY_BENCH_CHECKPOINT=commit` runs Tally with SQLite's automatic checkpoint instead.")
add("- SQLite's memory statistics (process-wide): Tally turns them off at its first open, as SQLite recommends "
    "for builds that do not need them (`Store.keepsSQLiteMemoryStatistics` keeps them); raw C and GRDB leave "
    "SQLite's default, on, so each allocation inside SQLite takes a process-wide mutex. Each case's process "
    "settles this before the case touches SQLite (a Tally case opens a throwaway store first, any other "
    "initializes SQLite with its defaults) and checks it after preparing. `TALLY_BENCH_MEMSTATUS=keep` runs "
    "Tally with them on: W3 in single runs 69.8–72.2k docs/s with them on against 79.3–83.4k off.")
add("- W1/W2/W5: **Tally also computes SHA-256 over the RFC 8785 (JCS) form of every event** "
    "(the hash chain), canonicalizes and validates the payload, reads the chain tip once per "
    "transaction (re-hashing it to verify it) and each stream's version once per stream per transaction "
    "(a resent event id is recognized from the UNIQUE violation, not looked up). "
    "raw C and GRDB compute no hash: they insert a 64-hex-digit placeholder (the seq, zero-padded) "
    "so the chain triggers (seq = last + 1, prev_hash = last hash, stream_version = last + 1) still "
    "pass, keep the tip and the stream versions in memory (W5: they read the tip inside each "
    "transaction), and take one timestamp per transaction instead of one per event.")
add("- W3: Tally canonicalizes every body (JCS) and computes its SHA-256, validates the key and reads the "
    "current row with its case variants in one statement (and, for a new key, the history's last version). "
    "The peers store precomputed canonical text and "
    "checksums (computed outside the timed region) with one `INSERT … ON CONFLICT(key) DO UPDATE`.")
add("- W4: Tally writes its snapshot format (header, records, SHA-256 trailer over the whole file) and "
    "re-hashes every body against its checksum; raw C and GRDB write the same state records without "
    "any hashing. Tally, raw C and GRDB all write a temp file, fsync, rename, fsync the directory; "
    "the `sqlite3 -json` CLI just writes to a redirected stdout (the \"with `sync FILE`\" figure adds "
    "one fsync of the output file).")
add("- W5: Tally = 4 threads calling `store.ledger.append` (its group commit batches concurrent "
    "requests into one transaction); raw C = one connection per thread, `BEGIN IMMEDIATE` + busy "
    "timeout, one transaction per event; GRDB = one `DatabasePool`, `pool.write` per event.")
add("- W1/W2 (and every Tally append) also maintain the ledger's Merkle tree (RFC 9162, migration 0004) in the "
    "append transaction; the raw C and GRDB peers have its tables but write no `merkle_nodes`.")
add("- W1g: as W1, but no event id is given. Tally generates a UUIDv7 per event (48-bit ms time, a 12-bit counter "
    "within the millisecond, random tail from `SystemRandomNumberGenerator`, formatted in Swift). raw C makes each id "
    "in C per event: v7 = 48-bit ms time + version + 74 random bits (no counter), v4 = 122 random bits, both from a "
    "splitmix64 generator seeded once from getrandom(2), so the two C peers differ only in the ids' order in the "
    "`event_id` UNIQUE index.")
add("- W5x: Tally = 32 threads calling `store.ledger.append` (group commit); raw C = 32 connections, `BEGIN "
    "IMMEDIATE` + busy timeout (SQLite's busy handler sleeps between retries), one transaction per event. The goal "
    "compares Tally's W5x with its own single-writer W2.")
add("- W6: Tally reads and checks every line of the snapshot (JSON, field types, key rules, each body's checksum "
    "recomputed over its canonical form, the SHA-256 trailer); into a database that never held a document it looks "
    "nothing up per key (case variants are found with a set of case-folded key hashes). raw C inserts the same rows, loaded before the timed region from the fixture database "
    "the snapshot was exported from (no parsing, no hashing), bound with `SQLITE_STATIC`, into a database Tally "
    "created (its migrations' tables and triggers: the state triggers write `state_history` for both), in one "
    "transaction at `FULL`, and sets the ledger identity as Tally's import does. The W4 fixture holds documents only "
    "(no events); the raw C peer copies `ledger`, `merkle_nodes`, `checkpoints` and `consumers` rows too when a "
    "fixture has them.")
add("- W7: Tally reads every document in one read transaction, renders its file (pretty JSON, sorted keys), checks "
    "for an existing file, writes temp files with a `syncfs` per batch of 2,000 files, renames, fsyncs the "
    "directories, then walks the directory for files to remove and writes `MANIFEST.json` atomically. raw C writes "
    "the exact bytes of Tally's mirror of the same database (`MANIFEST.json` included, loaded before the timed "
    "region): every file to a temp name (`O_CREAT|O_EXCL`, write, close), **one** `syncfs`, every rename, one fsync "
    "per directory and one of the root's parent. `syncfs` writes back the whole file system, so both peers also wait "
    "for whatever else is dirty on the disk (each iteration `sync`s before its timed region). Each iteration writes "
    "into a new directory; the finished ones are moved aside and removed after the last group, because on this "
    "VM's ext4 (no journal) creating 100,000 files within minutes of removing 100,000 took 10× as long, for both "
    "peers (the kernel skips recently freed inodes, checking each one: `recently_deleted`).")
add("- W7b: Tally reads and renders every document, reads and compares its file, walks the directory and rewrites "
    "`MANIFEST.json` (atomically, with its fsyncs). raw C only walks the directory (readdir) and, per file, "
    "`openat` + `fstat` + `read` + `memcmp` against the expected bytes (held in memory with a hash table by path "
    "built before the timed region); it writes nothing.")
add("- W7r: Tally does W7b's reading (every document verified and rendered, every file read and compared, on "
    "two threads, and the directory walked) and checks `MANIFEST.json` instead of rewriting it; it writes nothing. "
    "Its raw C column is W7b's raw C run (there is no separate raw C reconcile: the reading is the same).")
add("- W8: the in-process follower is a thread calling `LedgerFeed.next(timeout:)` (woken by the store's commit "
    "notifier); the cross-process follower is a read-only `Store` in `tally-bench follow-child` (woken through "
    "inotify and the `data_version` probe), printing each event's seq and `CLOCK_MONOTONIC` as it receives it. "
    "Both are caught up before the writers start, and the timed region ends when the follower has the last "
    "event. A delivery seen before the writer's `append` returned counts as 0.")
add("- W9: each invocation is `posix_spawn` + `waitpid` with stdout and stderr on /dev/null, timed from the "
    "spawn to the exit, after an untimed invocation and the harness's warm-up iteration. `tally append` opens the "
    "existing Tally database (`FULL`), validates and appends one event (hash chain, Merkle tree) and prints one line; "
    "`sqlite3 -batch` inserts one row into a 4-column table (`stream`, `kind`, a timestamp) of a WAL database. "
    "`tally` is a Swift program: its start-up includes loading the Swift runtime and Foundation. The default build "
    "links the Swift runtime statically and the C libraries (glibc, libstdc++, libsqlite3) dynamically; the static "
    "executable links all of them, so the dynamic loader has nothing to do (the `sqlite3` CLI is dynamically linked).")
add("- W10: a read-only store on a fixture ledger built once with bulk appends (10,000 events per transaction, "
    "`NORMAL`) with a checkpoint signed at its full size; before each iteration the fixture file is read once "
    "(untimed: the page cache warm, as on a machine serving proofs; this VM keeps little cached between runs, and a "
    "cold 300 MB file made the p99 a measure of the disk) and one inclusion and one "
    "consistency proof are checked against that checkpoint. Inclusion proofs for a random seq in the tree of the "
    "full size; consistency proofs for random sizes 1 ≤ old ≤ new ≤ the ledger's size; each call timed on its own.")
add("")

# ---- targets ----------------------------------------------------------------------------
targets = []


def target(label, value, goal, unit="×", at_most=False, text=None):
    if value is None:
        targets.append((label, "—", "not measured"))
        return
    met = value <= goal if at_most else value >= goal
    shown = text if text is not None else f"{value:.2f}{unit}"
    goal_text = f"{goal:,.0f}" if goal >= 1000 else f"{goal:g}"
    targets.append((label, f"{shown} (goal {'≤' if at_most else '≥'} {goal_text}{unit})", "met" if met else "**missed**"))


def target_ms(label, nanoseconds, goal_ms):
    if nanoseconds is None:
        targets.append((label, "—", "not measured"))
        return
    met = nanoseconds / 1e6 < goal_ms
    targets.append((label, f"{fmt_ms(nanoseconds)} (goal < {goal_ms:g} ms)", "met" if met else "**missed**"))


target("W1 Tally/GRDB", ratio(rate("W1 Tally"), rate("W1 GRDB")), 1.0)
target("W1 Tally/raw C", ratio(rate("W1 Tally"), rate("W1 raw C")), 0.85)
target("W2 Tally/raw C", ratio(rate("W2 Tally"), rate("W2 raw C")), 0.9)
target("W3 Tally/GRDB", ratio(rate("W3 Tally"), rate("W3 GRDB")), 1.0)
target("W4 Tally/`sqlite3 -json`", ratio(rate("W4 Tally"), cli["ops_s"] if cli else None), 1.0)
target("W4 Tally/raw C", ratio(rate("W4 Tally"), rate("W4 raw C")), 0.8)
w4 = results.get("W4 Tally")
if w4 and w4["rss_max_mb"] is not None:
    mib = w4["rss_max_mb"] * 1e6 / 2**20
    targets.append(("W4 Tally peak RSS", f"≈ {mib:.0f} MiB (goal < 64 MiB; whole benchmark process, max over iterations)",
                    "met" if mib < 64 else "**missed**"))
target("W5 Tally/raw C", ratio(rate("W5 Tally"), rate("W5 raw C")), 3.0)
target("W6 Tally/W4 Tally (within 2×)", ratio(rate("W6 Tally"), rate("W4 Tally")), 0.5)
target("W7 mirror/W4 Tally (within 2×)", ratio(rate("W7 Tally"), rate("W4 Tally")), 0.5)
target("W7b re-mirror/W4 Tally (within 2×)", ratio(rate("W7b Tally"), rate("W4 Tally")), 0.5)
target("W5x Tally (32 writers)/W2 Tally (1 writer)", ratio(rate("W5x Tally"), rate("W2 Tally")), 10.0)
target("W5 Tally async (64 tasks)/W5 Tally (4 threads)", ratio(rate("W5 Tally async"), rate("W5 Tally")), 1.0)
target("W6 import Tally/raw C", ratio(rate("W6 Tally"), rate("W6 raw C")), 0.8)
target("W7 mirror Tally/raw C", ratio(rate("W7 Tally"), rate("W7 raw C")), 0.5)
target("W7 mirror Tally files/s", rate("W7 Tally"), 10_000, unit=" files/s",
       text=f"{fmt_rate(rate('W7 Tally'))} files/s" if rate("W7 Tally") else None)
target("W7b re-mirror Tally/raw C", ratio(rate("W7b Tally"), rate("W7b raw C")), 0.5)
target_ms("W8 in-process follow latency p99", pct("W8 Tally in-process", "latency_ns", 99), 5)
target_ms("W8 cross-process follow latency p99", pct("W8 Tally cross-process", "latency_ns", 99), 50)
target("W8 writers' rate with an in-process follower/without (cost ≤ 5 %)",
       ratio(rate("W8 Tally in-process"), rate("W8 Tally no follower")), 0.95)
target("W8 writers' rate with a cross-process follower/without (cost ≤ 5 %)",
       ratio(rate("W8 Tally cross-process"), rate("W8 Tally no follower")), 0.95)
target("W9 `tally append`/`sqlite3` insert (ms per invocation, p50), static executable",
       ratio(pct("W9 tally append, static executable", "invocation_ns", 50), pct("W9 sqlite3 insert", "invocation_ns", 50)), 1.5, at_most=True)
target("W9 the same, default build (`--static-swift-stdlib`, dynamically linked)",
       ratio(pct("W9 tally append", "invocation_ns", 50), pct("W9 sqlite3 insert", "invocation_ns", 50)), 1.5, at_most=True)
target_ms("W10 inclusion proof p99", pct("W10 Tally inclusion proof", "proof_ns", 99), 1)
target_ms("W10 consistency proof p99", pct("W10 Tally consistency proof", "proof_ns", 99), 1)

add("## Targets")
add("")
add("| Target | Measured | |")
add("|---|---|---|")
for label, value, verdict in targets:
    add(f"| {label} | {value} | {verdict} |")
add("")

# ---- memory -----------------------------------------------------------------------------
add("## Peak resident memory")
add("")
add("ordo-one's `peakMemoryResident` (median over iterations, in MB = 10^6 bytes as it reports it) of the whole benchmark process — "
    "it includes the harness and the workload's input data kept in memory (e.g. W1's 200,000 "
    "prepared events); the CLI's is GNU time's maximum RSS.")
add("")
add("| Workload | Tally | raw C | GRDB | other |")
add("|---|---|---|---|---|")
for w in MAIN:
    other = f"`sqlite3 -json`: {cli['rss_mb']:.0f} MB" if (w == "W4" and cli) else "—"
    if w == "W1g":
        other = f"raw C v4: {rss('W1g raw C v4')}"
    add(f"| {w} | {rss(w + ' Tally')} | {rss(RAW_PEER.get(w, w + ' raw C'))} | {rss(w + ' GRDB')} | {other} |")
for case in ["W8 Tally no follower", "W8 Tally in-process", "W8 Tally cross-process", "W10 Tally inclusion proof",
             "W10 Tally consistency proof"]:
    add(f"| {case} | {rss(case)} | — | — | — |")
add("")
add("Raw exports of this run (ordo-one samples per group, CLI timings, load log) are in "
    "`Benchmarks/.data/raw/` (not committed).")
add("")

with open(args.output, "w") as f:
    f.write("\n".join(lines))
