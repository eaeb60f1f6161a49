/// The outcome of recomputing the ledger's hash chain.
public struct ChainReport: Sendable, Equatable, Codable {
    /// Events read.
    public var eventsChecked: Int64
    /// The last event's seq (0 for an empty ledger).
    public var headSeq: Int64
    /// The last event's stored hash (64 zeros for an empty ledger).
    public var headHash: String
    /// The first place the chain breaks, or nil when it is intact.
    public var firstBreak: ChainReport.Break?

    /// True when every event's hash and link checked out.
    public var isIntact: Bool { firstBreak == nil }

    enum CodingKeys: String, CodingKey {
        case eventsChecked = "events_checked", headSeq = "head_seq", headHash = "head_hash", firstBreak = "first_break"
    }
}

/// The hash chain's check, one row at a time in seq order: what
/// ``LedgerTable/verifyChain(on:progress:)`` and the verifier's single walk of the ledger
/// share. It stops caring at the first break, which the report names.
struct ChainWalk {
    private(set) var report = ChainReport(eventsChecked: 0, headSeq: 0, headHash: Digest.zeroHash, firstBreak: nil)
    private var expectedSeq: Int64 = 1
    private var previousHash = Digest.zeroHash

    /// True until the chain breaks; later rows are not the chain check's concern.
    var isIntact: Bool { report.firstBreak == nil }

    /// The row at `seq` cannot be read (its payload is not JSON): the chain breaks there.
    mutating func unreadable(seq: Int64, _ detail: String) {
        report.firstBreak = ChainReport.Break(seq: seq, reason: .unreadable(detail))
    }

    /// Checks one row: its seq follows the previous one, its `prev_hash` is the previous
    /// row's hash, and its content (`computedHash`, over the payload as stored, which is
    /// canonical text: a payload rewritten in another spelling no longer hashes the same)
    /// hashes to its stored hash.
    mutating func check(_ fields: LedgerHash.Fields, storedHash: String, computedHash: String) {
        let seq = fields.seq
        report.eventsChecked += 1
        report.headSeq = seq
        report.headHash = storedHash
        if seq != expectedSeq {
            report.firstBreak = ChainReport.Break(seq: seq, reason: .gap(expected: expectedSeq))
        } else if fields.prevHash != previousHash {
            report.firstBreak = ChainReport.Break(seq: seq, reason: .prevHashMismatch(expected: previousHash, found: fields.prevHash))
        } else if computedHash != storedHash {
            report.firstBreak = ChainReport.Break(seq: seq, reason: .hashMismatch(stored: storedHash, computed: computedHash))
        } else {
            previousHash = storedHash
            expectedSeq = seq + 1
        }
    }
}

extension LedgerTable {
    /// Recomputes every hash in seq order on `db` (call inside a read transaction for a
    /// consistent view). Stops at the first break; memory stays flat.
    static func verifyChain(on db: Connection, progress: ((Int64) -> Void)? = nil) throws(TallyError) -> ChainReport {
        let statement = try db.prepare("SELECT \(columns) FROM ledger ORDER BY seq")
        defer { statement.finalize() }
        var walk = ChainWalk()
        while walk.isIntact, try statement.step() {
            let seq = statement.int64(0)
            // The row's columns as stored, without building the event: its payload is only
            // checked to be JSON (a parse only when it is not canonical text).
            do {
                try Self.checkPayloadIsJSON(statement, seq: seq, path: db.path)
            } catch {
                walk.unreadable(seq: seq, "\(error)")
                break
            }
            let fields = Self.hashedFields(of: statement)
            let computed = statement.withUTF8(8) { LedgerHash.hash(fields, canonicalPayload: $0) }
            walk.check(fields, storedHash: statement.string(11), computedHash: computed)
            if seq % 10_000 == 0 { progress?(seq) }
        }
        return walk.report
    }
}

extension ChainReport {
    /// Where and why the ledger's hash chain breaks.
    public struct Break: Sendable, Equatable, Codable, CustomStringConvertible {
        /// Why the chain breaks at ``seq``.
        public enum Reason: Sendable, Equatable, Codable {
            /// Seqs jump: `expected` should have come next, ``ChainReport/Break/seq`` came instead.
            case gap(expected: Int64)
            /// The event's `prev_hash` is not the previous event's hash.
            case prevHashMismatch(expected: String, found: String)
            /// The event's content does not hash to its stored `hash`: it was edited.
            case hashMismatch(stored: String, computed: String)
            /// The row cannot be read (e.g. its payload is not JSON).
            case unreadable(String)
            /// Events after ``ChainReport/Break/seq`` were deleted: SQLite remembers `rememberedSeq` as
            /// the highest seq ever inserted, but the ledger ends before it.
            case tailRemoved(rememberedSeq: Int64)
        }

        /// The seq where the chain breaks.
        public var seq: Int64
        /// Why.
        public var reason: Reason

        public var description: String {
            switch reason {
            case let .gap(expected):
                return "ledger chain breaks at seq \(seq): seq \(expected) is missing (gap)"
            case let .prevHashMismatch(expected, found):
                return "ledger chain breaks at seq \(seq): prev_hash is \(found) but the previous event's hash is \(expected)"
            case let .hashMismatch(stored, computed):
                return "ledger chain breaks at seq \(seq): its content hashes to \(computed) but the stored hash is \(stored) (the event was altered)"
            case let .unreadable(detail):
                return "ledger chain breaks at seq \(seq): \(detail)"
            case let .tailRemoved(remembered):
                return "the ledger's tail was removed: events \(seq)…\(remembered) were recorded once and are gone"
            }
        }
    }
}
