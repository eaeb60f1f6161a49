// See include/RawSQLitePeer.h. Plain C99 + POSIX + the system libsqlite3.
#define _GNU_SOURCE
#include "RawSQLitePeer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct raw_peer {
    sqlite3 *db;
    char error[512];
};

static const char *insert_event_sql =
    "INSERT INTO ledger (seq, event_id, stream, stream_version, kind, amount, currency, quantity, "
    "payload, recorded_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char *tip_sql = "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1";
static const char *payload_text = "{\"qty\":2,\"sku\":\"A1\"}";

static void set_error(raw_peer *peer, const char *what) {
    snprintf(peer->error, sizeof peer->error, "%s: %s (%d)", what, sqlite3_errmsg(peer->db),
             sqlite3_extended_errcode(peer->db));
}

static void copy_error(char *out, int length, const char *text) {
    if (out && length > 0) snprintf(out, (size_t)length, "%s", text);
}

raw_peer *raw_open(const char *path, const char *synchronous, char *error, int error_length) {
    raw_peer *peer = calloc(1, sizeof *peer);
    if (!peer) { copy_error(error, error_length, "out of memory"); return NULL; }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &peer->db, flags, NULL) != SQLITE_OK) {
        copy_error(error, error_length, peer->db ? sqlite3_errmsg(peer->db) : "cannot open");
        sqlite3_close_v2(peer->db);
        free(peer);
        return NULL;
    }
    sqlite3_extended_result_codes(peer->db, 1);
    sqlite3_busy_timeout(peer->db, 10000);
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA foreign_keys = ON; "
             "PRAGMA temp_store = MEMORY;", synchronous);
    if (raw_exec(peer, pragmas) != 0) {
        copy_error(error, error_length, peer->error);
        raw_close(peer);
        return NULL;
    }
    // Experiments only (off by default, the published runs use SQLite's default cache).
    const char *cache = getenv("TALLY_BENCH_CACHE_KIB");
    if (cache && *cache) {
        snprintf(pragmas, sizeof pragmas, "PRAGMA cache_size = -%d;", atoi(cache));
        raw_exec(peer, pragmas);
    }
    return peer;
}

void raw_close(raw_peer *peer) {
    if (!peer) return;
    sqlite3_close_v2(peer->db);
    free(peer);
}

const char *raw_error(const raw_peer *peer) { return peer->error; }

int64_t raw_query_int(raw_peer *peer, const char *sql) {
    sqlite3_stmt *statement = NULL;
    int64_t value = -1;
    if (sqlite3_prepare_v2(peer->db, sql, -1, &statement, NULL) == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW)
        value = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    return value;
}

int raw_exec(raw_peer *peer, const char *sql) {
    char *message = NULL;
    if (sqlite3_exec(peer->db, sql, NULL, NULL, &message) != SQLITE_OK) {
        snprintf(peer->error, sizeof peer->error, "%s", message ? message : "sqlite3_exec failed");
        sqlite3_free(message);
        return -1;
    }
    return 0;
}

static int prepare(raw_peer *peer, const char *sql, sqlite3_stmt **statement) {
    if (sqlite3_prepare_v3(peer->db, sql, -1, SQLITE_PREPARE_PERSISTENT, statement, NULL) != SQLITE_OK) {
        set_error(peer, sql);
        return -1;
    }
    return 0;
}

static int step_done(raw_peer *peer, sqlite3_stmt *statement, const char *what) {
    int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    if (rc != SQLITE_DONE) { set_error(peer, what); return -1; }
    return 0;
}

/// RFC 3339 UTC with milliseconds, the schema's time format (24 chars + NUL).
static void timestamp_now(char out[32]) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm parts;
    gmtime_r(&now.tv_sec, &parts);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", parts.tm_year + 1900, parts.tm_mon + 1,
             parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, now.tv_nsec / 1000000);
}

/// The placeholder hash of event `seq`: 64 hex digits (seq 0 gives the chain's 64 zeros).
static void fake_hash(int64_t seq, char out[65]) { snprintf(out, 65, "%064llx", (long long)seq); }

static int read_tip(raw_peer *peer, sqlite3_stmt *tip, int64_t *seq, char hash[65]) {
    int rc = sqlite3_step(tip);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(tip, 0);
        const unsigned char *text = sqlite3_column_text(tip, 1);
        snprintf(hash, 65, "%s", text ? (const char *)text : "");
        rc = sqlite3_step(tip);
    } else {
        *seq = 0;
        fake_hash(0, hash);
    }
    sqlite3_reset(tip);
    if (rc != SQLITE_DONE) { set_error(peer, tip_sql); return -1; }
    return 0;
}

static int bind_event(sqlite3_stmt *insert, int64_t seq, const char *event_id, const char *stream,
                      int64_t stream_version, int64_t amount, const char *recorded_at, const char *prev_hash,
                      const char *hash) {
    sqlite3_bind_int64(insert, 1, seq);
    sqlite3_bind_text(insert, 2, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 3, stream, -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert, 4, stream_version);
    sqlite3_bind_text(insert, 5, "charge", 6, SQLITE_STATIC);
    sqlite3_bind_int64(insert, 6, amount);
    sqlite3_bind_text(insert, 7, "EUR", 3, SQLITE_STATIC);
    sqlite3_bind_null(insert, 8);
    sqlite3_bind_text(insert, 9, payload_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 10, recorded_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 11, prev_hash, 64, SQLITE_STATIC);
    return sqlite3_bind_text(insert, 12, hash, 64, SQLITE_STATIC);
}

// MARK: Event ids made in C (W1g)

