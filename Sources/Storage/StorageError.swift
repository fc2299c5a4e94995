/// Errors from the storage layer. Drivers translate their native errors into these so that services
/// can react to a unique violation the same way on both backends.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A UNIQUE or PRIMARY KEY constraint rejected the write.
    case uniqueViolation(String)
    /// A FOREIGN KEY constraint rejected the write.
    case foreignKeyViolation(String)
    /// A CHECK or NOT NULL constraint rejected the write.
    case constraintViolation(String)
    /// The database could not be reached or opened.
    case unavailable(String)
    /// The statement failed for another reason.
    case queryFailed(String)
    /// A column did not hold what the code expected.
    case decoding(column: String, expected: String, found: String)
    /// The database URL could not be understood.
    case invalidURL(String)
    /// A migration problem: unknown version, failed step, schema newer than this binary.
    case migration(String)

    public var description: String {
        switch self {
        case .uniqueViolation(let m): return "unique constraint violated: \(m)"
        case .foreignKeyViolation(let m): return "foreign key constraint violated: \(m)"
        case .constraintViolation(let m): return "constraint violated: \(m)"
        case .unavailable(let m): return m
        case .queryFailed(let m): return m
        case .decoding(let column, let expected, let found): return "column \(column): expected \(expected), found \(found)"
        case .invalidURL(let m): return m
        case .migration(let m): return m
        }
    }
}
