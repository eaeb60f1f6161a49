// See include/RawSQLitePeer.h. Plain C99 + POSIX + the system libsqlite3.
#define _GNU_SOURCE
#include "RawSQLitePeer.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA foreign_keys = ON;", synchronous);
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

int raw_append_events(raw_peer *peer, int count, int per_transaction, int streams, const char *id_prefix) {
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
            snprintf(event_id, sizeof event_id, "%s-%07d", id_prefix, done + 1);
            snprintf(stream, sizeof stream, "invoice/INV-%05d", s + 1);
            fake_hash(seq, hash);
            bind_event(insert, seq, event_id, stream, versions[s], 1250 + done % 100, recorded_at, prev_hash, hash);
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
