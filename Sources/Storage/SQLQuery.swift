import Foundation

/// A SQL statement whose parameters are written inline and bound, never spliced:
///
///     tx.query("SELECT * FROM endpoints WHERE id = \(id) AND slug = \(slug)")
///
/// Each driver renders the placeholders its own way (`$1` on PostgreSQL, `?1` on SQLite), so a
/// statement both backends agree on is written once.
public struct SQLQuery: Sendable, ExpressibleByStringInterpolation {
    enum Fragment: Sendable {
        case sql(String)
        case bind(SQLValue)
    }

    var fragments: [Fragment]

    public init(stringLiteral value: String) {
        fragments = [.sql(value)]
    }

    public init(stringInterpolation: StringInterpolation) {
        fragments = stringInterpolation.fragments
    }

    public init(unsafeSQL sql: String) {
        fragments = [.sql(sql)]
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var fragments: [Fragment] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            fragments.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: String) {
            fragments.append(.sql(literal))
        }

        public mutating func appendInterpolation(_ value: some SQLBindable) {
            fragments.append(.bind(value.sqlValue))
        }

        /// An optional value binds as NULL when absent.
        public mutating func appendInterpolation<T: SQLBindable>(_ value: T?) {
            fragments.append(.bind(value?.sqlValue ?? .null))
        }

        /// Splices trusted SQL text (an identifier or keyword chosen by code, never user input).
        public mutating func appendInterpolation(unsafeRaw sql: String) {
            fragments.append(.sql(sql))
        }

        /// A comma-separated list of binds, for `IN (…)`. An empty list renders `NULL`, which matches nothing.
        public mutating func appendInterpolation(list values: [some SQLBindable]) {
            if values.isEmpty {
                fragments.append(.sql("NULL"))
                return
            }
            for (index, value) in values.enumerated() {
                if index > 0 { fragments.append(.sql(", ")) }
                fragments.append(.bind(value.sqlValue))
            }
        }

        /// `column NOT IN (…)`, which, unlike `NOT IN (\(list:))`, is true for every row when the list
        /// is empty (`x NOT IN (NULL)` is never true). `column` is trusted SQL text chosen by code.
        public mutating func appendInterpolation(_ column: String, notIn values: [some SQLBindable]) {
            if values.isEmpty {
                fragments.append(.sql("1 = 1"))
                return
            }
            fragments.append(.sql("\(column) NOT IN ("))
            appendInterpolation(list: values)
            fragments.append(.sql(")"))
        }

        /// Splices another query, keeping its binds.
        public mutating func appendInterpolation(_ query: SQLQuery) {
            fragments.append(contentsOf: query.fragments)
        }
    }

    public static func + (lhs: SQLQuery, rhs: SQLQuery) -> SQLQuery {
        var result = lhs
        result.fragments.append(contentsOf: rhs.fragments)
        return result
    }

    /// `parts` separated by `separator`: the rows of a multi-row `VALUES`, for instance.
    public static func joined(_ parts: [SQLQuery], separator: String = ", ") -> SQLQuery {
        var result = SQLQuery(unsafeSQL: "")
        for (index, part) in parts.enumerated() {
            if index > 0 { result.fragments.append(.sql(separator)) }
            result.fragments.append(contentsOf: part.fragments)
        }
        return result
    }

    /// The statement text with numbered placeholders (`prefix` + 1-based index) and its binds in order.
    public func render(placeholderPrefix prefix: String) -> (sql: String, binds: [SQLValue]) {
        var sql = ""
        var binds: [SQLValue] = []
        for fragment in fragments {
            switch fragment {
            case .sql(let text):
                sql += text
            case .bind(let value):
                binds.append(value)
                sql += "\(prefix)\(binds.count)"
            }
        }
        return (sql, binds)
    }
}

/// `columns`, a comma-separated list of a table's columns, with each plain name prefixed by the table's
/// alias in a join (`id, slug` → `e.id, e.slug`); an expression such as `NULL AS data` is kept as it is.
public func qualifiedColumns(_ columns: String, alias: String) -> String {
    columns.split(separator: ",").map { column in
        let name = column.trimmingCharacters(in: .whitespacesAndNewlines)
        return name.contains(" ") ? name : "\(alias).\(name)"
    }.joined(separator: ", ")
}