/// splitmix64: a fast generator seeded once from getrandom(2), for both id layouts alike.
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t random_seed(void) {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        seed = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 32) ^ (uint64_t)getpid();
    }
    return seed;
}

/// Lowercase 8-4-4-4-12 text of 16 bytes (36 chars + NUL).
static void uuid_text(const uint8_t bytes[16], char out[37]) {
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[bytes[i] >> 4];
        out[o++] = hex[bytes[i] & 15];
    }
    out[o] = 0;
}

/// RFC 9562 version 7: 48-bit Unix milliseconds, version 7, 74 random bits (no counter:
/// ids of one millisecond are random among themselves, all at the index's right edge).
static void uuid_v7(uint64_t *state, char out[37]) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    uint64_t a = next_random(state), b = next_random(state);
    uint8_t bytes[16];
    for (int i = 0; i < 6; i++) bytes[i] = (uint8_t)(ms >> (40 - 8 * i));
    bytes[6] = (uint8_t)(0x70 | (a & 0x0F));
    bytes[7] = (uint8_t)(a >> 8);
    for (int i = 8; i < 16; i++) bytes[i] = (uint8_t)(b >> (8 * (15 - i)));
    bytes[8] = (uint8_t)(0x80 | (bytes[8] & 0x3F));
    uuid_text(bytes, out);
}

/// RFC 9562 version 4: 122 random bits.
static void uuid_v4(uint64_t *state, char out[37]) {
    uint64_t a = next_random(state), b = next_random(state);
    uint8_t bytes[16];
    for (int i = 0; i < 8; i++) bytes[i] = (uint8_t)(a >> (8 * (7 - i)));
    for (int i = 8; i < 16; i++) bytes[i] = (uint8_t)(b >> (8 * (15 - i)));
    bytes[6] = (uint8_t)(0x40 | (bytes[6] & 0x0F));
    bytes[8] = (uint8_t)(0x80 | (bytes[8] & 0x3F));
    uuid_text(bytes, out);
}

/// W1/W2 (uuid_version 0: ids "<prefix>-<n>") and W1g (uuid_version 7 or 4: made here).
/// With `writer_streams`, W5's data instead: event n is writer (n mod streams)'s next one,
/// on its own stream "writer/<w>" with id "<prefix>-<w>-<i>" (as raw_concurrent_append).
static int append_events(raw_peer *peer, int count, int per_transaction, int streams, const char *id_prefix,
                         int uuid_version, int writer_streams) {
    sqlite3_stmt *insert = NULL, *tip = NULL, *begin = NULL, *commit = NULL, *rollback = NULL;
    int64_t *versions = calloc((size_t)streams, sizeof *versions);
    int result = -1;
    if (!versions) { snprintf(peer->error, sizeof peer->error, "out of memory"); return -1; }
    if (prepare(peer, insert_event_sql, &insert) || prepare(peer, tip_sql, &tip)
        || prepare(peer, "BEGIN IMMEDIATE", &begin) || prepare(peer, "COMMIT", &commit)
        || prepare(peer, "ROLLBACK", &rollback))
        goto done;
    int64_t seq;
    char prev_hash[65], hash[65], event_id[160], stream[64], recorded_at[32];
    uint64_t random_state = random_seed();
    if (read_tip(peer, tip, &seq, prev_hash)) goto done;
    // A fresh database's streams start at version 0; this peer is the only writer.
    for (int done = 0; done < count;) {
        if (step_done(peer, begin, "BEGIN IMMEDIATE")) goto done;
        timestamp_now(recorded_at);
        int end = done + per_transaction < count ? done + per_transaction : count;
        for (; done < end; done++) {
            seq += 1;
            int s = done % streams;
            versions[s] += 1;
            if (writer_streams) {
                snprintf(event_id, sizeof event_id, "%s-%d-%06d", id_prefix, s + 1, (int)versions[s]);
                snprintf(stream, sizeof stream, "writer/%d", s + 1);
            } else {
                if (uuid_version == 7) uuid_v7(&random_state, event_id);
                else if (uuid_version == 4) uuid_v4(&random_state, event_id);
                else snprintf(event_id, sizeof event_id, "%s-%07d", id_prefix, done + 1);
                snprintf(stream, sizeof stream, "invoice/INV-%05d", s + 1);
            }
            fake_hash(seq, hash);
            bind_event(insert, seq, event_id, stream, versions[s], writer_streams ? 1250 : 1250 + done % 100, recorded_at,
                       prev_hash, hash);
            if (step_done(peer, insert, "INSERT INTO ledger")) {
                step_done(peer, rollback, "ROLLBACK");
                goto done;
            }
            memcpy(prev_hash, hash, sizeof hash);
        }
        if (step_done(peer, commit, "COMMIT")) goto done;
    }
    result = 0;
done:
    sqlite3_finalize(insert);
    sqlite3_finalize(tip);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(rollback);
    free(versions);
    return result;
}

int raw_append_events(raw_peer *peer, int count, int per_transaction, int streams, const char *id_prefix) {
    return append_events(peer, count, per_transaction, streams, id_prefix, 0, 0);
}

int raw_append_events_uuid(raw_peer *peer, int count, int per_transaction, int streams, int uuid_version) {
    if (uuid_version != 7 && uuid_version != 4) {
        snprintf(peer->error, sizeof peer->error, "uuid_version must be 7 or 4");
        return -1;
    }
    return append_events(peer, count, per_transaction, streams, "", uuid_version, 0);
}

