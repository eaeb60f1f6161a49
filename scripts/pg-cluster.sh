#!/usr/bin/env bash
# pg-cluster.sh — throwaway PostgreSQL clusters for Tally's tests and benchmarks.
#
# Usage:
#   pg-cluster.sh start   DIR [PORT]          initdb (if needed) + start; prints the URI on stdout
#   pg-cluster.sh standby PRIMARY_DIR STANDBY_DIR PORT
#                                             streaming standby, made synchronous for the primary
#   pg-cluster.sh crash   DIR                 pg_ctl stop -m immediate (simulates a server crash)
#   pg-cluster.sh promote DIR                 promote a standby to primary
#   pg-cluster.sh stop    DIR                 pg_ctl stop -m fast
#   pg-cluster.sh destroy DIR                 stop (immediate) and delete DIR
#   pg-cluster.sh uri     DIR                 print the URI of an existing cluster
#   pg-cluster.sh timings                     time start/standby/promote/stop in /tmp and clean up
#
# Layout of DIR (one cluster per DIR):
#   DIR/data/              PGDATA
#   DIR/.s.PGSQL.PORT      the Unix socket: the server listens on nothing else
#   DIR/port               the port, remembered so later subcommands need only DIR
#   DIR/server.log         server log (pg_ctl -l)
#   DIR/.tally-pg-cluster  marker: `destroy` refuses to delete a directory without it
#
# Unix socket paths are limited to ~107 bytes (sun_path), so DIR must be short:
# use `mktemp -d /tmp/pgXXXX`. The script refuses a DIR whose socket path would
# not fit, instead of letting the server fail with a cryptic message.
#
# Works as root (CI) and as an ordinary user. As root, every cluster command runs
# as the `postgres` OS user because initdb/postgres refuse to run as root; DIR is
# chowned to postgres. Status goes to stderr; stdout carries only the URI, so
# `URI=$(pg-cluster.sh start "$DIR")` works.
set -euo pipefail

