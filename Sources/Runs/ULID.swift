import Foundation
import NIOConcurrencyHelpers

/// ULIDs (48-bit millisecond time, 80 random bits, Crockford base32), monotonic within a process:
/// trigger.dev's task ids are lowercase ULIDs and its generated event ids uppercase ones.
public struct ULIDGenerator: Sendable {
    private struct State { var millis: UInt64 = 0; var random: (UInt16, UInt64) = (0, 0) }
    private let state = NIOLockedValueBox(State())
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public init() {}

    public func next(now: Date = Date(), lowercase: Bool = true) -> String {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let (time, high, low) = state.withLockedValue { state -> (UInt64, UInt16, UInt64) in
            if millis > state.millis {
                state.millis = millis
                state.random = (UInt16.random(in: 0...UInt16.max), UInt64.random(in: 0...UInt64.max))
            } else {
                // Same (or an earlier) millisecond: the previous value plus one keeps ids sortable.
                let (low, overflow) = state.random.1.addingReportingOverflow(1)
                state.random = (overflow ? state.random.0 &+ 1 : state.random.0, low)
            }
            return (state.millis, state.random.0, state.random.1)
        }
        var out = [UInt8](repeating: 0, count: 26)
        var t = time
        for i in stride(from: 9, through: 0, by: -1) { out[i] = Self.alphabet[Int(t & 31)]; t >>= 5 }
        // 80 random bits: 16 in `high`, 64 in `low`, written 5 bits at a time from the end.
        var l = low, h = UInt64(high)
        for i in stride(from: 25, through: 10, by: -1) {
            out[i] = Self.alphabet[Int(l & 31)]
            l = (l >> 5) | ((h & 31) << 59)
            h >>= 5
        }
        let text = String(decoding: out, as: UTF8.self)
        return lowercase ? text.lowercased() : text
    }
}
