import Foundation
import Testing
@testable import EndpointClient

@Suite struct AddressGuardTests {
    @Test(arguments: ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "::", "garbage"])
    func refusesPrivateAddresses(_ address: String) {
        #expect(AddressGuard.isRefused(address))
    }

    @Test(arguments: ["8.8.8.8", "172.32.0.1", "1.1.1.1", "2606:4700::1111", "100.128.0.1"])
    func allowsPublicAddresses(_ address: String) {
        #expect(!AddressGuard.isRefused(address))
    }

    @Test func sameOriginOrHTTPSUpgradeMayCarryTheKey() {
        let start = URL(string: "http://app.example.com/api/trigger")!
        #expect(EndpointClient.mayCarryKey(from: start, to: URL(string: "http://app.example.com/other")!))
        #expect(EndpointClient.mayCarryKey(from: start, to: URL(string: "https://app.example.com/api/trigger")!))
        #expect(!EndpointClient.mayCarryKey(from: start, to: URL(string: "http://www.app.example.com/api/trigger")!))
        #expect(!EndpointClient.mayCarryKey(from: start, to: URL(string: "http://app.example.com:8080/api/trigger")!))
        #expect(!EndpointClient.mayCarryKey(from: URL(string: "https://app.example.com/")!, to: URL(string: "http://app.example.com/")!))
    }
}
