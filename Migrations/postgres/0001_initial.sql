-- Tally schema for PostgreSQL, version 1: the same logical schema as the SQLite migrations
-- 0001–0004 (ledger, state documents and their history, the ledger's identity, consumers,
-- the Merkle tree and signed checkpoints), with the same rules enforced by the database for
-- every client. Applied once, in one transaction, by the migrator. Never edit it once
-- released: add 0002_….sql instead.
--
-- Differences from SQLite, and why:
-- - Appends serialize through the one-row table ledger_head (SELECT … FOR UPDATE): a
--   PostgreSQL sequence is neither gap-free nor commit-ordered, this is both, so the hash
--   chain and the follow feed stay exact with many application processes writing.
-- - Text that Tally orders by (keys, streams, names) uses COLLATE "C": byte order, as in
--   SQLite, so snapshots are byte-identical across the two backends.
-- - Bodies and payloads are `text` holding canonical JSON, not jsonb: the checksums and
--   hashes are over those exact bytes.
-- - An AFTER INSERT statement trigger sends NOTIFY tally_ledger, delivered at commit,
--   which wakes followers in every process (LISTEN) without polling.

CREATE TABLE schema_migrations (
    version    integer PRIMARY KEY,
    name       text    NOT NULL,
    checksum   text    NOT NULL,               -- lowercase hex SHA-256 of the file
    applied_at text    NOT NULL                -- RFC 3339 UTC
);

-- The ledger: append-only, hash-chained events.
CREATE TABLE ledger (
    seq            bigint  PRIMARY KEY CHECK (seq >= 1),
    event_id       text    NOT NULL CONSTRAINT ledger_event_id_key UNIQUE
                   CHECK (length(event_id) BETWEEN 1 AND 128),
    stream         text    COLLATE "C" NOT NULL CHECK (length(stream) BETWEEN 1 AND 255),
    stream_version bigint  NOT NULL CHECK (stream_version >= 1),
    kind           text    COLLATE "C" NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    amount         bigint,                      -- minor units (cents), signed
    currency       text    CHECK (currency IS NULL OR currency ~ '^[A-Z][A-Z][A-Z]$'),
    quantity       double precision,
    payload        text    NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload::jsonb) = 'object'),
    recorded_at    text    NOT NULL,            -- RFC 3339 UTC, milliseconds
    prev_hash      text    NOT NULL CHECK (length(prev_hash) = 64),
    hash           text    NOT NULL CHECK (length(hash) = 64),
    UNIQUE (stream, stream_version),
    CHECK (amount IS NULL OR currency IS NOT NULL)
);

-- The chain's head, one row: every append locks it first, so appends from any number of
-- processes take seqs one after the other, in commit order, with no gaps.
CREATE TABLE ledger_head (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq  bigint  NOT NULL,
    last_hash text    NOT NULL CHECK (length(last_hash) = 64)
);
INSERT INTO ledger_head (id, last_seq, last_hash) VALUES (true, 0, repeat('0', 64));

CREATE FUNCTION tally_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger FOR EACH ROW EXECUTE FUNCTION tally_append_only();
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION tally_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger FOR EACH STATEMENT EXECUTE FUNCTION tally_append_only();

-- New events must extend the chain: next seq, prev_hash = the last hash, next stream
-- version; the head moves with them.
CREATE FUNCTION tally_ledger_extends_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head    record;
    version bigint;
BEGIN
    SELECT last_seq, last_hash INTO head FROM ledger_head WHERE id FOR UPDATE;
    IF NEW.seq IS DISTINCT FROM head.last_seq + 1 THEN
        RAISE EXCEPTION 'ledger seq must be the last seq + 1' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.prev_hash IS DISTINCT FROM head.last_hash THEN
        RAISE EXCEPTION 'ledger prev_hash must equal the hash of the previous event' USING ERRCODE = 'check_violation';
    END IF;
    SELECT coalesce(max(stream_version), 0) INTO version FROM ledger WHERE stream = NEW.stream;
    IF NEW.stream_version IS DISTINCT FROM version + 1 THEN
        RAISE EXCEPTION 'ledger stream_version must be the stream''s last version + 1' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE ledger_head SET last_seq = NEW.seq, last_hash = NEW.hash WHERE id;
    RETURN NEW;
END
$$;
CREATE TRIGGER ledger_chain_extends BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION tally_ledger_extends_chain();

-- The head moves only with an append.
CREATE FUNCTION tally_head_moves_with_appends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_head moves only when an event is appended' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER ledger_head_guard BEFORE UPDATE OR DELETE ON ledger_head
    FOR EACH ROW WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION tally_head_moves_with_appends();

-- Followers in every process LISTEN tally_ledger; the notification arrives at commit.
CREATE FUNCTION tally_notify_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tally_ledger', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_notify AFTER INSERT ON ledger FOR EACH STATEMENT EXECUTE FUNCTION tally_notify_append();