int raw_append_writers_interleaved(raw_peer *peer, int writers, int per_writer, const char *id_prefix) {
    if (writers < 1) { snprintf(peer->error, sizeof peer->error, "at least one writer"); return -1; }
    // Transaction i commits every writer's event i: what a group commit of `writers`
    // synchronous writers puts in each transaction.
    return append_events(peer, writers * per_writer, writers, writers, id_prefix, 0, 1);
}

int raw_put_states(raw_peer *peer, int count, int per_transaction, const char *const *keys,
                   const char *const *bodies, const char *const *checksums, const char *status) {
    sqlite3_stmt *upsert = NULL, *begin = NULL, *commit = NULL, *rollback = NULL;
    int result = -1;
    if (prepare(peer,
                "INSERT INTO state (key, version, status, body, checksum, updated_at, ledger_seq) "
                "VALUES (?1, 1, ?2, ?3, ?4, ?5, NULL) "
                "ON CONFLICT (key) DO UPDATE SET version = version + 1, status = excluded.status, "
                "body = excluded.body, checksum = excluded.checksum, updated_at = excluded.updated_at, "
                "ledger_seq = excluded.ledger_seq",
                &upsert)
        || prepare(peer, "BEGIN IMMEDIATE", &begin) || prepare(peer, "COMMIT", &commit)
        || prepare(peer, "ROLLBACK", &rollback))
        goto done;
    char updated_at[32];
    for (int done = 0; done < count;) {
        if (step_done(peer, begin, "BEGIN IMMEDIATE")) goto done;
        timestamp_now(updated_at);
        int end = done + per_transaction < count ? done + per_transaction : count;
        for (; done < end; done++) {
            sqlite3_bind_text(upsert, 1, keys[done], -1, SQLITE_STATIC);
            sqlite3_bind_text(upsert, 2, status, -1, SQLITE_STATIC);
            sqlite3_bind_text(upsert, 3, bodies[done], -1, SQLITE_STATIC);
            sqlite3_bind_text(upsert, 4, checksums[done], 64, SQLITE_STATIC);
            sqlite3_bind_text(upsert, 5, updated_at, -1, SQLITE_STATIC);
            if (step_done(peer, upsert, "INSERT INTO state")) {
                step_done(peer, rollback, "ROLLBACK");
                goto done;
            }
        }
        if (step_done(peer, commit, "COMMIT")) goto done;
    }
    result = 0;
done:
    sqlite3_finalize(upsert);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(rollback);
    return result;
}

// MARK: Export

typedef struct {
    int fd;
    unsigned char *data;
    size_t used, capacity;
    int failed;
} out_buffer;

static void out_flush(out_buffer *out) {
    size_t offset = 0;
    while (offset < out->used && !out->failed) {
        ssize_t n = write(out->fd, out->data + offset, out->used - offset);
        if (n < 0) {
            if (errno == EINTR) continue;
            out->failed = errno;
        } else {
            offset += (size_t)n;
        }
    }
    out->used = 0;
}

static void out_bytes(out_buffer *out, const void *bytes, size_t length) {
    if (out->used + length > out->capacity) out_flush(out);
    if (length > out->capacity) {  // larger than the buffer: write through
        out_buffer direct = {out->fd, (unsigned char *)bytes, length, length, 0};
        out_flush(&direct);
        out->failed = out->failed ? out->failed : direct.failed;
        return;
    }
    memcpy(out->data + out->used, bytes, length);
    out->used += length;
}

static void out_literal(out_buffer *out, const char *text) { out_bytes(out, text, strlen(text)); }

