import Foundation

/// The `noopTasksSet` of an EXECUTE_JOB body (SDK 2.3, protocol 2023-09-29): a 32,768-bit bloom
/// filter of the idempotency keys of the run's completed noop tasks (logs, finished waits), sent as
/// base64. The SDK tests a noop task's key against it before calling the server and skips the call on
/// a hit. One bit per key, chosen by `@trigger.dev/core-backend`'s `BloomFilter` hash (which it calls
/// `murmurHash3`: a 53-bit two-lane hash over UTF-16 code units); the values must match it bit for
/// bit, or a replayed log would be posted again (harmless) or a wait skipped before its time (not).
public struct NoopTaskSet: Sendable, Equatable {
    public static let bits = 32_768
    public private(set) var bytes = [UInt8](repeating: 0, count: bits / 8)

    public init() {}

    public init<S: Sequence>(_ keys: S) where S.Element == String {
        for key in keys { insert(key) }
    }

    public mutating func insert(_ key: String) {
        let index = Self.index(of: key)
        bytes[index / 8] |= UInt8(1) << UInt8(index % 8)
    }

    public func contains(_ key: String) -> Bool {
        let index = Self.index(of: key)
        return bytes[index / 8] & (UInt8(1) << UInt8(index % 8)) != 0
    }

    public var base64: String { Data(bytes).base64EncodedString() }

    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64), data.count == Self.bits / 8 else { return nil }
        bytes = [UInt8](data)
    }

    /// The hash modulo the filter size. The hash is `2^32 * (h2 & 0x1fffff) + h1`, so modulo 2^15
    /// only the low lane counts; both lanes are kept so the function reads as the original.
    static func index(of key: String) -> Int {
        let (low, high) = hash(key)
        return Int((UInt64(high & 0x1f_ffff) << 32 | UInt64(low)) % UInt64(bits))
    }

    static func hash(_ key: String, seed: UInt32 = 0) -> (UInt32, UInt32) {
        var h1: UInt32 = 0xdead_beef ^ seed, h2: UInt32 = 0x41c6_ce57 ^ seed
        let units = Array(key.utf16)
        for unit in units {
            let ch = UInt32(unit)
            h1 = (h1 ^ ch) &* 0xcc9e_2d51
            h1 = h1 << 15 | h1 >> 17
            h1 = h1 &* 0x1b87_3593
            h2 = (h2 ^ ch) &* 0x85eb_ca6b
            h2 = h2 << 13 | h2 >> 19
            h2 = h2 &* 0xc2b2_ae35
        }
        h1 ^= UInt32(truncatingIfNeeded: units.count)
        h2 ^= UInt32(truncatingIfNeeded: units.count)
        h1 = (h1 ^ (h1 >> 16)) &* 0x85eb_ca6b
        h1 = (h1 ^ (h1 >> 13)) &* 0xc2b2_ae35
        h1 ^= h1 >> 16
        h2 = (h2 ^ (h2 >> 16)) &* 0x85eb_ca6b
        h2 = (h2 ^ (h2 >> 13)) &* 0xc2b2_ae35
        h2 ^= h2 >> 16
        return (h1, h2)
    }
}
