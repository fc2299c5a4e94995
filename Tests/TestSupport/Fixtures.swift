import Foundation

/// The responses captured from the real trigger.dev v2 SDK (`Tests/Fixtures/realsdk` and
/// `realsdk-2.3`, copies of `shared/fixtures/…`; a test checks the copies are byte-identical when
/// `shared/` is present).
public enum Fixtures {
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/realsdk")

    /// `shared/fixtures/realsdk` next to the repository, when it exists (developer machines and CI).
    public static let sharedDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures/realsdk")

    /// The same for SDK 2.3.18 (`shared/fixtures/realsdk-2.3`).
    public static let directory23 = directory.deletingLastPathComponent().appendingPathComponent("realsdk-2.3")
    public static let sharedDirectory23 = sharedDirectory.deletingLastPathComponent().appendingPathComponent("realsdk-2.3")

    public static let names: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }()

    /// The exact body bytes.
    public static func body(_ name: String) -> Data {
        try! Data(contentsOf: directory.appendingPathComponent("\(name).json"))
    }

    /// The status code from the raw capture's status line.
    public static func status(_ name: String) -> Int {
        let raw = String(decoding: try! Data(contentsOf: directory.appendingPathComponent("\(name).txt")), as: UTF8.self)
        let statusLine = raw.split(separator: "\r\n", maxSplits: 1).first ?? ""
        return Int(statusLine.split(separator: " ")[1])!
    }

    public static let apiKey = "tr_dev_x"
    public static let endpointId = "my-endpoint"
}

/// UUIDs in text, for the check that every id Kongflow prints is lowercase.
public enum UUIDText {
    static let pattern = try! NSRegularExpression(pattern: "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")

    public static func all(in text: String) -> [String] {
        pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { Range($0.range, in: text).map { String(text[$0]) } }
    }

    /// True when some UUID in `text` has an uppercase letter.
    public static func uppercase(in text: String) -> Bool {
        all(in: text).contains { $0 != $0.lowercased() }
    }
}