/// A JSON string with minimal escaping (RFC 8785 style).
static void out_quoted(out_buffer *out, const unsigned char *text, int length) {
    static const char hex[] = "0123456789abcdef";
    out_bytes(out, "\"", 1);
    int start = 0;
    for (int i = 0; i < length; i++) {
        unsigned char c = text[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out_bytes(out, text + start, (size_t)(i - start));
        char escape[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': escape[1] = '"'; break;
        case '\\': escape[1] = '\\'; break;
        case '\b': escape[1] = 'b'; break;
        case '\f': escape[1] = 'f'; break;
        case '\n': escape[1] = 'n'; break;
        case '\r': escape[1] = 'r'; break;
        case '\t': escape[1] = 't'; break;
        default:
            escape[1] = 'u'; escape[2] = '0'; escape[3] = '0';
            escape[4] = hex[c >> 4]; escape[5] = hex[c & 15];
            n = 6;
        }
        out_bytes(out, escape, n);
        start = i + 1;
    }
    out_bytes(out, text + start, (size_t)(length - start));
    out_bytes(out, "\"", 1);
}

static void out_text_or_null(out_buffer *out, sqlite3_stmt *row, int column) {
    if (sqlite3_column_type(row, column) == SQLITE_NULL) {
        out_literal(out, "null");
    } else {
        const unsigned char *text = sqlite3_column_text(row, column);
        out_quoted(out, text, sqlite3_column_bytes(row, column));
    }
}

static void out_int_or_null(out_buffer *out, sqlite3_stmt *row, int column) {
    if (sqlite3_column_type(row, column) == SQLITE_NULL) {
        out_literal(out, "null");
    } else {
        char number[32];
        int n = snprintf(number, sizeof number, "%lld", (long long)sqlite3_column_int64(row, column));
        out_bytes(out, number, (size_t)n);
    }
}

int64_t raw_export_states(raw_peer *peer, const char *path) {
    char temporary[4096], directory[4096];
    snprintf(temporary, sizeof temporary, "%s.tmp-raw", path);
    snprintf(directory, sizeof directory, "%s", path);
    sqlite3_stmt *rows = NULL;
    int64_t count = -1;
    out_buffer out = {-1, NULL, 0, 64 * 1024, 0};
    out.data = malloc(out.capacity);
    out.fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out.fd < 0 || !out.data) {
        snprintf(peer->error, sizeof peer->error, "open %s: %s", temporary, strerror(errno));
        goto done;
    }
    if (raw_exec(peer, "BEGIN")) goto done;
    if (prepare(peer,
                "SELECT key, version, status, body, checksum, updated_at, ledger_seq FROM state ORDER BY key",
                &rows))
        goto rollback;
    int64_t n = 0;
    int rc;
    while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
        out_literal(&out, "{\"type\":\"state\",\"key\":");
        out_text_or_null(&out, rows, 0);
        out_literal(&out, ",\"version\":");
        out_int_or_null(&out, rows, 1);
        out_literal(&out, ",\"status\":");
        out_text_or_null(&out, rows, 2);
        out_literal(&out, ",\"body\":");
        out_bytes(&out, sqlite3_column_text(rows, 3), (size_t)sqlite3_column_bytes(rows, 3));
        out_literal(&out, ",\"checksum\":");
        out_text_or_null(&out, rows, 4);
        out_literal(&out, ",\"updated_at\":");
        out_text_or_null(&out, rows, 5);
        out_literal(&out, ",\"ledger_seq\":");
        out_int_or_null(&out, rows, 6);
        out_literal(&out, "}\n");
        n++;
    }
    if (rc != SQLITE_DONE) { set_error(peer, "SELECT FROM state"); goto rollback; }
    out_flush(&out);
    if (out.failed) { snprintf(peer->error, sizeof peer->error, "write: %s", strerror(out.failed)); goto rollback; }
    if (fsync(out.fd) != 0) { snprintf(peer->error, sizeof peer->error, "fsync: %s", strerror(errno)); goto rollback; }
    close(out.fd);
    out.fd = -1;
    if (rename(temporary, path) != 0) { snprintf(peer->error, sizeof peer->error, "rename: %s", strerror(errno)); goto rollback; }
    int dfd = open(dirname(directory), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
    count = n;
rollback:
    sqlite3_finalize(rows);
    raw_exec(peer, "COMMIT");
done:
    if (out.fd >= 0) { close(out.fd); unlink(temporary); }
    free(out.data);
    return count;
}

// MARK: Concurrent durable appends

typedef struct {
    raw_peer *peer;
    int index, count;
    const char *id_prefix;
    int failed;
} writer_job;

static int step_busy(raw_peer *peer, sqlite3_stmt *statement, const char *what, int *busy) {
    int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    if (rc == SQLITE_DONE) return 0;
    if ((rc & 0xFF) == SQLITE_BUSY) { *busy = 1; return -1; }
    set_error(peer, what);
    return -1;
}

static void *writer_main(void *argument) {
    writer_job *job = argument;
    raw_peer *peer = job->peer;
    sqlite3_stmt *insert = NULL, *tip = NULL, *begin = NULL, *commit = NULL, *rollback = NULL;
    job->failed = 1;
    if (prepare(peer, insert_event_sql, &insert) || prepare(peer, tip_sql, &tip)
        || prepare(peer, "BEGIN IMMEDIATE", &begin) || prepare(peer, "COMMIT", &commit)
        || prepare(peer, "ROLLBACK", &rollback))
        goto done;
    char stream[64], event_id[160], prev_hash[65], hash[65], recorded_at[32];
    snprintf(stream, sizeof stream, "writer/%d", job->index + 1);
    int64_t version = 0;  // this writer's own stream: only it appends there
    for (int i = 0; i < job->count; i++) {
        for (;;) {
            int busy = 0;
            if (step_busy(peer, begin, "BEGIN IMMEDIATE", &busy)) {
                if (busy) continue;  // the busy timeout expired; try again
                goto done;
            }
            int64_t seq;
            if (read_tip(peer, tip, &seq, prev_hash)) goto abort;
            seq += 1;
            fake_hash(seq, hash);
            timestamp_now(recorded_at);
            snprintf(event_id, sizeof event_id, "%s-%d-%06d", job->id_prefix, job->index + 1, i + 1);
            bind_event(insert, seq, event_id, stream, version + 1, 1250, recorded_at, prev_hash, hash);
            if (step_done(peer, insert, "INSERT INTO ledger")) goto abort;
            if (step_busy(peer, commit, "COMMIT", &busy)) {
                if (!busy) goto abort;
                step_done(peer, rollback, "ROLLBACK");
                continue;
            }
            version += 1;
            break;
        }
    }
    job->failed = 0;
    goto done;
abort:
    step_done(peer, rollback, "ROLLBACK");
done:
    sqlite3_finalize(insert);
    sqlite3_finalize(tip);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(rollback);
    return NULL;
}

int raw_concurrent_append(raw_peer **peers, int writers, int per_writer, const char *id_prefix,
                          char *error, int error_length) {
    pthread_t threads[64];
    writer_job jobs[64];
    if (writers < 1 || writers > 64) { copy_error(error, error_length, "1…64 writers"); return -1; }
    for (int i = 0; i < writers; i++) {
        jobs[i] = (writer_job){peers[i], i, per_writer, id_prefix, 0};
        pthread_create(&threads[i], NULL, writer_main, &jobs[i]);
    }
    int result = 0;
    for (int i = 0; i < writers; i++) {
        pthread_join(threads[i], NULL);
        if (jobs[i].failed && result == 0) {
            copy_error(error, error_length, peers[i]->error);
            result = -1;
        }
    }
    return result;
}

