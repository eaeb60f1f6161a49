/// The snapshot file format: JSON Lines, one record per line.
///
/// ```
/// {"created_at":"…","format":"tally-snapshot","include_ledger":true,"key_prefix":"","ledger_head":{"hash":"…","seq":N},"ledger_id":"…","schema_version":3,"version":3}
/// {"type":"state","key":"…","version":3,"status":"paid","body":{…},"checksum":"…","updated_at":"…","ledger_seq":17}
/// {"type":"event","seq":1,"event_id":"…",…,"prev_hash":"…","hash":"…"}
/// {"type":"checkpoint","size":17,"root":"…","origin":"tally/…","key_name":"tally/…","note":"…","created_at":"…"}
/// {"type":"consumer","name":"customer-totals","position":17}
/// {"type":"end","records":M,"sha256":"<hex SHA-256 of every byte before this line>"}
/// ```
///
/// State records come in key order, then events in seq order, then (with the ledger) the
/// signed checkpoints oldest first and the consumers' positions in name order. `records` counts every record but the header and
/// the trailer. Bodies and payloads are written as
/// their canonical JSON (RFC 8785), so exporting the same data twice gives the same bytes
/// apart from `created_at`.
package enum SnapshotFormat {
    /// The `format` member of every snapshot header.
    package static let formatName = "tally-snapshot"
    /// The snapshot format version this build writes. Version 2 added `ledger_id` to the
    /// header, version 3 checkpoint and consumer records; this build reads versions 1 to 3.
    package static let version = 3
    /// The versions this build reads.
    package static let readableVersions: ClosedRange<Int64> = 1...3
    /// The longest line a reader accepts by default, so a damaged file cannot exhaust memory.
    package static let defaultMaximumLineBytes = 16 << 20

    /// The longest line a store with `configuration` must accept: room for its largest
    /// document or payload plus the record around it, so anything it accepted imports.
    package static func maximumLineBytes(for configuration: Store.Configuration) -> Int {
        max(defaultMaximumLineBytes, max(configuration.maximumDocumentBytes, configuration.maximumPayloadBytes) * 2 + 64 * 1024)
    }

    /// Where ``appendStateRecord(key:version:status:canonicalBody:checksum:updatedAt:ledgerSeq:to:)``
    /// put a record's key (a JSON string, quotes included), its body and its checksum's hex
    /// digits in its output.
    struct StateRecordRanges {
        var key: Range<Int>
        var body: Range<Int>
        var checksum: Range<Int>
    }

    /// Appends the JSON of a state record (without the newline) from its columns' UTF-8 text;
    /// `canonicalBody` is canonical JSON.
    @discardableResult
    static func appendStateRecord(key: UnsafeBufferPointer<UInt8>, version: Int64, status: UnsafeBufferPointer<UInt8>?,
                                  canonicalBody: UnsafeBufferPointer<UInt8>, checksum: UnsafeBufferPointer<UInt8>,
                                  updatedAt: UnsafeBufferPointer<UInt8>, ledgerSeq: Int64?, to out: inout [UInt8]) -> StateRecordRanges {
        CanonicalJSON.appendASCII("{\"type\":\"state\",\"key\":", to: &out)
        let keyStart = out.count
        CanonicalJSON.appendQuoted(utf8: key, to: &out)
        let keyString = keyStart..<out.count
        CanonicalJSON.appendASCII(",\"version\":", to: &out)
        LedgerHash.appendInteger(version, to: &out)
        CanonicalJSON.appendASCII(",\"status\":", to: &out)
        if let status { CanonicalJSON.appendQuoted(utf8: status, to: &out) } else { CanonicalJSON.appendASCII("null", to: &out) }
        CanonicalJSON.appendASCII(",\"body\":", to: &out)
        let bodyStart = out.count
        out.append(contentsOf: canonicalBody)
        let body = bodyStart..<out.count
        CanonicalJSON.appendASCII(",\"checksum\":", to: &out)
        let checksumStart = out.count + 1
        CanonicalJSON.appendQuoted(utf8: checksum, to: &out)
        let checksumDigits = checksumStart..<(out.count - 1)
        CanonicalJSON.appendASCII(",\"updated_at\":", to: &out)
        CanonicalJSON.appendQuoted(utf8: updatedAt, to: &out)
        CanonicalJSON.appendASCII(",\"ledger_seq\":", to: &out)
        appendOptionalInteger(ledgerSeq, to: &out)
        out.append(UInt8(ascii: "}"))
        return StateRecordRanges(key: keyString, body: body, checksum: checksumDigits)
    }

    /// Appends the JSON of the state record of a row selecting ``StateTable/columns``, its text
    /// copied from the columns as it is (the body is taken to be canonical, unchecked).
    @discardableResult
    static func appendStateRecord(stored row: Statement, to out: inout [UInt8]) -> StateRecordRanges {
        let (version, ledgerSeq) = (row.int64(1), row.optionalInt64(6))
        return row.withOptionalUTF8(2) { status in
            row.withUTF8(0) { key in
                row.withUTF8(3) { body in
                    row.withUTF8(4) { checksum in
                        row.withUTF8(5) { updatedAt in
                            appendStateRecord(key: key, version: version, status: status, canonicalBody: body,
                                              checksum: checksum, updatedAt: updatedAt, ledgerSeq: ledgerSeq, to: &out)
                        }
                    }
                }
            }
        }
    }

    /// Appends the JSON of a state record (without the newline); `body` is canonical JSON.
    static func appendStateRecord(_ row: StateTable.Row, canonicalBody: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var (key, checksum, updatedAt) = (row.key, row.checksum, row.updatedAt)
        key.withUTF8 { key in
            checksum.withUTF8 { checksum in
                updatedAt.withUTF8 { updatedAt in
                    func append(status: UnsafeBufferPointer<UInt8>?) {
                        appendStateRecord(key: key, version: row.version, status: status, canonicalBody: canonicalBody,
                                          checksum: checksum, updatedAt: updatedAt, ledgerSeq: row.ledgerSeq, to: &out)
                    }
                    if var status = row.status { status.withUTF8 { append(status: $0) } } else { append(status: nil) }
                }
            }
        }
    }

    /// Appends the JSON of an event record (without the newline); `payload` is canonical JSON.
    static func appendEventRecord(_ fields: LedgerHash.Fields, canonicalPayload: UnsafeBufferPointer<UInt8>,
                                  hash: String, to out: inout [UInt8]) {
        CanonicalJSON.appendASCII("{\"type\":\"event\",\"seq\":", to: &out)
        LedgerHash.appendInteger(fields.seq, to: &out)
        CanonicalJSON.appendASCII(",\"event_id\":", to: &out)
        CanonicalJSON.appendQuoted(fields.eventID, to: &out)
        CanonicalJSON.appendASCII(",\"stream\":", to: &out)
        CanonicalJSON.appendQuoted(fields.stream, to: &out)
        CanonicalJSON.appendASCII(",\"stream_version\":", to: &out)
        LedgerHash.appendInteger(fields.streamVersion, to: &out)
        CanonicalJSON.appendASCII(",\"kind\":", to: &out)
        CanonicalJSON.appendQuoted(fields.kind, to: &out)
        CanonicalJSON.appendASCII(",\"amount\":", to: &out)
        appendOptionalInteger(fields.amount, to: &out)
        CanonicalJSON.appendASCII(",\"currency\":", to: &out)
        appendOptionalString(fields.currency, to: &out)
        CanonicalJSON.appendASCII(",\"quantity\":", to: &out)
        if let quantity = fields.quantity, quantity.isFinite { JSONNumberFormatter.append(quantity, to: &out) } else { CanonicalJSON.appendASCII("null", to: &out) }
        CanonicalJSON.appendASCII(",\"payload\":", to: &out)
        out.append(contentsOf: canonicalPayload)
        CanonicalJSON.appendASCII(",\"recorded_at\":", to: &out)
        CanonicalJSON.appendQuoted(fields.recordedAt, to: &out)
        CanonicalJSON.appendASCII(",\"prev_hash\":", to: &out)
        CanonicalJSON.appendQuoted(fields.prevHash, to: &out)
        CanonicalJSON.appendASCII(",\"hash\":", to: &out)
        CanonicalJSON.appendQuoted(hash, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    private static func appendOptionalString(_ value: String?, to out: inout [UInt8]) {
        if let value { CanonicalJSON.appendQuoted(value, to: &out) } else { CanonicalJSON.appendASCII("null", to: &out) }
    }

    private static func appendOptionalInteger(_ value: Int64?, to out: inout [UInt8]) {
        if let value { LedgerHash.appendInteger(value, to: &out) } else { CanonicalJSON.appendASCII("null", to: &out) }
    }
}
