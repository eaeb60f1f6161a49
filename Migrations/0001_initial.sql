-- Tally schema, version 1. The single source of truth for the ledger and state tables,
-- their triggers and views (README "Looking inside with sqlite3"). Applied once, in one
-- transaction, by the migrator,
-- which records this file's SHA-256 in schema_migrations. Never edit it once released:
-- add 0002_….sql instead.
--
-- Every table is STRICT. The triggers make the rules hold for every client, including
-- the sqlite3 command line, not only for Tally.

-- One row per applied migration file.
CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,                  -- the number the file name starts with
    name       TEXT    NOT NULL,                     -- the file name
    checksum   TEXT    NOT NULL,                     -- lowercase hex SHA-256 of the file
    applied_at TEXT    NOT NULL                      -- RFC 3339 UTC
) STRICT;

-- The ledger: append-only, hash-chained events.
--   hash = hex(SHA-256(prev_hash || "\n" || JCS(event))), README "Hashes".
CREATE TABLE ledger (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,  -- 1, 2, 3, … never reused
    event_id       TEXT    NOT NULL UNIQUE             -- idempotency key
                   CHECK (length(event_id) BETWEEN 1 AND 128),
    stream         TEXT    NOT NULL                    -- e.g. invoice/INV-1001
                   CHECK (length(stream) BETWEEN 1 AND 255),
    stream_version INTEGER NOT NULL CHECK (stream_version >= 1),
    kind           TEXT    NOT NULL                    -- charge, payment, escalated, …
                   CHECK (length(kind) BETWEEN 1 AND 64),
    amount         INTEGER,                            -- minor units (cents), signed
    currency       TEXT    CHECK (currency IS NULL OR currency GLOB '[A-Z][A-Z][A-Z]'),
    quantity       REAL,
    payload        TEXT    NOT NULL DEFAULT '{}'       -- a JSON object
                   CHECK (json_valid(payload) AND json_type(payload) = 'object'),
    recorded_at    TEXT    NOT NULL,                   -- RFC 3339 UTC, milliseconds
    prev_hash      TEXT    NOT NULL CHECK (length(prev_hash) = 64),
    hash           TEXT    NOT NULL CHECK (length(hash) = 64),
    UNIQUE (stream, stream_version),
    CHECK (amount IS NULL OR currency IS NOT NULL)
) STRICT;

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;

CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;

-- New events must extend the chain: next seq, prev_hash = the last hash, next stream version.
CREATE TRIGGER ledger_chain_extends BEFORE INSERT ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger seq must be the last seq + 1')
     WHERE NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM ledger);
    SELECT RAISE(ABORT, 'ledger prev_hash must equal the hash of the previous event')
     WHERE NEW.prev_hash IS NOT coalesce(
         (SELECT hash FROM ledger ORDER BY seq DESC LIMIT 1),
         '0000000000000000000000000000000000000000000000000000000000000000');
    SELECT RAISE(ABORT, 'ledger stream_version must be the stream''s last version + 1')
     WHERE NEW.stream_version IS NOT
         (SELECT coalesce(max(stream_version), 0) + 1 FROM ledger WHERE stream = NEW.stream);
END;

-- State documents: the current version of each key.
CREATE TABLE state (
    key        TEXT    PRIMARY KEY                     -- path-like, e.g. invoices/INV-1001
               CHECK (length(CAST(key AS BLOB)) BETWEEN 1 AND 255
                      AND key NOT GLOB '*[^A-Za-z0-9._/-]*'
                      AND ('/' || key || '/') NOT LIKE '%//%'
                      AND ('/' || key || '/') NOT LIKE '%/./%'
                      AND ('/' || key || '/') NOT LIKE '%/../%'),
    version    INTEGER NOT NULL CHECK (version >= 1),
    status     TEXT    CHECK (status IS NULL OR length(status) BETWEEN 1 AND 64),
    body       TEXT    NOT NULL CHECK (json_valid(body)),
    checksum   TEXT    NOT NULL CHECK (length(checksum) = 64),  -- hex SHA-256 of JCS(body)
    updated_at TEXT    NOT NULL,                     -- RFC 3339 UTC, milliseconds
    ledger_seq INTEGER REFERENCES ledger (seq)       -- the event that last changed it
) STRICT, WITHOUT ROWID;

