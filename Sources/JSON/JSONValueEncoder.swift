import Foundation

/// Encodes an `Encodable` straight into a `JSONValue`, without printing and re-parsing JSON text.
/// Coding paths are not tracked (always empty): nothing here reads them, and building them per value
/// is a large part of what `JSONEncoder` costs.
struct JSONValueEncoder {
    static func encode(_ value: some Encodable) throws -> JSONValue {
        if let json = value as? JSONValue { return json }
        let node = Node()
        try value.encode(to: NodeEncoder(node: node))
        return node.resolved
    }

    /// What one encoded value is becoming; a reference so that containers can fill it in later.
    final class Node {
        var value: JSONValue?
        var object: [String: Slot]?
        var array: [Slot]?

        var resolved: JSONValue {
            if let value { return value }
            if let object { return .object(object.mapValues(\.resolved)) }
            if let array { return .array(array.map(\.resolved)) }
            return .object([:])
        }

        func makeObject() { if object == nil { value = nil; array = nil; object = Dictionary(minimumCapacity: 8) } }
        func makeArray() { if array == nil { value = nil; object = nil; array = [] } }
    }

    /// A member of an object or array: a finished value needs no node of its own, and most members
    /// are strings, numbers and dates.
    enum Slot {
        case value(JSONValue)
        case node(Node)

        var resolved: JSONValue {
            switch self {
            case .value(let value): value
            case .node(let node): node.resolved
            }
        }
    }

    /// `value` as a slot: a primitive directly, anything else encoded into a new node.
    static func slot(_ value: some Encodable) throws -> Slot {
        if let primitive = primitive(value) { return .value(primitive) }
        let node = Node()
        try value.encode(to: NodeEncoder(node: node))
        return .node(node)
    }

    static func primitive(_ value: some Encodable) -> JSONValue? {
        switch value {
        case let uuid as UUID: return .string(uuid.lowercasedString)
        case let date as Date: return .string(ISODate.format(date))
        case let json as JSONValue: return json
        case let string as String: return .string(string)
        case let bool as Bool: return .bool(bool)
        case let double as Double: return .number(double)
        case let int as Int: return .number(Double(int))
        case let int as Int64: return .number(Double(int))
        case let int as Int32: return .number(Double(int))
        case let int as Int16: return .number(Double(int))
        case let int as Int8: return .number(Double(int))
        case let int as UInt: return .number(Double(int))
        case let int as UInt64: return .number(Double(int))
        case let int as UInt32: return .number(Double(int))
        case let int as UInt16: return .number(Double(int))
        case let int as UInt8: return .number(Double(int))
        case let float as Float: return .number(Double(float))
        default: return nil
        }
    }

    static func encode(_ value: some Encodable, into node: Node) throws {
        if let primitive = primitive(value) {
            node.value = primitive
        } else {
            try value.encode(to: NodeEncoder(node: node))
        }
    }

    struct NodeEncoder: Encoder {
        let node: Node
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            node.makeObject()
            return KeyedEncodingContainer(Keyed(node: node))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            node.makeArray()
            return Unkeyed(node: node)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { Single(node: node) }
    }

    // The concrete overloads skip the dynamic casts of `primitive` for the types synthesized
    // conformances encode most.
    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        var codingPath: [any CodingKey] { [] }

        func set(_ slot: Slot, _ key: Key) { node.object![key.stringValue] = slot }
        func child(_ key: Key) -> Node {
            let child = Node()
            set(.node(child), key)
            return child
        }

        mutating func encodeNil(forKey key: Key) throws { set(.value(.null), key) }
        mutating func encode(_ value: String, forKey key: Key) throws { set(.value(.string(value)), key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { set(.value(.bool(value)), key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { set(.value(.number(Double(value))), key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { set(.value(.number(value)), key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { set(try JSONValueEncoder.slot(value), key) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            NodeEncoder(node: child(key)).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            NodeEncoder(node: child(key)).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { NodeEncoder(node: node) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: child(key)) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey] { [] }
        var count: Int { node.array!.count }

        func append(_ slot: Slot) { node.array!.append(slot) }
        func next() -> Node {
            let child = Node()
            append(.node(child))
            return child
        }

        mutating func encodeNil() throws { append(.value(.null)) }
        mutating func encode(_ value: String) throws { append(.value(.string(value))) }
        mutating func encode(_ value: Bool) throws { append(.value(.bool(value))) }
        mutating func encode(_ value: Int) throws { append(.value(.number(Double(value)))) }
        mutating func encode(_ value: Double) throws { append(.value(.number(value))) }
        mutating func encode<T: Encodable>(_ value: T) throws { append(try JSONValueEncoder.slot(value)) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            NodeEncoder(node: next()).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { NodeEncoder(node: next()).unkeyedContainer() }
        mutating func superEncoder() -> any Encoder { NodeEncoder(node: next()) }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil() throws { node.value = .null }
        mutating func encode(_ value: String) throws { node.value = .string(value) }
        mutating func encode(_ value: Bool) throws { node.value = .bool(value) }
        mutating func encode(_ value: Int) throws { node.value = .number(Double(value)) }
        mutating func encode(_ value: Double) throws { node.value = .number(value) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try JSONValueEncoder.encode(value, into: node)
        }
    }
}
