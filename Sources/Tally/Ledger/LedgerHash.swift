import Crypto
import Foundation

/// The ledger's hash formula, in one place (DESIGN.md "Hashes"):
///
///     hash = hex(SHA-256(prev_hash + "\n" + JCS(E)))
///
/// where `E` is the object `{"seq", "event_id", "stream", "stream_version", "kind",
/// "amount", "currency", "quantity", "payload", "recorded_at"}` with null members included
/// and `payload` as a JSON value. Append, verify and snapshot import all call this.
enum LedgerHash {
    /// Largest integer magnitude a JCS number (an IEEE-754 double) holds exactly: 2^53.
    static let maximumExactInteger: Int64 = 1 << 53

    static func hash(prevHash: String, seq: Int64, eventID: String, stream: String, streamVersion: Int64,
                     kind: String, amount: Int64?, currency: String?, quantity: Double?,
                     payload: JSONValue, recordedAt: String) throws(TallyError) -> String {
        let event: JSONValue = .object([
            "seq": .number(Double(seq)),
            "event_id": .string(eventID),
            "stream": .string(stream),
            "stream_version": .number(Double(streamVersion)),
            "kind": .string(kind),
            "amount": amount.map { .number(Double($0)) } ?? .null,
            "currency": currency.map { .string($0) } ?? .null,
            "quantity": quantity.map { .number($0) } ?? .null,
            "payload": payload,
            "recorded_at": .string(recordedAt),
        ])
        let canonical: [UInt8]
        do {
            canonical = try CanonicalJSON.bytes(event)
        } catch {
            throw TallyError.invalidInput(field: "event \(seq)", reason: "cannot be canonicalized: \(error)")
        }
        var hasher = SHA256()
        hasher.update(data: Array(prevHash.utf8))
        hasher.update(data: [UInt8(ascii: "\n")])
        hasher.update(data: canonical)
        return Digest.hex(hasher.finalize())
    }
}