log() { printf 'pg-cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Monotonic-enough wall clock in milliseconds, for the timing lines.
now_ms() { date +%s%3N; }
report_time() { # NAME START_MS
  local end; end=$(now_ms)
  local ms=$((end - $2))
  printf 'pg-cluster: timing %s %d.%03ds\n' "$1" $((ms / 1000)) $((ms % 1000)) >&2
}

# --- binaries ---------------------------------------------------------------
# A clean Debian CI machine has no server: install it when missing (root only).
# Binaries are taken from /usr/lib/postgresql/N/bin, never from PATH wrappers,
# because a clean machine has only Debian's pg_wrapper scripts there.
find_pgbin() {
  if [[ -n "${PGBIN:-}" ]]; then printf '%s\n' "$PGBIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  printf '%s\n' "$d"
}

ensure_pg() {
  PGBIN=$(find_pgbin)
  if [[ -z "$PGBIN" || ! -x "$PGBIN/initdb" ]] || ! command -v runuser >/dev/null; then
    if [[ "$(id -u)" != 0 ]]; then
      die "PostgreSQL server binaries not found; run: sudo apt-get install -y postgresql"
    fi
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    PGBIN=$(find_pgbin)
    [[ -x "$PGBIN/initdb" ]] || die "initdb still missing after apt-get install"
  fi
  export PGBIN
}

# Run a command as the cluster owner. From / so that a root cwd like /root,
# unreadable to postgres, does not produce "could not change directory" noise.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

abs_dir() { # make DIR absolute (the socket directory must be absolute for libpq)
  local d=$1
  [[ "$d" == /* ]] || d="$PWD/$d"
  printf '%s\n' "${d%/}"
}

check_socket_len() { # DIR PORT
  local sock="$1/.s.PGSQL.$2"
  # sun_path is 108 bytes including the NUL; the server also creates "$sock.lock".
  if (( ${#sock} > 100 )); then
    die "socket path '$sock' is ${#sock} bytes; Unix sockets allow ~107. Use a short DIR, e.g. \$(mktemp -d /tmp/pgXXXX)"
  fi
}

cluster_port() { # DIR
  [[ -f "$1/port" ]] || die "$1 is not a cluster made by this script (no $1/port)"
  cat "$1/port"
}

uri_for() { # DIR PORT
  # A socket directory cannot go in the URI's host part unencoded (the slash is
  # reserved), so libpq's documented form puts it in the query: ?host=/dir.
  # user=postgres because the default user is the OS user (root in CI), which
  # has no role in the cluster.
  printf 'postgresql:///%s?host=%s&port=%s&user=postgres\n' "${3:-postgres}" "$1" "$2"
}

psql_at() { # DIR PORT DB SQL...  (as the owner, over the socket, no psqlrc)
  local dir=$1 port=$2 db=$3; shift 3
  as_owner "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d "$db" -At "$@"
}

wait_ready() { # DIR PORT
  local i
  for i in $(seq 1 300); do
    if "$PGBIN/pg_isready" -q -h "$1" -p "$2" -U postgres -d postgres; then return 0; fi
    sleep 0.1
  done
  die "server in $1 not ready after 30 s; see $1/server.log"
}

is_running() { # DIR
  [[ -f "$1/data/postmaster.pid" ]] && as_owner "$PGBIN/pg_ctl" status -D "$1/data" >/dev/null 2>&1
}

prepare_dir() { # DIR
  mkdir -p "$1"
  touch "$1/.tally-pg-cluster"
  if [[ "$(id -u)" == 0 ]]; then chown postgres:postgres "$1" "$1/.tally-pg-cluster"; fi
  chmod 0700 "$1"
}

# Server settings shared by primary and standby. Written to postgresql.conf
# (later lines win) so the values are visible in one place.
write_conf() { # DIR PORT
  as_owner tee -a "$1/data/postgresql.conf" >/dev/null <<CONF

# --- pg-cluster.sh ---
port = $2
listen_addresses = ''              # no TCP at all: Unix socket only
unix_socket_directories = '$1'
unix_socket_permissions = 0700
fsync = on                         # durability is what we measure: keep it real
synchronous_commit = on
full_page_writes = on
wal_level = replica
max_wal_senders = 10
hot_standby = on
track_commit_timestamp = on        # lets tests check commit order of a sequence
max_connections = 100
shared_buffers = 128MB
logging_collector = off
log_min_messages = warning
CONF
}

# --- subcommands --------------------------------------------------------------
cmd_start() { # DIR [PORT]
  [[ $# -ge 1 ]] || die "usage: start DIR [PORT]"
  ensure_pg
  local dir port t0 started=0
  dir=$(abs_dir "$1")
  t0=$(now_ms)
  if [[ -f "$dir/data/PG_VERSION" ]]; then
    port=$(cluster_port "$dir")
    [[ $# -lt 2 || "$2" == "$port" ]] || die "$dir already has a cluster on port $port"
  else
    port=${2:-5432}
    check_socket_len "$dir" "$port"
    prepare_dir "$dir"
    # Trust only on the local socket; no host lines, so no TCP client can connect.
    as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=reject >/dev/null
    # initdb writes host lines with the 'reject' method; drop them entirely.
    as_owner sed -i -E '/^host/d' "$dir/data/pg_hba.conf"
    write_conf "$dir" "$port"
    printf '%s\n' "$port" | as_owner tee "$dir/port" >/dev/null
  fi
  check_socket_len "$dir" "$port"
  # If anything below fails, do not leave a half-started server behind.
  trap 'if [[ $started == 1 ]]; then as_owner "$PGBIN/pg_ctl" stop -D "$dir/data" -m immediate >/dev/null 2>&1 || true; fi' ERR
  if ! is_running "$dir"; then
    as_owner "$PGBIN/pg_ctl" start -D "$dir/data" -l "$dir/server.log" -w -t 60 >/dev/null
    started=1
  fi
  wait_ready "$dir" "$port"
  if [[ "$(psql_at "$dir" "$port" postgres -c "SELECT pg_is_in_recovery()")" == f ]] &&
     [[ -z "$(psql_at "$dir" "$port" postgres -c "SELECT 1 FROM pg_database WHERE datname = 'tally'")" ]]; then
    psql_at "$dir" "$port" postgres -c "CREATE DATABASE tally"
  fi
  trap - ERR
  report_time start "$t0"
  uri_for "$dir" "$port"
}

cmd_standby() { # PRIMARY_DIR STANDBY_DIR PORT
  [[ $# -eq 3 ]] || die "usage: standby PRIMARY_DIR STANDBY_DIR PORT"
  ensure_pg
  local pdir sdir port pport t0 name="tally_standby" i state=""
  pdir=$(abs_dir "$1"); sdir=$(abs_dir "$2"); port=$3
  pport=$(cluster_port "$pdir")
  [[ ! -e "$sdir/data" ]] || die "$sdir/data already exists"
  check_socket_len "$sdir" "$port"
  t0=$(now_ms)
  prepare_dir "$sdir"
  # -R writes standby.signal and primary_conninfo (host=PRIMARY_DIR socket);
  # -X stream copies the WAL needed for consistency; -c fast avoids waiting for
  # a scheduled checkpoint.
  as_owner "$PGBIN/pg_basebackup" -h "$pdir" -p "$pport" -U postgres \
    -D "$sdir/data" -R -X stream -c fast >/dev/null
  # The base backup copied the primary's postgresql.conf: re-point socket/port,
  # name the walreceiver (application_name = cluster_name) so the primary can
  # list it in synchronous_standby_names, and make sure a promoted standby does
  # not itself wait for a standby it does not have.
  write_conf "$sdir" "$port"
  as_owner tee -a "$sdir/data/postgresql.conf" >/dev/null <<CONF
cluster_name = '$name'
synchronous_standby_names = ''
CONF
  printf '%s\n' "$port" | as_owner tee "$sdir/port" >/dev/null
  as_owner "$PGBIN/pg_ctl" start -D "$sdir/data" -l "$sdir/server.log" -w -t 60 >/dev/null
  wait_ready "$sdir" "$port"
  # Commits on the primary now wait for the standby's flush (synchronous_commit=on).
  psql_at "$pdir" "$pport" postgres -c "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 ($name)'"
  psql_at "$pdir" "$pport" postgres -c "SELECT pg_reload_conf()" >/dev/null
  for i in $(seq 1 300); do
    state=$(psql_at "$pdir" "$pport" postgres -c \
      "SELECT state || '/' || sync_state FROM pg_stat_replication WHERE application_name = '$name'")
    [[ "$state" == "streaming/sync" ]] && break
    sleep 0.1
  done
  [[ "$state" == "streaming/sync" ]] || die "standby not streaming/sync after 30 s (state '$state'); see $sdir/server.log"
  report_time standby "$t0"
  uri_for "$sdir" "$port"
}

cmd_crash() { # DIR
  [[ $# -eq 1 ]] || die "usage: crash DIR"
  ensure_pg
  local dir; dir=$(abs_dir "$1")
  # -m immediate: no shutdown checkpoint, backends get SIGQUIT; restart does crash recovery.
  as_owner "$PGBIN/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null
}

cmd_promote() { # DIR
  [[ $# -eq 1 ]] || die "usage: promote DIR"
  ensure_pg
  local dir port t0 i
  dir=$(abs_dir "$1"); port=$(cluster_port "$dir")
  t0=$(now_ms)
  as_owner "$PGBIN/pg_ctl" promote -D "$dir/data" -w -t 60 >/dev/null
  for i in $(seq 1 300); do
    [[ "$(psql_at "$dir" "$port" postgres -c "SELECT pg_is_in_recovery()")" == f ]] && break
    sleep 0.1
  done
  [[ "$(psql_at "$dir" "$port" postgres -c "SELECT pg_is_in_recovery()")" == f ]] || die "still in recovery"
  report_time promote "$t0"
}

cmd_stop() { # DIR
  [[ $# -eq 1 ]] || die "usage: stop DIR"
  ensure_pg
  local dir t0; dir=$(abs_dir "$1")
  t0=$(now_ms)
  if is_running "$dir"; then
    as_owner "$PGBIN/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 >/dev/null
  fi
  report_time stop "$t0"
}

cmd_destroy() { # DIR
  [[ $# -eq 1 ]] || die "usage: destroy DIR"
  local dir; dir=$(abs_dir "$1")
  [[ -d "$dir" ]] || return 0
  # Refuse to rm -rf anything this script did not create.
  [[ -f "$dir/.tally-pg-cluster" ]] || die "$dir has no .tally-pg-cluster marker; not deleting"
  PGBIN=$(find_pgbin)
  if [[ -n "$PGBIN" && -x "$PGBIN/pg_ctl" && -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$PGBIN/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null 2>&1 || true
  fi
  # pg_ctl may be gone or the pid file stale: make sure no postmaster survives.
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    local pid; pid=$(head -n 1 "$dir/data/postmaster.pid" || true)
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then kill -QUIT "$pid" 2>/dev/null || true; sleep 0.5; fi
  fi
  rm -rf -- "$dir"
}

cmd_uri() { # DIR
  [[ $# -eq 1 ]] || die "usage: uri DIR"
  local dir; dir=$(abs_dir "$1")
  uri_for "$dir" "$(cluster_port "$dir")"
}

# Times each lifecycle step on this machine, always cleaning up (trap).
# Globals, not locals: the EXIT trap runs after the function has returned.
T_SELF="" T_P="" T_S=""
cmd_timings() {
  ensure_pg
  T_SELF=$(readlink -f "$0")
  T_P=$(mktemp -d /tmp/pgXXXX); T_S=$(mktemp -d /tmp/pgXXXX)
  # mktemp made the dirs; mark them so `destroy` may delete them even if start fails early.
  touch "$T_P/.tally-pg-cluster" "$T_S/.tally-pg-cluster"
  trap '"$T_SELF" destroy "$T_S" || true; "$T_SELF" destroy "$T_P" || true' EXIT
  "$T_SELF" start "$T_P" 5491 >/dev/null
  "$T_SELF" standby "$T_P" "$T_S" 5492 >/dev/null
  "$T_SELF" promote "$T_S"
  "$T_SELF" stop "$T_S"
  "$T_SELF" stop "$T_P"
}

main() {
  [[ $# -ge 1 ]] || { sed -n '2,22p' "$0" >&2; exit 2; }
  local cmd=$1; shift
  case "$cmd" in
    start) cmd_start "$@" ;;
    standby) cmd_standby "$@" ;;
    crash) cmd_crash "$@" ;;
    promote) cmd_promote "$@" ;;
    stop) cmd_stop "$@" ;;
    destroy) cmd_destroy "$@" ;;
    uri) cmd_uri "$@" ;;
    timings) cmd_timings "$@" ;;
    *) sed -n '2,22p' "$0" >&2; exit 2 ;;
  esac
}
main "$@"
