import Foundation

extension UUID {
    /// Ids go over the wire, into logs and into the CLI's output in lowercase, as PostgreSQL prints them.
    public var lowercasedString: String {
        // Written straight from the bytes: `uuidString.lowercased()` builds the string twice, and every
        // id of every response goes through here.
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var at = 0
                for (position, byte) in bytes.enumerated() {
                    if position == 4 || position == 6 || position == 8 || position == 10 {
                        out[at] = UInt8(ascii: "-")
                        at += 1
                    }
                    out[at] = Self.hexDigits[Int(byte >> 4)]
                    out[at + 1] = Self.hexDigits[Int(byte & 0x0F)]
                    at += 2
                }
                return at
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
