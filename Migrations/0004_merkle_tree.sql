-- Tally schema, version 4: the ledger's Merkle tree (RFC 9162) and signed checkpoints.
-- Applied once, in one transaction, by the migrator. Never edit it once released.
--
-- The tree's leaves are the events in seq order; a leaf hash is
-- SHA-256(0x00 || JCS(E)), E being the object the chain hash covers (README "Hashes"),
-- and an interior node is SHA-256(0x01 || left || right).

-- Roots of complete subtrees, so an inclusion or consistency proof reads O(log n) rows.
-- Node (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level). Levels 1 to 3 are
-- not stored: at most 8 leaves, recomputed from the events when a proof needs them, which
-- keeps the table to one row per 8 events. Written in the transaction that appends the
-- event completing the subtree; `verify` rebuilds the tree from the events and compares.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL CHECK (level BETWEEN 4 AND 62),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'Merkle nodes never change once their subtree is complete');
END;

-- Signed checkpoints (C2SP tlog-checkpoint): "the ledger <origin> had <size> events with
-- Merkle root <root>", signed with an Ed25519 key kept outside the database. Evidence, so
-- append-only: `verify` checks each against the tree rebuilt from the events.
CREATE TABLE checkpoints (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    size       INTEGER NOT NULL CHECK (size >= 0),
    root       TEXT    NOT NULL CHECK (length(root) = 64),  -- hex of the Merkle root
    origin     TEXT    NOT NULL,                            -- tally/<ledger id>
    key_name   TEXT    NOT NULL,
    note       TEXT    NOT NULL,                            -- the signed note, verbatim
    created_at TEXT    NOT NULL                             -- RFC 3339 UTC
) STRICT;

CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only');
END;

CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only');
END;
