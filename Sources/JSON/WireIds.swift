import Foundation

extension UUID {
    /// Ids go over the wire, into logs and into the CLI's output in lowercase, as PostgreSQL prints them.
    public var lowercasedString: String { uuidString.lowercased() }
}
