-- Tally schema, version 2: the ledger's identity, and an index for keys that differ only
-- in case. Applied once, in one transaction, by the migrator. Never edit it once released.

-- The ledger's identity: a random UUID made when the database is created. It names the
-- ledger in snapshots, in a mirror's MANIFEST.json (a mirror belongs to one ledger) and in
-- signed checkpoints. A snapshot import that replaces the database carries the snapshot's
-- identity in with it.
CREATE TABLE ledger_identity (
    id         INTEGER PRIMARY KEY CHECK (id = 1),     -- exactly one row
    ledger_id  TEXT    NOT NULL CHECK (length(ledger_id) = 36 AND ledger_id NOT GLOB '*[^0-9a-f-]*'),
    created_at TEXT    NOT NULL                        -- RFC 3339 UTC
) STRICT;

INSERT INTO ledger_identity (id, ledger_id, created_at)
VALUES (1,
        lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
            || substr(lower(hex(randomblob(2))), 2) || '-'
            || substr('89ab', abs(random()) % 4 + 1, 1) || substr(lower(hex(randomblob(2))), 2) || '-'
            || lower(hex(randomblob(6))),
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TRIGGER ledger_identity_no_delete BEFORE DELETE ON ledger_identity
BEGIN
    SELECT RAISE(ABORT, 'the ledger identity cannot be deleted');
END;

-- Keys equal but for letter case would share one mirror file on a case-insensitive file
-- system; this index finds them without a scan.
CREATE INDEX state_key_nocase ON state (key COLLATE NOCASE);
