-- Tally schema, version 3: durable consumers of the ledger feed. Applied once, in one
-- transaction, by the migrator. Never edit it once released.

-- One row per named consumer: the seq of the last event it has processed. A consumer that
-- writes state documents moves its position in the same transaction as those writes, so
-- its projection is updated exactly once even across crashes.
CREATE TABLE consumers (
    name       TEXT    PRIMARY KEY                     -- e.g. customer-totals
               CHECK (length(name) BETWEEN 1 AND 64
                      AND name NOT GLOB '*[^A-Za-z0-9._-]*'
                      AND substr(name, 1, 1) NOT IN ('.', '-')),
    position   INTEGER NOT NULL CHECK (position >= 0), -- last processed seq; 0 = from the start
    created_at TEXT    NOT NULL,                       -- RFC 3339 UTC
    updated_at TEXT    NOT NULL                        -- RFC 3339 UTC
) STRICT, WITHOUT ROWID;

-- A consumer can never be ahead of the ledger: it would skip the events that later take
-- those seqs. Checked for every client, the sqlite3 prompt included.
CREATE TRIGGER consumers_position_on_insert BEFORE INSERT ON consumers
BEGIN
    SELECT RAISE(ABORT, 'a consumer position cannot be beyond the ledger head')
     WHERE NEW.position > (SELECT coalesce(max(seq), 0) FROM ledger);
END;

CREATE TRIGGER consumers_position_on_update BEFORE UPDATE OF position ON consumers
BEGIN
    SELECT RAISE(ABORT, 'a consumer position cannot be beyond the ledger head')
     WHERE NEW.position > (SELECT coalesce(max(seq), 0) FROM ledger);
END;

-- How far behind each consumer is, for people at the sqlite3 prompt.
CREATE VIEW consumer_lag AS
SELECT c.name,
       c.position,
       (SELECT coalesce(max(seq), 0) FROM ledger) - c.position AS behind,
       c.updated_at
  FROM consumers AS c
 ORDER BY c.name;