-- State documents: the current version of each key.
CREATE TABLE state (
    key        text    COLLATE "C" PRIMARY KEY
               CHECK (octet_length(key) BETWEEN 1 AND 255
                      AND key !~ '[^A-Za-z0-9._/-]'
                      AND ('/' || key || '/') NOT LIKE '%//%'
                      AND ('/' || key || '/') NOT LIKE '%/./%'
                      AND ('/' || key || '/') NOT LIKE '%/../%'),
    version    bigint  NOT NULL CHECK (version >= 1),
    status     text    COLLATE "C" CHECK (status IS NULL OR length(status) BETWEEN 1 AND 64),
    body       text    NOT NULL CHECK (body::jsonb IS NOT NULL),
    checksum   text    NOT NULL CHECK (length(checksum) = 64),   -- hex SHA-256 of JCS(body)
    updated_at text    NOT NULL,
    ledger_seq bigint  REFERENCES ledger (seq) DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX state_by_status_index ON state (status, key);
CREATE INDEX state_key_nocase ON state (lower(key));

-- Every version ever written, and deletions as tombstones.
CREATE TABLE state_history (
    key        text    COLLATE "C" NOT NULL,
    version    bigint  NOT NULL CHECK (version >= 1),
    status     text    COLLATE "C",
    body       text    CHECK (body IS NULL OR body::jsonb IS NOT NULL),
    checksum   text,
    updated_at text    NOT NULL,
    ledger_seq bigint  REFERENCES ledger (seq) DEFERRABLE INITIALLY IMMEDIATE,
    deleted    integer NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    PRIMARY KEY (key, version),
    CHECK ((deleted = 1) = (body IS NULL))
);
CREATE TRIGGER state_history_no_update BEFORE UPDATE ON state_history FOR EACH ROW EXECUTE FUNCTION tally_append_only();
CREATE TRIGGER state_history_no_delete BEFORE DELETE ON state_history FOR EACH ROW EXECUTE FUNCTION tally_append_only();

-- A key's versions only move forward, across deletions too.
CREATE FUNCTION tally_state_version_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.key IS DISTINCT FROM OLD.key THEN
        RAISE EXCEPTION 'state key cannot be renamed' USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.version <= OLD.version THEN
        RAISE EXCEPTION 'state version must be above the key''s last version' USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'INSERT' AND NEW.version <= (SELECT coalesce(max(version), 0) FROM state_history WHERE key = NEW.key) THEN
        RAISE EXCEPTION 'state version must be above the key''s last version' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER state_version_forward BEFORE INSERT OR UPDATE ON state FOR EACH ROW EXECUTE FUNCTION tally_state_version_forward();

CREATE FUNCTION tally_state_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO state_history (key, version, status, body, checksum, updated_at, ledger_seq, deleted)
        VALUES (OLD.key, OLD.version + 1, OLD.status, NULL, NULL,
                to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), NULL, 1);
        RETURN OLD;
    END IF;
    INSERT INTO state_history (key, version, status, body, checksum, updated_at, ledger_seq)
    VALUES (NEW.key, NEW.version, NEW.status, NEW.body, NEW.checksum, NEW.updated_at, NEW.ledger_seq);
    RETURN NEW;
END
$$;
CREATE TRIGGER state_history_on_change AFTER INSERT OR UPDATE OR DELETE ON state FOR EACH ROW EXECUTE FUNCTION tally_state_history();

-- The ledger's identity (see the SQLite migration 0002).
CREATE TABLE ledger_identity (
    id         integer PRIMARY KEY CHECK (id = 1),
    ledger_id  text    NOT NULL CHECK (ledger_id ~ '^[0-9a-f-]{36}$'),
    created_at text    NOT NULL
);
INSERT INTO ledger_identity (id, ledger_id, created_at)
VALUES (1, gen_random_uuid()::text, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
CREATE FUNCTION tally_identity_stays() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger identity cannot be deleted' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER ledger_identity_no_delete BEFORE DELETE ON ledger_identity FOR EACH ROW EXECUTE FUNCTION tally_identity_stays();

-- Durable consumers of the feed (see the SQLite migration 0003).
CREATE TABLE consumers (
    name       text   COLLATE "C" PRIMARY KEY
               CHECK (length(name) BETWEEN 1 AND 64 AND name ~ '^[A-Za-z0-9_][A-Za-z0-9._-]*$'),
    position   bigint NOT NULL CHECK (position >= 0),
    created_at text   NOT NULL,
    updated_at text   NOT NULL
);
CREATE FUNCTION tally_consumer_within_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.position > (SELECT last_seq FROM ledger_head WHERE id) THEN
        RAISE EXCEPTION 'a consumer position cannot be beyond the ledger head' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consumers_position BEFORE INSERT OR UPDATE OF position ON consumers
    FOR EACH ROW EXECUTE FUNCTION tally_consumer_within_ledger();

-- The Merkle tree's complete subtrees of level 4 and up, and signed checkpoints (see the
-- SQLite migration 0004).
CREATE TABLE merkle_nodes (
    level integer NOT NULL CHECK (level BETWEEN 4 AND 62),
    idx   bigint  NOT NULL CHECK (idx >= 0),
    hash  bytea   NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes FOR EACH ROW EXECUTE FUNCTION tally_append_only();

CREATE TABLE checkpoints (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    size       bigint NOT NULL CHECK (size >= 0),
    root       text   NOT NULL CHECK (length(root) = 64),
    origin     text   NOT NULL,
    key_name   text   NOT NULL,
    note       text   NOT NULL,
    created_at text   NOT NULL
);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints FOR EACH ROW EXECUTE FUNCTION tally_append_only();
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints FOR EACH ROW EXECUTE FUNCTION tally_append_only();

-- Views for people at the psql prompt, as in SQLite.
CREATE VIEW ledger_balances AS
SELECT stream, currency, sum(amount) AS balance, count(*) AS events, max(seq) AS last_seq
  FROM ledger WHERE amount IS NOT NULL GROUP BY stream, currency;
CREATE VIEW state_by_status AS
SELECT coalesce(status, '') AS status, count(*) AS documents, max(updated_at) AS last_updated
  FROM state GROUP BY status;
CREATE VIEW consumer_lag AS
SELECT c.name, c.position, (SELECT last_seq FROM ledger_head WHERE id) - c.position AS behind, c.updated_at
  FROM consumers AS c ORDER BY c.name;
