@_exported import JSON

extension JSONValue {
    /// The zod name of this value's type, as used in "Expected string, received number".
    var zodTypeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let d): return d.isNaN ? "nan" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// One place in a JSON document: `jobs[3].trigger.rule`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public var components: [Component]

    public init(_ components: [Component] = []) { self.components = components }

    public static let root = JSONPath()

    func key(_ key: String) -> JSONPath { JSONPath(components + [.key(key)]) }
    func index(_ index: Int) -> JSONPath { JSONPath(components + [.index(index)]) }

    /// zod-validation-error's form: keys joined by `.`, indexes as `[n]`.
    public var description: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }
}

/// One problem found while validating, with zod's wording.
public struct ValidationIssue: Sendable, Hashable, CustomStringConvertible {
    public let path: JSONPath
    public let message: String

    public var description: String {
        path.components.isEmpty ? message : "\(message) at \"\(path)\""
    }
}

/// All issues of one document. Like a ZodError, one invalid item anywhere fails the whole parse.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let issues: [ValidationIssue]

    /// zod-validation-error's `fromZodError(error, {prefix})` text.
    public func message(prefix: String = "Validation error") -> String {
        "\(prefix): " + issues.map(\.description).joined(separator: "; ")
    }

    public var description: String { message() }

    /// A JSON rendering of every issue, kept as `raw` next to a friendly message.
    public var raw: JSONValue {
        .array(issues.map { issue in
            .object(["message": .string(issue.message), "path": .array(issue.path.components.map {
                switch $0 {
                case .key(let key): return .string(key)
                case .index(let index): return .number(Double(index))
                }
            })])
        })
    }
}

/// Presence of an optional field: absent, present and valid, or present and invalid.
enum Field<T> {
    case absent
    case value(T)
    case invalid

    var ok: Bool {
        if case .invalid = self { return false }
        return true
    }

    var value: T? {
        if case .value(let v) = self { return v }
        return nil
    }
}

/// Collects issues while walking a document, the way a zod schema does. Each method returns nil
/// (and records an issue) when the value does not fit, so a caller can check every field before
/// giving up and report them all at once.
final class Validator {
    private(set) var issues: [ValidationIssue] = []
    /// Recursive structures (event filters) deeper than this are rejected rather than walked.
    let maximumDepth = 32

    func fail(_ path: JSONPath, _ message: String) {
        issues.append(ValidationIssue(path: path, message: message))
    }

    func expected(_ type: String, _ value: JSONValue?, _ path: JSONPath) {
        if let value {
            fail(path, "Expected \(type), received \(value.zodTypeName)")
        } else {
            fail(path, "Required")
        }
    }

    func object(_ value: JSONValue?, _ path: JSONPath) -> [String: JSONValue]? {
        guard case .object(let object) = value else { expected("object", value, path); return nil }
        return object
    }

    func array(_ value: JSONValue?, _ path: JSONPath) -> [JSONValue]? {
        guard case .array(let array) = value else { expected("array", value, path); return nil }
        return array
    }

    func string(_ value: JSONValue?, _ path: JSONPath) -> String? {
        guard case .string(let string) = value else { expected("string", value, path); return nil }
        return string
    }

    func bool(_ value: JSONValue?, _ path: JSONPath) -> Bool? {
        guard case .bool(let bool) = value else { expected("boolean", value, path); return nil }
        return bool
    }

    func number(_ value: JSONValue?, _ path: JSONPath) -> Double? {
        guard case .number(let number) = value, number.isFinite else { expected("number", value, path); return nil }
        return number
    }

    func integer(_ value: JSONValue?, _ path: JSONPath) -> Int? {
        guard let number = number(value, path) else { return nil }
        guard number == number.rounded(), abs(number) < 9_007_199_254_740_992 else {
            fail(path, "Expected integer, received float")
            return nil
        }
        return Int(number)
    }

    /// `z.literal(x)`.
    func literal(_ value: JSONValue?, _ expected: String, _ path: JSONPath) -> String? {
        guard case .string(let string) = value, string == expected else {
            if value == nil { fail(path, "Required") } else { fail(path, "Invalid literal value, expected \"\(expected)\"") }
            return nil
        }
        return string
    }

    /// `z.enum([...])`.
    func enumeration(_ value: JSONValue?, _ options: [String], _ path: JSONPath) -> String? {
        guard case .string(let string) = value else { expected("string", value, path); return nil }
        guard options.contains(string) else {
            fail(path, "Invalid enum value. Expected \(options.map { "'\($0)'" }.joined(separator: " | ")), received '\(string)'")
            return nil
        }
        return string
    }

    /// The discriminator of a `z.discriminatedUnion`.
    func discriminator(_ object: [String: JSONValue], _ key: String, _ options: [String], _ path: JSONPath) -> String? {
        guard case .string(let string) = object[key], options.contains(string) else {
            fail(path.key(key), "Invalid discriminator value. Expected \(options.map { "'\($0)'" }.joined(separator: " | "))")
            return nil
        }
        return string
    }

    /// `z.array(item)`: validates every element (all issues are collected).
    func arrayOf<T>(_ value: JSONValue?, _ path: JSONPath, _ item: (JSONValue, JSONPath) -> T?) -> [T]? {
        guard let array = array(value, path) else { return nil }
        var result: [T] = []
        result.reserveCapacity(array.count)
        var ok = true
        for (index, element) in array.enumerated() {
            if let parsed = item(element, path.index(index)) { result.append(parsed) } else { ok = false }
        }
        return ok ? result : nil
    }

    /// `z.record(item)`.
    func recordOf<T>(_ value: JSONValue?, _ path: JSONPath, _ item: (JSONValue, JSONPath) -> T?) -> [String: T]? {
        guard let object = object(value, path) else { return nil }
        var result: [String: T] = [:]
        var ok = true
        for key in object.keys.sorted() {
            if let parsed = item(object[key]!, path.key(key)) { result[key] = parsed } else { ok = false }
        }
        return ok ? result : nil
    }

    /// `.optional()`: absent is fine, present (even `null`) must validate.
    func optional<T>(_ value: JSONValue?, _ parse: (JSONValue) -> T?) -> Field<T> {
        guard let value else { return .absent }
        guard let parsed = parse(value) else { return .invalid }
        return .value(parsed)
    }
}
