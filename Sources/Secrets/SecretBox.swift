import Crypto
import Foundation

/// Seals secrets (integration tokens) for storage with AES-256-GCM, so a copy of the database (a
/// backup, the SQLite file) does not give them away. A sealed value is `v1:<key id>:<base64 of nonce,
/// ciphertext and tag>`; the key id (the first 8 hex digits of the key's SHA-256) picks the key on
/// opening, so values sealed with a previous key still open while `kongflow secrets reencrypt`
/// moves them to the current one.
public struct SecretBox: Sendable {
    public struct Key: Sendable {
        /// The raw bytes (SymmetricKey is not Sendable); made into a key for each use.
        let bytes: [UInt8]
        public let id: String
        var key: SymmetricKey { SymmetricKey(data: bytes) }

        /// 32 bytes, as 44 characters of base64 or 64 hexadecimal digits.
        public init(text: String) throws {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            var bytes: [UInt8]? = nil
            if trimmed.count == 64, trimmed.allSatisfy(\.isHexDigit) {
                var hex = Substring(trimmed)
                var out: [UInt8] = []
                while !hex.isEmpty { out.append(UInt8(hex.prefix(2), radix: 16)!); hex = hex.dropFirst(2) }
                bytes = out
            } else if let data = Data(base64Encoded: trimmed) {
                bytes = [UInt8](data)
            }
            guard let bytes, bytes.count == 32 else {
                throw SecretError.invalidKey("An encryption key is 32 bytes, written as 44 characters of base64 or 64 hexadecimal digits")
            }
            self.init(bytes: bytes)
        }

        init(bytes: [UInt8]) {
            self.bytes = bytes
            id = SHA256.hash(data: bytes).prefix(4).map { String(format: "%02x", $0) }.joined()
        }

        public static func generate() -> Key { Key(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { [UInt8]($0) }) }

        /// The key as base64, to write to a key file.
        public var text: String { Data(bytes).base64EncodedString() }
    }

    public let current: Key
    public let previous: [Key]

    public init(current: Key, previous: [Key] = []) {
        self.current = current
        self.previous = previous
    }

    public func seal(_ plaintext: String) throws -> String {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: current.key)
        guard let combined = box.combined else { throw SecretError.cannotOpen("AES-GCM gave no combined representation") }
        return "v1:\(current.id):\(combined.base64EncodedString())"
    }

    public func open(_ sealed: String) throws -> String {
        let parts = sealed.split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "v1", let data = Data(base64Encoded: parts[2]) else {
            throw SecretError.cannotOpen("The stored secret is not in a format Kongflow seals")
        }
        guard let key = ([current] + previous).first(where: { $0.id == parts[1] }) else {
            throw SecretError.cannotOpen("The stored secret was sealed with key \(parts[1]), which is neither KONGFLOW_ENCRYPTION_KEY nor one of KONGFLOW_ENCRYPTION_KEY_PREVIOUS")
        }
        do {
            let plaintext = try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: key.key)
            return String(decoding: plaintext, as: UTF8.self)
        } catch {
            throw SecretError.cannotOpen("The stored secret does not open with key \(key.id): it was changed or the key is wrong")
        }
    }

    /// A key for another purpose (signing dashboard sessions), derived from the current key with
    /// HKDF so that neither reveals the other.
    public func derivedKey(purpose: String) -> [UInt8] {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: current.key, info: Data(purpose.utf8), outputByteCount: 32).withUnsafeBytes { [UInt8]($0) }
    }

    /// Whether `sealed` was sealed with an older key (and `reencrypt` would move it).
    public func isStale(_ sealed: String) -> Bool { !sealed.hasPrefix("v1:\(current.id):") }

    /// The key from `KONGFLOW_ENCRYPTION_KEY`, or else from the key file, created (readable by its
    /// owner only) when missing. Creation is exclusive: of two processes starting at once, one
    /// writes the key and the other reads it.
    public static func load(key: String?, previous: [String], keyFile: String) throws -> SecretBox {
        let previousKeys = try previous.filter { !$0.isEmpty }.map(Key.init(text:))
        if let key, !key.isEmpty { return SecretBox(current: try Key(text: key), previous: previousKeys) }
        let url = URL(fileURLWithPath: keyFile)
        if !FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let fd = Foundation.open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            if fd >= 0 {
                let text = Key.generate().text + "\n"
                let written = text.withCString { write(fd, $0, strlen($0)) }
                close(fd)
                guard written == text.utf8.count else { throw SecretError.invalidKey("Could not write the encryption key file \(url.path)") }
            } else if errno != EEXIST {
                throw SecretError.invalidKey("Could not create the encryption key file \(url.path): \(String(cString: strerror(errno)))")
            }
        }
        var text = ""
        // Another process may have created the file an instant ago and still be writing it.
        for attempt in 0..<20 {
            do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                throw SecretError.invalidKey("Could not read the encryption key file \(url.path): \(error.localizedDescription)")
            }
            if !text.isEmpty || attempt == 19 { break }
            usleep(50_000)
        }
        do {
            return SecretBox(current: try Key(text: text), previous: previousKeys)
        } catch {
            throw SecretError.invalidKey("The encryption key file \(url.path) does not hold a key: 32 bytes as base64 or hex")
        }
    }

    /// A key that lives as long as the process: for tests and benchmarks, never for `serve`.
    public static func ephemeral() -> SecretBox { SecretBox(current: .generate()) }
}

public enum SecretError: Error, Equatable, CustomStringConvertible {
    case invalidKey(String)
    case cannotOpen(String)

    public var description: String {
        switch self {
        case .invalidKey(let message), .cannotOpen(let message): message
        }
    }
}
