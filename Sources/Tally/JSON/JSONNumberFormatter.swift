/// Writes doubles the way ECMAScript's `Number::toString` does, which RFC 8785 §3.2.2.3
/// requires so that every implementation (JavaScript's `JSON.stringify` included) produces
/// the same bytes, and therefore the same hash, for the same number.
package enum JSONNumberFormatter {
    /// Appends the ECMAScript spelling of `value`. The caller must have checked that
    /// `value` is finite; non-finite values have no JSON spelling.
    static func append(_ value: Double, to out: inout ByteBuffer) {
        // Both zeros print as "0" (ECMAScript drops the sign of -0).
        if value == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value
        if magnitude < 0 {
            out.append(UInt8(ascii: "-"))
            magnitude = -magnitude
        }
        // Fast path for the common case (amounts, counts, versions): integers a double
        // holds exactly need no shortest-digit search and no temporary String.
        if magnitude < 9_007_199_254_740_992, magnitude == magnitude.rounded(.towardZero) {
            out.appendDecimal(UInt64(magnitude))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digits in
            let (count, exponent) = shortestDigits(of: magnitude, into: digits)
            layOut(digits: UnsafeBufferPointer(rebasing: digits[0..<count]), exponent: exponent, to: &out)
        }
    }

    /// Appends the ECMAScript spelling of `value` to an array (for writers that build
    /// `[UInt8]` lines); the `ByteBuffer` overload does the work.
    static func append(_ value: Double, to out: inout [UInt8]) {
        // The longest spelling is 25 bytes ("-0.0000012345678901234567").
        ByteBuffer.append(to: &out, scratchCapacity: 32) { append(value, to: &$0) }
    }

    /// The ECMAScript spelling of a finite `value` as a String (used in error messages).
    package static func string(_ value: Double) -> String {
        var out: [UInt8] = []
        append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the decimal digits of `value`.
    static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        ByteBuffer.append(to: &out, scratchCapacity: 20) { $0.appendDecimal(value) }
    }

    /// Finds the shortest digit string that reads back as `value` (positive, finite,
    /// non-zero), in the form `0.DIGITS × 10^exponent`, and returns the digit count and the
    /// exponent.
    ///
    /// Swift's `description` already computes the shortest round-trip digits, choosing
    /// the candidate closest to the exact value as ECMAScript requires; only its layout
    /// differs ("1e-05", "100.0"), so we take the digits and the exponent from it and lay
    /// them out ourselves.
    private static func shortestDigits(of value: Double, into digits: UnsafeMutableBufferPointer<UInt8>) -> (Int, Int) {
        var count = 0
        var pointPosition = -1
        var exponent = 0
        var exponentNegative = false
        var inExponent = false
        for byte in value.description.utf8 {
            if inExponent {
                switch byte {
                case UInt8(ascii: "-"): exponentNegative = true
                case UInt8(ascii: "+"): break
                default: exponent = exponent * 10 + Int(byte &- UInt8(ascii: "0"))
                }
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                inExponent = true
            } else if byte == UInt8(ascii: ".") {
                pointPosition = count
            } else if count < digits.count {
                digits[count] = byte
                count += 1
            }
        }
        if pointPosition < 0 { pointPosition = count }
        if exponentNegative { exponent = -exponent }
        // Drop leading zeros ("0.001" → "1") and trailing zeros ("100.0" → "1"); the value
        // is non-zero, so at least one digit remains.
        var first = 0
        while first < count - 1, digits[first] == UInt8(ascii: "0") { first += 1 }
        var end = count
        while end > first + 1, digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
        if first > 0 {
            for index in first..<end { digits[index - first] = digits[index] }
        }
        return (end - first, pointPosition - first + exponent)
    }

    /// Lays out `0.DIGITS × 10^n` by the rules of ECMAScript `Number::toString`
    /// (ECMA-262, section "Number::toString", steps for k, n).
    private static func layOut(digits: UnsafeBufferPointer<UInt8>, exponent n: Int, to out: inout ByteBuffer) {
        let k = digits.count
        if k <= n, n <= 21 {
            // An integer below 10^21: all digits, then zeros.
            out.append(digits)
            out.append(UInt8(ascii: "0"), times: n - k)
        } else if 0 < n, n <= 21 {
            out.append(UnsafeBufferPointer(rebasing: digits[0..<n]))
            out.append(UInt8(ascii: "."))
            out.append(UnsafeBufferPointer(rebasing: digits[n..<k]))
        } else if -6 < n, n <= 0 {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            out.append(UInt8(ascii: "0"), times: -n)
            out.append(digits)
        } else {
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out.append(UnsafeBufferPointer(rebasing: digits[1..<k]))
            }
            out.append(UInt8(ascii: "e"))
            let power = n - 1
            out.append(power < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            out.appendDecimal(UInt64(power.magnitude))
        }
    }
}
