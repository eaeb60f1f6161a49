/// The one definition of Tally's temporary file names, `.NAME.tmp-XXXXXX`.
///
/// The writer creates them and the sweeper deletes them, so both must agree byte for byte:
/// a looser pattern in the sweeper would delete other programs' files.
package enum TempFileName {
    /// The characters of the random suffix. Letters and digits only, so the name never needs
    /// quoting in a shell and never looks like an option.
    package static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
    package static let marker: [UInt8] = Array(".tmp-".utf8)
    package static let randomLength = 6
    /// Longest file name Linux filesystems accept (NAME_MAX).
    package static let nameMax = 255

    /// A fresh temporary name for a file called `name`, at most ``nameMax`` bytes long.
    ///
    /// A long `name` is cut (at a character boundary) so the temporary name still fits: the
    /// final name may be up to 255 bytes, but the temporary one carries 12 more.
    package static func make(for name: String) -> String {
        let room = nameMax - 1 - marker.count - randomLength
        var kept = ""
        var used = 0
        for scalar in name.unicodeScalars {
            let size = String(scalar).utf8.count
            if used + size > room { break }
            kept.unicodeScalars.append(scalar)
            used += size
        }
        var generator = SystemRandomNumberGenerator()
        var random = [UInt8]()
        random.reserveCapacity(randomLength)
        for _ in 0..<randomLength {
            random.append(alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))])
        }
        return "." + kept + String(decoding: marker, as: UTF8.self) + String(decoding: random, as: UTF8.self)
    }

    /// Whether `fileName` (a single path component) is exactly one of our temporary names:
    /// a dot, a non-empty name, `.tmp-`, then exactly six characters of ``alphabet``.
    package static func matches(_ fileName: some StringProtocol) -> Bool {
        guard fileName.utf8.first == UInt8(ascii: ".") else { return false }  // most names, without copying them
        let bytes = Array(fileName.utf8)
        let suffixLength = marker.count + randomLength
        guard bytes.count >= 1 + 1 + suffixLength, bytes.count <= nameMax, bytes[0] == UInt8(ascii: ".") else {
            return false
        }
        let markerStart = bytes.count - suffixLength
        guard Array(bytes[markerStart..<(markerStart + marker.count)]) == marker else { return false }
        return bytes[(markerStart + marker.count)...].allSatisfy { alphabet.contains($0) }
    }
}
