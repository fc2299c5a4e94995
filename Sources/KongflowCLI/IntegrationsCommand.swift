import ArgumentParser
import Foundation
import Integrations
import JSON
import KongflowApp
import Secrets

/// An environment's integrations, through the server's API (which holds the encryption key).
struct IntegrationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integrations",
        abstract: "Connect the environment to HOSTED integrations (e.g. github), list and remove them.",
        subcommands: [Create.self, List.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an integration with its access token; the token is read from --token-file or standard input, never from the command line.")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The id jobs use for it, e.g. github.") var id: String
        @Option(help: "The service, e.g. github (default: the id).") var service: String?
        @Option(help: "oauth2 or apiKey.") var type = "oauth2"
        @Option(help: "Comma-separated scopes.") var scopes: String?
        @Option(help: "A file holding the token (default: read standard input).") var tokenFile: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let token = try readToken()
            var auth: [String: JSONValue] = ["type": .string(type), "accessToken": .string(token)]
            if let scopes {
                auth["scopes"] = .array(scopes.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
            }
            let created = try await api.call(.POST, "/api/v1/integrations",
                                              body: ["id": .string(id), "service": .string(service ?? id), "auth": .object(auth)])
            if json { printJSONValue(created); return }
            print("Integration \(id) (\(created["service"]?.stringValue ?? "?"), \(type)) is connected. Re-index the endpoints whose jobs use it: `kongflow endpoints index SLUG`.")
        }

        func readToken() throws -> String {
            let data: Data
            if let tokenFile {
                guard let contents = FileManager.default.contents(atPath: tokenFile) else { throw ValidationError("Cannot read --token-file \(tokenFile)") }
                data = contents
            } else {
                data = FileHandle.standardInput.readDataToEndOfFile()
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw ValidationError("No token: pass it on standard input or with --token-file") }
            return token
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The environment's integrations (never their tokens).")
        @OptionGroup var api: APIClientOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let answer = try await api.call(.GET, "/api/v1/integrations")
            if json { printJSONValue(answer); return }
            let integrations = answer["integrations"]?.arrayValue ?? []
            if integrations.isEmpty {
                print("No integrations yet: `kongflow integrations create github --token-file TOKEN_FILE` connects one.")
                return
            }
            for integration in integrations {
                let scopes = integration["scopes"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? ""
                print([integration["id"], integration["service"], integration["authType"], integration["updatedAt"]].map { $0?.stringValue ?? "" }
                    .joined(separator: "  ") + (scopes.isEmpty ? "" : "  scopes: \(scopes)"))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the environment's credentials for an integration.")
        @OptionGroup var api: APIClientOptions
        @Argument(help: "The integration's id.") var id: String

        func run() async throws {
            _ = try await api.call(.DELETE, "/api/v1/integrations/\(RunsCommand.escape(id))")
            print("Integration \(id) removed.")
        }
    }
}

/// The encryption key's upkeep.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Re-seal stored secrets with the current encryption key after a key rotation.",
        subcommands: [Reencrypt.self])

    struct Reencrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal every secret sealed with a KONGFLOW_ENCRYPTION_KEY_PREVIOUS key with KONGFLOW_ENCRYPTION_KEY.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger("kongflow")
            let secrets = try database.configuration().openSecretBox()
            try await withDatabase(database, logger: logger) { db in
                let moved = try await IntegrationService(database: db, secrets: secrets).reencrypt()
                print("Re-sealed \(moved) secret\(moved == 1 ? "" : "s") with key \(secrets.current.id).")
            }
        }
    }
}
