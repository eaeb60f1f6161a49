// The raw-C peer of Tally's benchmarks: the SQLite C API called directly, with prepared
// statements reused across rows. It writes the same rows into the same schema
// (Migrations/0001_initial.sql, triggers included) as Tally does, but computes no
// hashes, canonical JSON or checksums: the ledger hash is a placeholder of 64 hex digits
// (the seq, zero-padded, so the chain triggers still see prev_hash = the last hash) and
// state checksums are passed in, precomputed outside the timed region.
#ifndef RAW_SQLITE_PEER_H
#define RAW_SQLITE_PEER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct raw_peer raw_peer;

/// Opens (creating) a database in WAL mode with the given `PRAGMA synchronous` level
/// ("NORMAL" or "FULL"), foreign keys on and a 10 s busy timeout. NULL on failure, with
/// the reason in `error`.
raw_peer *raw_open(const char *path, const char *synchronous, char *error, int error_length);

/// Closes the connection and finalizes its statements.
void raw_close(raw_peer *peer);

/// The last error message of this peer.
const char *raw_error(const raw_peer *peer);

/// The integer a one-value query returns (e.g. "PRAGMA synchronous"), or -1.
int64_t raw_query_int(raw_peer *peer, const char *sql);

/// Runs a script (several statements), e.g. the migration file. 0 on success.
int raw_exec(raw_peer *peer, const char *sql);

/// Appends `count` events, `per_transaction` per `BEGIN IMMEDIATE … COMMIT`, round-robin
/// over `streams` streams, continuing the chain from the database's current tip. Event ids
/// are "<id_prefix>-<n>". Stream versions are kept in memory (this connection must be
/// the only writer). 0 on success.
int raw_append_events(raw_peer *peer, int count, int per_transaction, int streams, const char *id_prefix);

/// Upserts `count` state documents, `per_transaction` per transaction:
/// `INSERT … ON CONFLICT(key) DO UPDATE` with the given body text (stored as is) and
/// checksum. 0 on success.
int raw_put_states(raw_peer *peer, int count, int per_transaction, const char *const *keys,
                   const char *const *bodies, const char *const *checksums, const char *status);

/// Exports every state row as one JSON line per row (the snapshot's state record shape,
/// body spliced in as stored) to a temporary file next to `path`, fsyncs it, renames it
/// over `path` and fsyncs the directory. Returns the number of rows, or -1.
int64_t raw_export_states(raw_peer *peer, const char *path);

/// `writers` threads, thread i using `peers[i]` (each its own connection), each appending
/// `per_writer` events to its own stream, one durable transaction per event:
/// `BEGIN IMMEDIATE`, read the chain tip, insert, `COMMIT`, retrying on SQLITE_BUSY.
/// 0 on success; otherwise the first failure is in `error`.
int raw_concurrent_append(raw_peer **peers, int writers, int per_writer, const char *id_prefix,
                          char *error, int error_length);

/// Appends one 4 KiB block and fdatasyncs, `count` times, to a fresh file at `path`
/// (removed afterwards): the disk's durable-append limit. Returns 0 on success.
int raw_fdatasync_loop(const char *path, int count, char *error, int error_length);

#ifdef __cplusplus
}
#endif

#endif