CREATE INDEX state_by_status_index ON state (status, key);

-- Every version ever written, and deletions as tombstones (deleted = 1, body NULL).
-- Filled by the triggers below, so edits from any client are recorded.
CREATE TABLE state_history (
    key        TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    status     TEXT,
    body       TEXT    CHECK (body IS NULL OR json_valid(body)),
    checksum   TEXT,
    updated_at TEXT    NOT NULL,
    ledger_seq INTEGER REFERENCES ledger (seq),
    deleted    INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    PRIMARY KEY (key, version),
    CHECK ((deleted = 1) = (body IS NULL))
) STRICT, WITHOUT ROWID;

CREATE TRIGGER state_history_no_update BEFORE UPDATE ON state_history
BEGIN
    SELECT RAISE(ABORT, 'state_history is append-only');
END;

CREATE TRIGGER state_history_no_delete BEFORE DELETE ON state_history
BEGIN
    SELECT RAISE(ABORT, 'state_history is append-only');
END;

-- A key's versions only move forward, across deletions too: a new version is above every
-- version in the key's history. (Tally itself adds 1; a snapshot import may carry a key
-- in at the version it had in the snapshot.)
CREATE TRIGGER state_version_on_insert BEFORE INSERT ON state
BEGIN
    SELECT RAISE(ABORT, 'state version must be above the key''s last version')
     WHERE NEW.version <= (SELECT coalesce(max(version), 0) FROM state_history WHERE key = NEW.key);
END;

CREATE TRIGGER state_version_on_update BEFORE UPDATE ON state
BEGIN
    SELECT RAISE(ABORT, 'state key cannot be renamed')
     WHERE NEW.key IS NOT OLD.key;
    SELECT RAISE(ABORT, 'state version must be above the key''s last version')
     WHERE NEW.version <= OLD.version;
END;

CREATE TRIGGER state_history_on_insert AFTER INSERT ON state
BEGIN
    INSERT INTO state_history (key, version, status, body, checksum, updated_at, ledger_seq)
    VALUES (NEW.key, NEW.version, NEW.status, NEW.body, NEW.checksum, NEW.updated_at, NEW.ledger_seq);
END;

CREATE TRIGGER state_history_on_update AFTER UPDATE ON state
BEGIN
    INSERT INTO state_history (key, version, status, body, checksum, updated_at, ledger_seq)
    VALUES (NEW.key, NEW.version, NEW.status, NEW.body, NEW.checksum, NEW.updated_at, NEW.ledger_seq);
END;

CREATE TRIGGER state_history_on_delete AFTER DELETE ON state
BEGIN
    INSERT INTO state_history (key, version, status, body, checksum, updated_at, ledger_seq, deleted)
    VALUES (OLD.key, OLD.version + 1, OLD.status, NULL, NULL,
            strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL, 1);
END;

-- Views for people at the sqlite3 prompt.

-- Balance per stream and currency (events without an amount are not counted).
CREATE VIEW ledger_balances AS
SELECT stream, currency, sum(amount) AS balance, count(*) AS events, max(seq) AS last_seq
  FROM ledger
 WHERE amount IS NOT NULL
 GROUP BY stream, currency;

-- How many documents are in each status.
CREATE VIEW state_by_status AS
SELECT coalesce(status, '') AS status, count(*) AS documents, max(updated_at) AS last_updated
  FROM state
 GROUP BY status;

-- The 100 most recent ledger events, newest first, payload as text.
CREATE VIEW ledger_recent AS
SELECT seq, recorded_at, stream, stream_version, kind, amount, currency, quantity, payload, event_id
  FROM ledger
 ORDER BY seq DESC
 LIMIT 100;