// MARK: SQLite's process-wide settings

int raw_sqlite_initialize(void) { return sqlite3_initialize(); }

int64_t raw_sqlite_memory_highwater(void) { return sqlite3_memory_highwater(0); }

// MARK: The disk's limit

int raw_fdatasync_loop(const char *path, int count, char *error, int error_length) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) { copy_error(error, error_length, strerror(errno)); return -1; }
    char block[4096];
    memset(block, 'x', sizeof block);
    int result = 0;
    for (int i = 0; i < count; i++) {
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block || fdatasync(fd) != 0) {
            copy_error(error, error_length, strerror(errno));
            result = -1;
            break;
        }
    }
    close(fd);
    unlink(path);
    return result;
}

// MARK: Import (W6): the rows of a Tally database, inserted into another one

/// One column value of a loaded row, bound back with SQLITE_STATIC.
typedef struct {
    int type;
    int length;
    int64_t integer;
    double real;
    void *bytes;
} cell;

typedef struct {
    const char *name, *columns, *order;
    int column_count;
    int64_t rows;
    cell *cells;  // rows * column_count
} loaded_table;

/// FK order: events before the documents that name them; merkle_nodes and checkpoints
/// after the events. state_history is not copied: the state triggers write it.
static const struct { const char *name, *columns, *order; int column_count; } import_tables[] = {
    {"ledger", "seq, event_id, stream, stream_version, kind, amount, currency, quantity, payload, recorded_at, prev_hash, hash", "seq", 12},
    {"merkle_nodes", "level, idx, hash", "level, idx", 3},
    {"checkpoints", "size, root, origin, key_name, note, created_at", "id", 6},
    {"consumers", "name, position, created_at, updated_at", "name", 4},
    {"state", "key, version, status, body, checksum, updated_at, ledger_seq", "key", 7},
};
#define IMPORT_TABLES ((int)(sizeof import_tables / sizeof import_tables[0]))

struct raw_import_rows {
    loaded_table tables[IMPORT_TABLES];
    char *ledger_id;
};

static void free_cells(cell *cells, int64_t count) {
    if (!cells) return;
    for (int64_t i = 0; i < count; i++) free(cells[i].bytes);
    free(cells);
}

void raw_import_free(raw_import_rows *rows) {
    if (!rows) return;
    for (int t = 0; t < IMPORT_TABLES; t++)
        free_cells(rows->tables[t].cells, rows->tables[t].rows * rows->tables[t].column_count);
    free(rows->ledger_id);
    free(rows);
}

