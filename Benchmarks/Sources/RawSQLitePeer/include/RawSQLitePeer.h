// The raw-C peer of Tally's benchmarks: the SQLite C API called directly, with prepared
// statements reused across rows. It writes the same rows into the same schema (every
// migration in Migrations/, triggers included), through a connection with the pragmas
// Tally sets (WAL, synchronous, foreign_keys, temp_store = MEMORY), but computes no
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

/// W1g: as `raw_append_events`, but each event id is made here, per event: `uuid_version`
/// 7 (RFC 9562 layout: 48-bit Unix milliseconds, version, random; time-ordered) or 4
/// (random), from a splitmix64 generator seeded once from getrandom(2). 0 on success.
int raw_append_events_uuid(raw_peer *peer, int count, int per_transaction, int streams, int uuid_version);

/// W5's ceiling: `per_writer` transactions of `writers` events each, one per writer (stream
/// "writer/<w>", id "<id_prefix>-<w>-<i>", as `raw_concurrent_append` writes them): what a
/// group commit of `writers` synchronous writers puts in each commit, from one connection
/// with no threads to wake. 0 on success.
int raw_append_writers_interleaved(raw_peer *peer, int writers, int per_writer, const char *id_prefix);

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

/// W6: the rows of a Tally database (ledger, merkle_nodes, checkpoints, consumers, state
/// and the ledger identity), loaded into memory outside the timed region.
typedef struct raw_import_rows raw_import_rows;

/// Loads every row of those tables from the database at `source_path` (read-only). NULL on
/// failure, with the reason in `error`.
raw_import_rows *raw_import_load(const char *source_path, char *error, int error_length);

/// Rows loaded of `table`, or -1 for a table that is not loaded.
int64_t raw_import_row_count(const raw_import_rows *rows, const char *table);

void raw_import_free(raw_import_rows *rows);

/// Inserts the loaded rows into `peer`'s database (which must hold the same schema) in one
/// `BEGIN IMMEDIATE … COMMIT`: events first, then Merkle nodes, checkpoints, consumers and
/// documents (the state triggers write state_history), then sets the ledger identity. Every
/// value is bound as loaded (SQLITE_STATIC). 0 on success.
int raw_import_insert(raw_peer *peer, const raw_import_rows *rows);

/// W7/W7b: the files of a mirror directory (relative path → bytes), loaded into memory.
typedef struct raw_mirror_set raw_mirror_set;

/// Loads every regular file under `directory`, recursively. NULL on failure.
raw_mirror_set *raw_mirror_set_load(const char *directory, char *error, int error_length);

int64_t raw_mirror_set_count(const raw_mirror_set *set);
int64_t raw_mirror_set_bytes(const raw_mirror_set *set);
void raw_mirror_set_free(raw_mirror_set *set);

/// W7: writes every file of `set` under `root` (created if missing): each to a temporary
/// name beside its target (`open(O_CREAT|O_EXCL)`, write, close), then one `syncfs`, then
/// every rename, then one fsync per directory (and the root's parent). 0 on success.
int raw_mirror_write(const raw_mirror_set *set, const char *root, char *error, int error_length);

/// W7b: walks `root` (readdir), and for each regular file fstat + read + memcmp against the
/// expected bytes of its relative path. Returns the number of files matched (all of them),
/// or -1 on the first difference, unexpected or missing file.
int64_t raw_mirror_compare(raw_mirror_set *set, const char *root, char *error, int error_length);

/// sqlite3_initialize(): SQLite's process-wide settings are fixed from here on (its
/// defaults, unless someone configured it before). Returns the SQLite result code.
int raw_sqlite_initialize(void);

/// sqlite3_memory_highwater(0): 0 while SQLite's memory statistics are off.
int64_t raw_sqlite_memory_highwater(void);

/// Appends one 4 KiB block and fdatasyncs, `count` times, to a fresh file at `path`
/// (removed afterwards): the disk's durable-append limit. Returns 0 on success.
int raw_fdatasync_loop(const char *path, int count, char *error, int error_length);

#ifdef __cplusplus
}
#endif

#endif
