import Foundation
@testable import Tally

/// A database with invoices and a mirror directory, plus the ways the tests damage them.
final class ReconcileFixture: @unchecked Sendable {
    let directory = TemporaryDirectory("tally-reconcile")
    let store: Store
    let databasePath: String
    let mirror: String

    init(configuration: Store.Configuration = Store.Configuration()) throws {
        databasePath = directory.file("tally.db")
        store = try Store(path: databasePath, configuration: configuration)
        mirror = directory.file("mirror")
        try FileManager.default.createDirectory(atPath: mirror, withIntermediateDirectories: true)
    }

    /// Puts `invoices/INV-1…count` (status unpaid) in one transaction and returns them.
    @discardableResult
    func seed(_ count: Int) throws -> [StateDocument] {
        try store.write { tx in
            try (1...count).map { index in
                try tx.state.put(key(index), body: ["amount": .number(Double(index * 100)), "customer": .string("C\(index)")],
                                 status: "unpaid")
            }
        }
    }

    func key(_ index: Int) -> String { "invoices/INV-\(index)" }

    /// The mirror file of `key`.
    func file(_ key: String) -> String { mirror + "/" + key + ".json" }

    func document(_ key: String) throws -> StateDocument {
        guard let document = try store.state.get(key) else { throw TallyError.notFound(key: key) }
        return document
    }

    /// A valid mirror file for `key` with another body (and the matching checksum).
    func validFile(key: String, version: Int64, body: JSONValue, status: String? = "unpaid") throws -> [UInt8] {
        MirrorFile.render(StateDocument(key: key, version: version, status: status, body: body,
                                        checksum: try Self.checksum(body), updatedAt: "2024-01-01T00:00:00.000Z",
                                        ledgerSeq: nil))
    }

    func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func checksum(_ body: JSONValue) throws -> String {
        Digest.sha256Hex(try CanonicalJSON.encode(body))
    }

    /// Runs `sql` on the database file from a separate connection, with `triggers` dropped
    /// meanwhile and foreign keys off, as someone with the sqlite3 CLI could.
    func tamper(_ sql: String, dropping triggers: [String] = []) throws {
        try Self.tamper(databasePath, sql, dropping: triggers)
    }

    static func tamper(_ path: String, _ sql: String, dropping triggers: [String] = []) throws {
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA foreign_keys = OFF")
        var creates: [String] = []
        for name in triggers {
            if case let .text(create)? = try db.scalar("SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?", [name]) {
                creates.append(create)
            }
        }
        try db.transaction(.immediate) {
            for name in triggers { try db.execute("DROP TRIGGER \(name)") }
            try db.execute(sql)
            for create in creates { try db.execute(create) }
        }
    }

    /// Sets a file's modification time `seconds` into the past.
    func age(_ path: String, by seconds: TimeInterval) throws {
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -seconds)], ofItemAtPath: path)
    }
}

extension ReconcileReport {
    /// The findings about documents and files, without those about MANIFEST.json (which a
    /// change to the database after the mirror was written also, rightly, produces).
    var documentFindings: [Finding] {
        findings.filter { $0.path?.hasSuffix("/" + MirrorFile.manifestName) != true }
    }

    /// The findings about MANIFEST.json.
    var manifestFindings: [Finding] {
        findings.filter { $0.path?.hasSuffix("/" + MirrorFile.manifestName) == true }
    }
}