static int load_table(sqlite3 *db, loaded_table *table, char *error, int error_length) {
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s ORDER BY %s", table->columns, table->name, table->order);
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) != SQLITE_OK) {
        snprintf(error, (size_t)error_length, "%s: %s", sql, sqlite3_errmsg(db));
        return -1;
    }
    int64_t capacity = 1024;
    table->cells = calloc((size_t)(capacity * table->column_count), sizeof(cell));
    table->rows = 0;
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
        if (table->rows == capacity) {
            capacity *= 2;
            cell *grown = realloc(table->cells, (size_t)(capacity * table->column_count) * sizeof(cell));
            if (!grown) break;
            table->cells = grown;
        }
        cell *row = table->cells + table->rows * table->column_count;
        for (int c = 0; c < table->column_count; c++) {
            cell *value = row + c;
            memset(value, 0, sizeof *value);
            value->type = sqlite3_column_type(statement, c);
            switch (value->type) {
            case SQLITE_INTEGER: value->integer = sqlite3_column_int64(statement, c); break;
            case SQLITE_FLOAT: value->real = sqlite3_column_double(statement, c); break;
            case SQLITE_TEXT:
            case SQLITE_BLOB: {
                const void *bytes = value->type == SQLITE_TEXT ? (const void *)sqlite3_column_text(statement, c)
                                                               : sqlite3_column_blob(statement, c);
                value->length = sqlite3_column_bytes(statement, c);
                value->bytes = malloc((size_t)value->length + 1);
                if (value->length) memcpy(value->bytes, bytes, (size_t)value->length);
                ((char *)value->bytes)[value->length] = 0;
                break;
            }
            default: break;
            }
        }
        table->rows++;
    }
    sqlite3_finalize(statement);
    if (rc != SQLITE_DONE) {
        snprintf(error, (size_t)error_length, "reading %s: %s", table->name, sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

raw_import_rows *raw_import_load(const char *source_path, char *error, int error_length) {
    raw_import_rows *rows = calloc(1, sizeof *rows);
    sqlite3 *db = NULL;
    if (!rows) { copy_error(error, error_length, "out of memory"); return NULL; }
    if (sqlite3_open_v2(source_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        copy_error(error, error_length, db ? sqlite3_errmsg(db) : "cannot open");
        goto fail;
    }
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) { copy_error(error, error_length, sqlite3_errmsg(db)); goto fail; }
    for (int t = 0; t < IMPORT_TABLES; t++) {
        rows->tables[t] = (loaded_table){import_tables[t].name, import_tables[t].columns, import_tables[t].order,
                                         import_tables[t].column_count, 0, NULL};
        if (load_table(db, &rows->tables[t], error, error_length)) goto fail;
    }
    sqlite3_stmt *identity = NULL;
    if (sqlite3_prepare_v2(db, "SELECT ledger_id FROM ledger_identity WHERE id = 1", -1, &identity, NULL) == SQLITE_OK
        && sqlite3_step(identity) == SQLITE_ROW)
        rows->ledger_id = strdup((const char *)sqlite3_column_text(identity, 0));
    sqlite3_finalize(identity);
    if (!rows->ledger_id) { copy_error(error, error_length, "the source has no ledger identity"); goto fail; }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close_v2(db);
    return rows;
fail:
    sqlite3_close_v2(db);
    raw_import_free(rows);
    return NULL;
}

int64_t raw_import_row_count(const raw_import_rows *rows, const char *table) {
    for (int t = 0; t < IMPORT_TABLES; t++)
        if (strcmp(rows->tables[t].name, table) == 0) return rows->tables[t].rows;
    return -1;
}

static void bind_cell(sqlite3_stmt *statement, int index, const cell *value) {
    switch (value->type) {
    case SQLITE_INTEGER: sqlite3_bind_int64(statement, index, value->integer); break;
    case SQLITE_FLOAT: sqlite3_bind_double(statement, index, value->real); break;
    case SQLITE_TEXT: sqlite3_bind_text(statement, index, value->bytes, value->length, SQLITE_STATIC); break;
    case SQLITE_BLOB: sqlite3_bind_blob(statement, index, value->bytes, value->length, SQLITE_STATIC); break;
    default: sqlite3_bind_null(statement, index); break;
    }
}

int raw_import_insert(raw_peer *peer, const raw_import_rows *rows) {
    sqlite3_stmt *insert = NULL;
    int result = -1;
    if (raw_exec(peer, "BEGIN IMMEDIATE")) return -1;
    for (int t = 0; t < IMPORT_TABLES; t++) {
        const loaded_table *table = &rows->tables[t];
        if (table->rows == 0) continue;
        char sql[512], *o = sql;
        o += snprintf(o, sizeof sql, "INSERT INTO %s (%s) VALUES (?", table->name, table->columns);
        for (int c = 1; c < table->column_count; c++) o += snprintf(o, (size_t)(sql + sizeof sql - o), ", ?");
        snprintf(o, (size_t)(sql + sizeof sql - o), ")");
        if (prepare(peer, sql, &insert)) goto rollback;
        for (int64_t r = 0; r < table->rows; r++) {
            const cell *row = table->cells + r * table->column_count;
            for (int c = 0; c < table->column_count; c++) bind_cell(insert, c + 1, row + c);
            if (step_done(peer, insert, table->name)) goto rollback;
        }
        sqlite3_finalize(insert);
        insert = NULL;
    }
    if (prepare(peer, "UPDATE ledger_identity SET ledger_id = ? WHERE id = 1", &insert)) goto rollback;
    sqlite3_bind_text(insert, 1, rows->ledger_id, -1, SQLITE_STATIC);
    if (step_done(peer, insert, "UPDATE ledger_identity")) goto rollback;
    sqlite3_finalize(insert);
    insert = NULL;
    if (raw_exec(peer, "COMMIT")) goto rollback;
    return 0;
rollback:
    sqlite3_finalize(insert);
    sqlite3_exec(peer->db, "ROLLBACK", NULL, NULL, NULL);
    return result;
}

// MARK: Mirror (W7, W7b): files by relative path, written in one batch or compared

typedef struct {
    char *path;  // relative to the mirror root, e.g. "invoices/INV-000001.json"
    unsigned char *bytes;
    size_t length;
} mirror_file;

struct raw_mirror_set {
    mirror_file *files;
    int64_t count, capacity;
    int64_t *slots;  // open addressing over files, -1 = empty
    int64_t slot_mask;
    unsigned char *seen;
    unsigned char *buffer;  // one file's bytes while comparing
    size_t buffer_length;
};

static uint64_t path_hash(const char *text, size_t length) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (size_t i = 0; i < length; i++) { h ^= (unsigned char)text[i]; h *= 1099511628211ULL; }
    return h;
}

static int64_t set_lookup(const raw_mirror_set *set, const char *path, size_t length) {
    for (uint64_t slot = path_hash(path, length) & (uint64_t)set->slot_mask;; slot = (slot + 1) & (uint64_t)set->slot_mask) {
        int64_t index = set->slots[slot];
        if (index < 0) return -1;
        if (strlen(set->files[index].path) == length && memcmp(set->files[index].path, path, length) == 0) return index;
    }
}

static int compare_paths(const void *a, const void *b) {
    return strcmp(((const mirror_file *)a)->path, ((const mirror_file *)b)->path);
}

static int read_all(int fd, unsigned char *buffer, size_t length, ssize_t *got) {
    size_t offset = 0;
    while (offset < length) {
        ssize_t n = read(fd, buffer + offset, length - offset);
        if (n < 0) { if (errno == EINTR) continue; return -1; }
        if (n == 0) break;
        offset += (size_t)n;
    }
    *got = (ssize_t)offset;
    return 0;
}

/// Loads every regular file under `directory/relative` (recursively).
static int load_tree(raw_mirror_set *set, const char *root, const char *relative, char *error, int error_length) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", root, *relative ? "/" : "", relative);
    DIR *dir = opendir(path);
    if (!dir) { snprintf(error, (size_t)error_length, "opendir %s: %s", path, strerror(errno)); return -1; }
    struct dirent *entry;
    int result = 0;
    while (result == 0 && (entry = readdir(dir))) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        char child[4096];
        snprintf(child, sizeof child, "%s%s%s", relative, *relative ? "/" : "", entry->d_name);
        struct stat info;
        if (fstatat(dirfd(dir), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(info.st_mode)) { result = load_tree(set, root, child, error, error_length); continue; }
        if (!S_ISREG(info.st_mode)) continue;
        int fd = openat(dirfd(dir), entry->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) { snprintf(error, (size_t)error_length, "open %s: %s", child, strerror(errno)); result = -1; break; }
        if (set->count == set->capacity) {
            set->capacity = set->capacity ? set->capacity * 2 : 1024;
            set->files = realloc(set->files, (size_t)set->capacity * sizeof *set->files);
        }
        mirror_file *file = &set->files[set->count++];
        file->path = strdup(child);
        file->length = (size_t)info.st_size;
        file->bytes = malloc(file->length + 1);
        ssize_t got = 0;
        if (read_all(fd, file->bytes, file->length, &got) || (size_t)got != file->length) {
            snprintf(error, (size_t)error_length, "read %s", child);
            result = -1;
        }
        close(fd);
    }
    closedir(dir);
    return result;
}

