import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import Tally

@Suite struct FilesSafePathTests {
    /// Bad keys and a fragment of the reason each must be rejected with.
    static let badKeys: [(key: String, reason: String)] = [
        ("", "empty"),
        ("a\0b", "NUL"),
        ("/etc/passwd", "starts with '/'"),
        ("/", "starts with '/'"),
        ("invoices/", "ends with '/'"),
        ("a//b", "segment 2 is empty"),
        (".", "segment 1 is '.'"),
        ("a/./b", "segment 2 is '.'"),
        ("..", "segment 1 is '..'"),
        ("../secrets", "segment 1 is '..'"),
        ("a/../../b", "segment 2 is '..'"),
        ("a/..", "segment 2 is '..'"),
        ("a b", "' ' (U+0020)"),
        ("a\\b", "'\\' (U+005C)"),
        ("..\\..\\windows", "'\\' (U+005C)"),
        ("C:", "':' (U+003A)"),
        ("~/x", "'~' (U+007E)"),
        ("a\nb", "U+000A"),
        ("tab\there", "U+0009"),
        ("del\u{7F}", "U+007F"),
        ("caf\u{E9}", "contains U+00E9"),
        ("rtl\u{202E}txt", "contains U+202E"),
        ("emoji\u{1F600}", "U+1F600"),
        ("a*", "'*'"),
        ("x?y", "'?'"),
        (String(repeating: "a", count: 256), "256 bytes long"),
        (String(repeating: "ab/", count: 85) + "c", "256 bytes long"),
        // Keys that could never be mirrored are refused up front, not when mirroring.
        (String(repeating: "a", count: 251), "segment 1 is 251 bytes, more than the 250 a mirror file name can hold"),
        ("x/" + String(repeating: "a", count: 251), "segment 2 is 251 bytes"),
        ("MANIFEST", "the mirror's MANIFEST.json"),
    ]

    static let goodKeys = [
        "a", "invoices/INV-1001", "agent/billing-1/state", "a.b_c-d", "...", ".hidden", "a/.b/c..d",
        "UPPER/lower/123", String(repeating: "a", count: 250), String(repeating: "a/", count: 127) + "b",
        "MANIFEST/inside", "docs/MANIFEST", "manifest",
    ]

    @Test(arguments: badKeys)
    func rejectsBadKey(key: String, reason: String) {
        let error = #expect(throws: TallyError.self) { try SafePath.validateKey(key) }
        guard case let .invalidKey(reportedKey, reportedReason)? = error else {
            Issue.record("expected invalidKey for \(TallyError.printable(key)), got \(String(describing: error))")
            return
        }
        #expect(reportedKey == key)
        #expect(reportedReason.contains(reason), "reason was: \(reportedReason)")
        // The message never prints control characters raw.
        let message = error?.description ?? ""
        #expect(!message.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
    }

    @Test(arguments: goodKeys)
    func acceptsGoodKey(key: String) throws {
        try SafePath.validateKey(key)
    }

    @Test func mapsKeysUnderRoot() throws {
        try withTemporaryDirectory { dir throws in
            #expect(try SafePath.path(forKey: "invoices/INV-1", under: dir) == dir + "/invoices/INV-1.json")
            #expect(try SafePath.path(forKey: "a", under: dir + "/", suffix: "") == dir + "/a")
            #expect(throws: TallyError.self) { try SafePath.path(forKey: "../x", under: dir) }
            #expect(throws: TallyError.self) { try SafePath.path(forKey: "a", under: "") }
            #expect(throws: TallyError.self) { try SafePath.path(forKey: "a", under: dir, suffix: "/x") }
        }
    }

    @Test func rejectsFileNamesTheFilesystemCannotHold() throws {
        try withTemporaryDirectory { dir throws in
            let fits = String(repeating: "a", count: 250)  // + ".json" = 255
            #expect(try SafePath.path(forKey: fits, under: dir) == dir + "/" + fits + ".json")
            let tooLong = String(repeating: "a", count: 251)
            let error = #expect(throws: TallyError.self) { try SafePath.path(forKey: tooLong, under: dir) }
            #expect(error?.description.contains("251 bytes") == true)
            // Directory segments carry no suffix, so only the last one is affected.
            #expect(throws: Never.self) { try SafePath.path(forKey: "d/" + fits, under: dir) }
        }
    }

    @Test func rejectsNamesReservedForTemporaryFiles() throws {
        try withTemporaryDirectory { dir throws in
            let error = #expect(throws: TallyError.self) {
                try SafePath.path(forKey: "a/.x.tmp-ABCDEF", under: dir, suffix: "")
            }
            #expect(error?.description.contains("temporary") == true)
            #expect(try SafePath.path(forKey: ".x.tmp-ABCDEF", under: dir) == dir + "/.x.tmp-ABCDEF.json")
        }
    }

    @Test func refusesSymlinksThatLeaveTheRoot() throws {
        try withTemporaryDirectory { dir throws in
            let root = dir + "/state"
            try FileManager.default.createDirectory(atPath: root + "/inside", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/outside", withIntermediateDirectories: false)
            let files = FileManager.default
            try files.createSymbolicLink(atPath: root + "/escape", withDestinationPath: dir + "/outside")
            try files.createSymbolicLink(atPath: root + "/relative-escape", withDestinationPath: "../outside")
            try files.createSymbolicLink(atPath: root + "/etc", withDestinationPath: "/etc")
            try files.createSymbolicLink(atPath: root + "/hop", withDestinationPath: "escape")  // inside, then out
            try files.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: dir + "/nowhere")
            try files.createSymbolicLink(atPath: root + "/ok", withDestinationPath: "inside")
            try files.createSymbolicLink(atPath: root + "/inside/file.json", withDestinationPath: dir + "/outside/f")

            for key in ["escape/x", "relative-escape/x", "etc/passwd", "hop/x", "dangling/x", "inside/file"] {
                let error = #expect(throws: TallyError.self, "\(key)") { try SafePath.path(forKey: key, under: root) }
                guard case let .invalidKey(_, reason)? = error else {
                    Issue.record("\(key): expected invalidKey, got \(String(describing: error))")
                    continue
                }
                #expect(reason.contains("symbolic link"), "\(key): \(reason)")
            }
            // Links that stay inside the root are fine, and so is a root reached through a link.
            #expect(try SafePath.path(forKey: "ok/x", under: root) == root + "/ok/x.json")
            try files.createSymbolicLink(atPath: dir + "/root-link", withDestinationPath: "state")
            #expect(try SafePath.path(forKey: "ok/x", under: dir + "/root-link") == dir + "/root-link/ok/x.json")
            // Nothing on disk yet: nothing to refuse.
            #expect(try SafePath.path(forKey: "new/deep/key", under: dir + "/no-root") == dir + "/no-root/new/deep/key.json")
        }
    }
}
