import Foundation
import Testing
import TestSupport
@testable import TriggerProtocol

/// Random mutations of the real SDK's bodies never crash the decoder: each yields a value or a
/// validation error. Seeded, so a failure reproduces.
@Suite struct FuzzTests {
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let replacements: [JSONValue] = [.null, true, 0, -1, 30.5, 1e300, "", "x", [], [:], [.null], ["type": "cron"], ["ok": true]]

    static func mutate(_ value: JSONValue, _ rng: inout SplitMix64, depth: Int = 0) -> JSONValue {
        if Int.random(in: 0..<6, using: &rng) == 0 || depth > 12 {
            return replacements.randomElement(using: &rng)!
        }
        switch value {
        case .object(var object) where !object.isEmpty:
            let key = object.keys.sorted().randomElement(using: &rng)!
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: object.removeValue(forKey: key)
            case 1: object["unexpected\(Int.random(in: 0..<9, using: &rng))"] = replacements.randomElement(using: &rng)!
            default: object[key] = mutate(object[key]!, &rng, depth: depth + 1)
            }
            return .object(object)
        case .array(var array) where !array.isEmpty:
            let index = Int.random(in: 0..<array.count, using: &rng)
            if Bool.random(using: &rng) { array[index] = mutate(array[index], &rng, depth: depth + 1) } else { array.remove(at: index) }
            return .array(array)
        default:
            return replacements.randomElement(using: &rng)!
        }
    }

    @Test(arguments: ["index-ok", "index-job-ok", "ping-ok", "ping-wrong-id"])
    func structuralMutationsYieldValueOrValidationError(_ name: String) throws {
        var rng = SplitMix64(state: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        let original = try JSONValue.parse(Fixtures.body(name))
        var accepted = 0, rejected = 0
        for _ in 0..<1500 {
            let mutated = Self.mutate(original, &rng)
            for attempt in [
                { _ = try IndexEndpointResponse.decode(mutated) },
                { _ = try JobMetadata.decode(mutated) },
                { _ = try PongResponse.decode(mutated) },
            ] as [() throws -> Void] {
                do {
                    try attempt()
                    accepted += 1
                } catch is IndexValidationError {
                    rejected += 1
                } catch let error as ValidationError {
                    #expect(!error.issues.isEmpty)
                    rejected += 1
                }
            }
        }
        #expect(accepted + rejected == 4500)
        #expect(rejected > 0)
    }

    @Test func byteMutationsYieldValueParseErrorOrValidationError() throws {
        var rng = SplitMix64(state: 42)
        let bytes = [UInt8](Fixtures.body("index-ok"))
        for _ in 0..<1500 {
            var mutated = bytes
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let index = Int.random(in: 0..<mutated.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: mutated[index] = UInt8.random(in: 0...255, using: &rng)
                case 1: mutated.remove(at: index)
                default: mutated.insert(Array("{}[],:\"0".utf8).randomElement(using: &rng)!, at: index)
                }
            }
            do {
                _ = try IndexEndpointResponse.decode(try JSONValue.parse(Data(mutated)))
            } catch is JSONValue.ParseError {
            } catch is IndexValidationError {
            }
        }
    }
}