raw_mirror_set *raw_mirror_set_load(const char *directory, char *error, int error_length) {
    raw_mirror_set *set = calloc(1, sizeof *set);
    if (!set) { copy_error(error, error_length, "out of memory"); return NULL; }
    if (load_tree(set, directory, "", error, error_length)) { raw_mirror_set_free(set); return NULL; }
    qsort(set->files, (size_t)set->count, sizeof *set->files, compare_paths);
    int64_t slots = 16;
    while (slots < set->count * 2) slots *= 2;
    set->slot_mask = slots - 1;
    set->slots = malloc((size_t)slots * sizeof *set->slots);
    for (int64_t i = 0; i < slots; i++) set->slots[i] = -1;
    for (int64_t i = 0; i < set->count; i++) {
        uint64_t slot = path_hash(set->files[i].path, strlen(set->files[i].path)) & (uint64_t)set->slot_mask;
        while (set->slots[slot] >= 0) slot = (slot + 1) & (uint64_t)set->slot_mask;
        set->slots[slot] = i;
        if (set->files[i].length > set->buffer_length) set->buffer_length = set->files[i].length;
    }
    set->buffer_length += 1;  // one more byte shows a file that grew
    set->buffer = malloc(set->buffer_length);
    set->seen = calloc((size_t)(set->count ? set->count : 1), 1);
    return set;
}

void raw_mirror_set_free(raw_mirror_set *set) {
    if (!set) return;
    for (int64_t i = 0; i < set->count; i++) { free(set->files[i].path); free(set->files[i].bytes); }
    free(set->files);
    free(set->slots);
    free(set->seen);
    free(set->buffer);
    free(set);
}

int64_t raw_mirror_set_count(const raw_mirror_set *set) { return set->count; }

int64_t raw_mirror_set_bytes(const raw_mirror_set *set) {
    int64_t total = 0;
    for (int64_t i = 0; i < set->count; i++) total += (int64_t)set->files[i].length;
    return total;
}

static int fail_errno(char *error, int error_length, const char *step, const char *path) {
    snprintf(error, (size_t)error_length, "%s %s: %s", step, path, strerror(errno));
    return -1;
}

/// A directory of the mirror being written: its relative path and an open descriptor.
typedef struct {
    char *relative;
    int fd;
} open_directory;

int raw_mirror_write(const raw_mirror_set *set, const char *root, char *error, int error_length) {
    int result = -1;
    open_directory *directories = NULL;
    int directory_count = 0, directory_capacity = 0;
    char **temporaries = calloc((size_t)(set->count ? set->count : 1), sizeof *temporaries);
    int *owners = calloc((size_t)(set->count ? set->count : 1), sizeof *owners);
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", root);
    char *slash = strrchr(parent, '/');
    if (slash == parent) parent[1] = 0; else if (slash) *slash = 0; else snprintf(parent, sizeof parent, ".");
    if (mkdir(root, 0755) != 0 && errno != EEXIST) { fail_errno(error, error_length, "mkdir", root); goto done; }
    int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) { fail_errno(error, error_length, "open", root); goto done; }
    directories = malloc(sizeof *directories * 8);
    directory_capacity = 8;
    directories[directory_count++] = (open_directory){strdup(""), root_fd};
    // 1. every file to a temporary name beside its target: no sync yet.
    int current = 0;
    for (int64_t i = 0; i < set->count; i++) {
        const mirror_file *file = &set->files[i];
        const char *name = strrchr(file->path, '/');
        size_t directory_length = name ? (size_t)(name - file->path) : 0;
        name = name ? name + 1 : file->path;
        if (strlen(directories[current].relative) != directory_length
            || memcmp(directories[current].relative, file->path, directory_length) != 0) {
            current = -1;
            for (int d = 0; d < directory_count; d++)
                if (strlen(directories[d].relative) == directory_length && memcmp(directories[d].relative, file->path, directory_length) == 0)
                    current = d;
            if (current < 0) {  // mkdir -p of the file's directory, one component at a time
                for (size_t end = 0; end <= directory_length; end++) {
                    if (end < directory_length && file->path[end] != '/') continue;
                    char relative[4096];
                    snprintf(relative, sizeof relative, "%.*s", (int)end, file->path);
                    int known = -1;
                    for (int d = 0; d < directory_count; d++) if (strcmp(directories[d].relative, relative) == 0) known = d;
                    if (known >= 0) { current = known; continue; }
                    const char *base = strrchr(relative, '/');
                    base = base ? base + 1 : relative;
                    int parent_fd = directories[current < 0 ? 0 : current].fd;
                    if (mkdirat(parent_fd, base, 0755) != 0 && errno != EEXIST) { fail_errno(error, error_length, "mkdir", relative); goto done; }
                    int fd = openat(parent_fd, base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                    if (fd < 0) { fail_errno(error, error_length, "open", relative); goto done; }
                    if (directory_count == directory_capacity) {
                        directory_capacity *= 2;
                        directories = realloc(directories, sizeof *directories * (size_t)directory_capacity);
                    }
                    directories[directory_count] = (open_directory){strdup(relative), fd};
                    current = directory_count++;
                }
            }
        }
        char temporary[4096];
        snprintf(temporary, sizeof temporary, ".%s.tmp-raw", name);
        // Tally's modes: 0644 for the manifest, 0600 for documents.
        mode_t mode = strcmp(file->path, "MANIFEST.json") == 0 ? 0644 : 0600;
        int fd = openat(directories[current].fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0) { fail_errno(error, error_length, "open", file->path); goto done; }
        size_t offset = 0;
        while (offset < file->length) {
            ssize_t n = write(fd, file->bytes + offset, file->length - offset);
            if (n < 0) { if (errno == EINTR) continue; close(fd); fail_errno(error, error_length, "write", file->path); goto done; }
            offset += (size_t)n;
        }
        if (close(fd) != 0 && errno != EINTR) { fail_errno(error, error_length, "close", file->path); goto done; }
        temporaries[i] = strdup(temporary);
        owners[i] = current;
    }
    // 2. every temporary file durable at once.
    if (syncfs(root_fd) != 0) { fail_errno(error, error_length, "syncfs", root); goto done; }
    // 3. publish each.
    for (int64_t i = 0; i < set->count; i++) {
        const char *name = strrchr(set->files[i].path, '/');
        name = name ? name + 1 : set->files[i].path;
        int fd = directories[owners[i]].fd;
        if (renameat(fd, temporaries[i], fd, name) != 0) { fail_errno(error, error_length, "rename", set->files[i].path); goto done; }
        free(temporaries[i]);
        temporaries[i] = NULL;
    }
    // 4. each directory once, and the root's parent (it gained the root).
    for (int d = 0; d < directory_count; d++)
        if (fsync(directories[d].fd) != 0) { fail_errno(error, error_length, "fsync", directories[d].relative); goto done; }
    int parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent_fd < 0 || fsync(parent_fd) != 0) { fail_errno(error, error_length, "fsync", parent); if (parent_fd >= 0) close(parent_fd); goto done; }
    close(parent_fd);
    result = 0;
