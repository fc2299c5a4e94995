import Crypto
import Foundation

/// API key generation and comparison.
public enum APIKeys {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// `tr_<dev|prod|stg|prev>_` + 20 alphanumerics from the system CSPRNG.
    public static func secretKey<R: RandomNumberGenerator>(for type: EnvironmentType, using rng: inout R) -> String {
        "tr_\(type.keyPrefix)_" + randomString(count: 20, using: &rng)
    }

    /// `pk_<dev|prod|stg|prev>_` + 20 alphanumerics.
    public static func publicKey<R: RandomNumberGenerator>(for type: EnvironmentType, using rng: inout R) -> String {
        "pk_\(type.keyPrefix)_" + randomString(count: 20, using: &rng)
    }

    static func randomString<R: RandomNumberGenerator>(count: Int, using rng: inout R) -> String {
        // Int.random(in:) rejects out-of-range samples, so every character is equally likely.
        String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }

    /// The lookup column: SHA-256 of the key, hex. Looking keys up by digest keeps the index
    /// search from leaking, through timing, how much of a guessed key matched.
    public static func digest(_ key: String) -> String {
        var key = key
        return key.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)).withUnsafeBytes { hex($0) } }
    }

    /// Lower-case hex. `String(format:)` per byte was 7% of an authenticated GET (perf, BENCHMARKS.md).
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var at = 0
            for byte in bytes {
                out[at] = hexDigits[Int(byte >> 4)]
                out[at + 1] = hexDigits[Int(byte & 0x0F)]
                at += 2
            }
            return at
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Compares two secrets in time that depends only on their lengths.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                var difference = UInt8(x.count == y.count ? 0 : 1)
                for i in 0..<max(x.count, y.count) {
                    let left = i < x.count ? x[i] : 0
                    let right = i < y.count ? y[i] : 0
                    difference |= left ^ right
                }
                return difference == 0
            }
        }
    }

    /// Whether `key` has the shape of a secret key; anything else is rejected before a lookup.
    public static func looksLikeSecretKey(_ key: String) -> Bool {
        // On UTF-8 bytes: Character's Unicode properties were 2% of an authenticated request.
        let parts = key.utf8.split(separator: UInt8(ascii: "_"), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].elementsEqual("tr".utf8), !parts[1].isEmpty, !parts[2].isEmpty, parts[2].count <= 64 else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) }
        func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        return parts[1].allSatisfy(isLetter) && parts[2].allSatisfy { isLetter($0) || isDigit($0) }
    }
}
