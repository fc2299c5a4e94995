import Foundation
import KongflowApp
import Testing

/// One configuration type for flags and environment variables.
@Suite struct ConfigurationTests {
    @Test func environmentVariablesFillTheConfiguration() throws {
        let defaults = try KongflowConfiguration(environment: [:])
        #expect(defaults == KongflowConfiguration())
        #expect(defaults.databasePoolSize == 20 && !defaults.refusePrivateAddresses && defaults.executeTimeout == .seconds(300))
        let set = try KongflowConfiguration(environment: [
            "KONGFLOW_DATABASE_URL": "sqlite:/tmp/x.sqlite", "KONGFLOW_DATABASE_POOL_SIZE": "5",
            "KONGFLOW_REFUSE_PRIVATE_ADDRESSES": "true", "KONGFLOW_EXECUTE_TIMEOUT": "2.5",
        ])
        #expect(set.databaseURL == "sqlite:/tmp/x.sqlite" && set.databasePoolSize == 5 && set.refusePrivateAddresses)
        #expect(set.executeTimeout == .milliseconds(2500))
        #expect(set.clientConfiguration.refusePrivateAddresses && set.clientConfiguration.defaultExecuteTimeout == .milliseconds(2500))
        for (name, value) in [("KONGFLOW_DATABASE_POOL_SIZE", "0"), ("KONGFLOW_REFUSE_PRIVATE_ADDRESSES", "maybe"), ("KONGFLOW_EXECUTE_TIMEOUT", "-1")] {
            #expect(throws: KongflowConfiguration.Invalid.self, "\(name)=\(value)") { try KongflowConfiguration(environment: [name: value]) }
        }
    }
}