done:
    for (int d = 0; d < directory_count; d++) { close(directories[d].fd); free(directories[d].relative); }
    free(directories);
    if (temporaries) for (int64_t i = 0; i < set->count; i++) free(temporaries[i]);
    free(temporaries);
    free(owners);
    return result;
}

/// Walks `relative` under the root descriptor, comparing each regular file.
static int compare_tree(raw_mirror_set *set, int directory_fd, char *relative, size_t relative_length, int64_t *matched,
                        char *error, int error_length) {
    DIR *dir = fdopendir(directory_fd);
    if (!dir) { close(directory_fd); return fail_errno(error, error_length, "opendir", relative); }
    struct dirent *entry;
    int result = 0;
    while (result == 0 && (entry = readdir(dir))) {
        const char *name = entry->d_name;
        if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
        size_t name_length = strlen(name);
        size_t length = relative_length ? relative_length + 1 + name_length : name_length;
        if (length >= 4096) { copy_error(error, error_length, "path too long"); result = -1; break; }
        if (relative_length) relative[relative_length] = '/';
        memcpy(relative + (relative_length ? relative_length + 1 : 0), name, name_length + 1);
        unsigned char type = entry->d_type;
        if (type == DT_UNKNOWN) {
            struct stat info;
            if (fstatat(dirfd(dir), name, &info, AT_SYMLINK_NOFOLLOW) != 0) { result = fail_errno(error, error_length, "stat", relative); break; }
            type = S_ISDIR(info.st_mode) ? DT_DIR : S_ISREG(info.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type == DT_DIR) {
            int fd = openat(dirfd(dir), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) { result = fail_errno(error, error_length, "open", relative); break; }
            result = compare_tree(set, fd, relative, length, matched, error, error_length);
        } else if (type == DT_REG) {
            int64_t index = set_lookup(set, relative, length);
            if (index < 0) { snprintf(error, (size_t)error_length, "unexpected file %s", relative); result = -1; break; }
            const mirror_file *file = &set->files[index];
            int fd = openat(dirfd(dir), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) { result = fail_errno(error, error_length, "open", relative); break; }
            struct stat info;
            ssize_t got = 0;
            if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || (size_t)info.st_size != file->length
                || read_all(fd, set->buffer, file->length + 1, &got) || (size_t)got != file->length
                || memcmp(set->buffer, file->bytes, file->length) != 0) {
                snprintf(error, (size_t)error_length, "%s differs from the expected bytes", relative);
                result = -1;
            } else {
                set->seen[index] = 1;
                *matched += 1;
            }
            close(fd);
        } else {
            snprintf(error, (size_t)error_length, "unexpected entry %s", relative);
            result = -1;
        }
        relative[relative_length] = 0;
    }
    closedir(dir);
    return result;
}

int64_t raw_mirror_compare(raw_mirror_set *set, const char *root, char *error, int error_length) {
    memset(set->seen, 0, (size_t)(set->count ? set->count : 1));
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_errno(error, error_length, "open", root);
    char relative[4096] = {0};
    int64_t matched = 0;
    if (compare_tree(set, fd, relative, 0, &matched, error, error_length)) return -1;
    if (matched != set->count) {
        snprintf(error, (size_t)error_length, "%lld of %lld expected files found", (long long)matched, (long long)set->count);
        return -1;
    }
    return matched;
}
