/// Semantic versions, compared as semver.org says (trigger.dev compared strings, so "10.0.0"
/// sorted before "9.0.0"). Strings that are not semver sort before every valid version, and
/// among themselves as strings, so a bad version never becomes "latest" over a good one.
public struct Semver: Comparable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int
    public let prerelease: [String]
    public let text: String

    public var description: String { text }

    public init?(_ text: String) {
        self.text = text
        var core = Substring(text)
        if let plus = core.firstIndex(of: "+") { core = core[..<plus] }
        var pre: [String] = []
        if let dash = core.firstIndex(of: "-") {
            pre = core[core.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !pre.isEmpty, pre.allSatisfy({ !$0.isEmpty }) else { return nil }
            core = core[..<dash]
        }
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let major = Int(parts[0]), let minor = Int(parts[1]), let patch = Int(parts[2]),
              major >= 0, minor >= 0, patch >= 0, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return nil }
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = pre
    }

    public static func < (lhs: Semver, rhs: Semver) -> Bool {
        if (lhs.major, lhs.minor, lhs.patch) != (rhs.major, rhs.minor, rhs.patch) {
            return (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
        // A pre-release sorts before its release; identifiers compare numerically when numeric.
        switch (lhs.prerelease.isEmpty, rhs.prerelease.isEmpty) {
        case (true, true): return false
        case (true, false): return false
        case (false, true): return true
        case (false, false):
            for (a, b) in zip(lhs.prerelease, rhs.prerelease) where a != b {
                switch (Int(a), Int(b)) {
                case let (x?, y?): return x < y
                case (.some, nil): return true
                case (nil, .some): return false
                case (nil, nil): return a < b
                }
            }
            return lhs.prerelease.count < rhs.prerelease.count
        }
    }

    public static func == (lhs: Semver, rhs: Semver) -> Bool {
        !(lhs < rhs) && !(rhs < lhs)
    }

    /// Orders any two version strings: valid semver above invalid, semver order among valid ones.
    public static func isOrderedBefore(_ a: String, _ b: String) -> Bool {
        switch (Semver(a), Semver(b)) {
        case let (x?, y?): return x < y
        case (nil, .some): return true
        case (.some, nil): return false
        case (nil, nil): return a < b
        }
    }
}
