import Foundation
import Testing
import TestSupport
@testable import TriggerProtocol

/// The hand-written JSON parser, printer and encoder agree with Foundation's, and are as strict.
@Suite struct JSONTextTests {
    /// Foundation's reading of the same text (what `JSONValue.parse` was before it was hand-written).
    static func foundation(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test(arguments: [
        #"{"a":[1,-2.5,3e2,0,-0.125,1E-3,12345678901234567890],"b":{"c":null,"d":true,"e":false},"f":"x"}"#,
        #"  [ "\u00e9\ud83d\ude00", "tab\tnew\nline", "q\"b\\s\/", "é😀", "" ]  "#,
        #""just a string""#, "42", "-0", "true", "null", "[]", "{}",
    ])
    func parsesAsFoundationDoes(_ text: String) throws {
        #expect(try JSONValue.parse(text) == Self.foundation(text))
        #expect(try JSONValue.parse(Data(text.utf8)) == JSONValue.parse(text))
    }

    @Test func idsAreWrittenInLowercaseAsFoundationSpellsThem() {
        for uuid in [UUID(), UUID(), UUID(uuidString: "00000000-0000-0000-0000-000000000000")!, UUID(uuidString: "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF")!] {
            #expect(uuid.lowercasedString == uuid.uuidString.lowercased())
            #expect(UUID(canonical: uuid.lowercasedString) == uuid && UUID(canonical: uuid.uuidString) == uuid)
        }
        for text in ["", "0000000-0000-0000-0000-0000000000000", "00000000-0000-0000-0000-00000000000g", "00000000_0000-0000-0000-000000000000",
                     "{00000000-0000-0000-0000-000000000000}", "00000000-0000-0000-0000-0000000000000", "é0000000-0000-0000-0000-00000000000"] {
            #expect(UUID(canonical: text) == nil, "\(text)")
        }
    }

    /// The encoder's shortcuts (primitive members stored without a node, concrete overloads) give
    /// the same text as the values they stand for; a key set twice keeps its last value.
    @Test func encodedMembersKeepTheirValuesAndTheLastWriteWins() throws {
        struct Twice: Encodable {
            enum Key: String, CodingKey { case a, b, c, d, e }
            func encode(to encoder: any Encoder) throws {
                var object = encoder.container(keyedBy: Key.self)
                try object.encode("first", forKey: .a)
                var nested = object.nestedContainer(keyedBy: Key.self, forKey: .a)
                try nested.encode(true, forKey: .b)
                try object.encode(2, forKey: .b)
                var list = object.nestedUnkeyedContainer(forKey: .c)
                try list.encode("x")
                try list.encode(1.5)
                try list.encode(UUID(uuidString: "00000000-0000-0000-0000-0000000000AB")!)
                try list.encodeNil()
                try object.encode(Date(timeIntervalSince1970: 0), forKey: .d)
                try object.encodeNil(forKey: .e)
            }
        }
        #expect(try JSONValue.print(Twice()) == #"{"a":{"b":true},"b":2,"c":["x",1.5,"00000000-0000-0000-0000-0000000000ab",null],"d":"1970-01-01T00:00:00.000Z","e":null}"#)
        #expect(try JSONValue.print(["quote \" and \\ and \n": "tab\t"]) == #"{"quote \" and \\ and \n":"tab\t"}"#)
    }

    @Test func aRepeatedKeyKeepsItsLastValueAsJavaScriptDoes() throws {
        #expect(try JSONValue.parse(#"{"dup":1,"dup":2}"#) == ["dup": 2])
    }

    @Test(arguments: [
        "", " ", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "+1", "NaN", "Infinity", "tru", "nul", "[1 2]", "{\"a\" 1}", "{a:1}",
        "'x'", "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00 alone\"", "\"a\u{01}b\"", "[1]]", "{} {}",
        "1e400", "[" + String(repeating: "[", count: 600) + String(repeating: "]", count: 601),
    ])
    func rejectsWhatIsNotOneJSONDocument(_ text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22]] {
            #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Data(bytes)) }
        }
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let depth = JSONText.maximumDepth
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var value = try JSONValue.parse(text)
        var levels = 1
        while case .array(let inner) = value, let first = inner.first { value = first; levels += 1 }
        #expect(levels == depth)
    }

    @Test func printsCompactSortedAndParsesBack() throws {
        let value: JSONValue = ["b": [1, 2.5, "x/y"], "a": ["z": .null, "control": "\u{01}\n\t\"\\"], "n": -3, "big": 1e21, "small": 0.000001]
        let text = value.jsonString()
        #expect(text == #"{"a":{"control":"\u0001\n\t\"\\","z":null},"b":[1,2.5,"x/y"],"big":1e+21,"n":-3,"small":1e-06}"#)
        #expect(try JSONValue.parse(text) == value)
        #expect(try Self.foundation(text) == value)
    }

    /// The encoder gives what JSONEncoder then JSONDecoder gave, for everything the protocol encodes.
    @Test func encoderAgreesWithFoundationOnTheFixtures() throws {
        for name in ["index-ok", "index-no-id-header"] {
            let response = try IndexEndpointResponse.decode(try JSONValue.parse(Fixtures.body(name)))
            let viaFoundation = try Self.foundation(String(decoding: try JSONEncoder().encode(response), as: UTF8.self))
            #expect(try JSONValue(encoding: response) == viaFoundation, "\(name)")
            #expect(try JSONValue.parse(JSONValue.print(response)) == viaFoundation)
        }
        struct Numbers: Encodable {
            let int8: Int8 = -8, uint16: UInt16 = 16, int64: Int64 = 1 << 40, float: Float = 0.5, optional: Int? = nil, list: [Int?] = [1, nil]
        }
        #expect(try JSONValue(encoding: Numbers()) == ["int8": -8, "uint16": 16, "int64": .number(Double(1 << 40)), "float": 0.5, "list": [1, .null]])
    }
}
