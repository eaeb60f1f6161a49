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


W = {
    "W1": f"bulk append, {n('W1 Tally')} events, 1,000/tx, `synchronous=NORMAL`",
    "W2": f"durable append, {n('W2 Tally')} events, 1 tx each, `synchronous=FULL`",
    "W3": f"state upserts, {n('W3 Tally')} docs (~210 B), 1,000/tx, `NORMAL`",
    "W4": f"export {n('W4 Tally')} docs to a file (rows/s)",
    "W5": f"{n('W5 Tally')} durable appends from 4 writer threads (`FULL`)",
    "W6": "import the W4 snapshot into a fresh DB (docs/s)",
    "W7": f"`Store.mirror(to:)` of {n('W7 Tally')} docs into an empty dir (files/s) — stands in for reconcile",
    "W7b": "`Store.mirror(to:)` again over the complete, unchanged mirror (files/s)",
}

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
for w in ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W7b"]:
    other = "—"
    if w == "W2":
        other = "disk 4k append+fdatasync: " + cell("disk 4k append+fdatasync")
    if w == "W4" and cli:
        other = (f"`sqlite3 -json`: **{fmt_rate(cli['ops_s'])}** ({fmt_rate(cli['min'])}–{fmt_rate(cli['max'])}, "
                 f"n={cli['n']}); with `sync FILE`: {fmt_rate(cli['synced_ops_s'])}")
    add(f"| **{w}** {W[w]} | {cell(w + ' Tally')} | {cell(w + ' raw C')} | {cell(w + ' GRDB')} | {other} | "
        f"{fmt_ratio(ratio(rate(w + ' Tally'), rate(w + ' raw C')))} | "
        f"{fmt_ratio(ratio(rate(w + ' Tally'), rate(w + ' GRDB')))} |")
add("")
add("**Not the same work per row** (the peers do what the schema requires, no more):")
add("")
add("- W1/W2/W5: **Tally also computes SHA-256 over the RFC 8785 (JCS) form of every event** "
    "(the hash chain), canonicalizes and validates the payload, generates nothing but reads the "
    "event id (idempotency), the stream version and the chain tip with 3 SELECTs per event. "
    "raw C and GRDB compute no hash: they insert a 64-hex-digit placeholder (the seq, zero-padded) "
    "so the chain triggers (seq = last + 1, prev_hash = last hash, stream_version = last + 1) still "
    "pass, keep the tip and the stream versions in memory (W5: they read the tip inside each "
    "transaction), and take one timestamp per transaction instead of one per event.")
add("- W3: Tally canonicalizes every body (JCS) and computes its SHA-256, validates the key and reads the "
    "current row and the history's last version. The peers store precomputed canonical text and "
    "checksums (computed outside the timed region) with one `INSERT … ON CONFLICT(key) DO UPDATE`.")
add("- W4: Tally writes its snapshot format (header, records, SHA-256 trailer over the whole file) and "
    "re-hashes every body against its checksum; raw C and GRDB write the same state records without "
    "any hashing. Tally, raw C and GRDB all write a temp file, fsync, rename, fsync the directory; "
    "the `sqlite3 -json` CLI just writes to a redirected stdout (the \"with `sync FILE`\" figure adds "
    "one fsync of the output file).")
add("- W5: Tally = 4 threads calling `store.ledger.append` (its group commit batches concurrent "
    "requests into one transaction); raw C = one connection per thread, `BEGIN IMMEDIATE` + busy "
    "timeout, one transaction per event; GRDB = one `DatabasePool`, `pool.write` per event.")
add("- W6/W7 have no peers: their targets compare them with Tally's own W4 rate.")
add("")

# ---- targets ----------------------------------------------------------------------------
targets = []


def target(label, value, goal, unit="×"):
    if value is None:
        targets.append((label, "—", "not measured"))
        return
    met = value >= goal
    targets.append((label, f"{value:.2f}{unit} (goal ≥ {goal:g}{unit})", "met" if met else "**missed**"))


target("W1 Tally/GRDB", ratio(rate("W1 Tally"), rate("W1 GRDB")), 1.0)
target("W1 Tally/raw C", ratio(rate("W1 Tally"), rate("W1 raw C")), 0.7)
target("W2 Tally/raw C", ratio(rate("W2 Tally"), rate("W2 raw C")), 0.9)
target("W3 Tally/GRDB", ratio(rate("W3 Tally"), rate("W3 GRDB")), 1.0)
target("W4 Tally/`sqlite3 -json`", ratio(rate("W4 Tally"), cli["ops_s"] if cli else None), 1.0)
w4 = results.get("W4 Tally")
if w4 and w4["rss_max_mb"] is not None:
    mib = w4["rss_max_mb"] * 1e6 / 2**20
    targets.append(("W4 Tally peak RSS", f"≈ {mib:.0f} MiB (goal < 64 MiB; whole benchmark process, max over iterations)",
                    "met" if mib < 64 else "**missed**"))
target("W5 Tally/raw C", ratio(rate("W5 Tally"), rate("W5 raw C")), 3.0)
target("W6 Tally/W4 Tally (within 2×)", ratio(rate("W6 Tally"), rate("W4 Tally")), 0.5)
target("W7 mirror/W4 Tally (within 2×)", ratio(rate("W7 Tally"), rate("W4 Tally")), 0.5)
target("W7b re-mirror/W4 Tally (within 2×)", ratio(rate("W7b Tally"), rate("W4 Tally")), 0.5)

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
for w in ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W7b"]:
    other = f"`sqlite3 -json`: {cli['rss_mb']:.0f} MB" if (w == "W4" and cli) else "—"
    add(f"| {w} | {rss(w + ' Tally')} | {rss(w + ' raw C')} | {rss(w + ' GRDB')} | {other} |")
add("")
add("Raw exports of this run (ordo-one samples per group, CLI timings, load log) are in "
    "`Benchmarks/.data/raw/` (not committed).")
add("")

with open(args.output, "w") as f:
    f.write("\n".join(lines))
