import Foundation

/// A 5-field cron expression (minute hour day-of-month month day-of-week) with `*`, numbers,
/// ranges, steps, lists and month/day names; `7` is Sunday too. Evaluated in UTC, as
/// trigger.dev's cron-parser was. As in classic cron, when both day fields are restricted a day
/// matches if either does.
public struct CronExpression: Sendable, Equatable {
    public let text: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    public init(_ text: String) throws {
        self.text = text
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(description: "Invalid cron expression \"\(text)\": expected 5 fields (minute hour day-of-month month day-of-week), got \(fields.count)")
        }
        func parse(_ field: String, _ name: String, _ range: ClosedRange<Int>, names: [String] = [], offset: Int = 0) throws -> Set<Int> {
            do {
                return try Self.parseField(field, range: range, names: names, nameOffset: offset)
            } catch let error as ParseError {
                throw ParseError(description: "Invalid cron expression \"\(text)\": \(name) \(error.description)")
            }
        }
        minutes = try parse(fields[0], "minute", 0...59)
        hours = try parse(fields[1], "hour", 0...23)
        daysOfMonth = try parse(fields[2], "day-of-month", 1...31)
        months = try parse(fields[3], "month", 1...12, names: Self.monthNames, offset: 1)
        daysOfWeek = Set(try parse(fields[4], "day-of-week", 0...7, names: Self.dayNames).map { $0 % 7 })
        dayOfMonthRestricted = fields[2] != "*" && fields[2] != "?"
        dayOfWeekRestricted = fields[4] != "*" && fields[4] != "?"
    }

    static func parseField(_ field: String, range: ClosedRange<Int>, names: [String], nameOffset: Int) throws -> Set<Int> {
        func value(_ text: Substring) throws -> Int {
            if let number = Int(text), range.contains(number) { return number }
            if let index = names.firstIndex(of: text.uppercased()) { return index + nameOffset }
            throw ParseError(description: "'\(text)' is not in \(range.lowerBound)-\(range.upperBound)")
        }
        var result = Set<Int>()
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw ParseError(description: "has an empty list item") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ParseError(description: "'\(part)' has more than one step") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw ParseError(description: "'\(part)' has an invalid step") }
                step = parsed
            }
            let base = pieces[0]
            var lower: Int, upper: Int
            if base == "*" || base == "?" {
                lower = range.lowerBound
                upper = range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                lower = try value(base[..<dash])
                upper = try value(base[base.index(after: dash)...])
                guard lower <= upper else { throw ParseError(description: "'\(part)' is a backwards range") }
            } else {
                lower = try value(base)
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            result.formUnion(stride(from: lower, through: upper, by: step))
        }
        return result
    }

    /// The first time strictly after `date` that matches, or nil if none within eight years
    /// (e.g. `0 0 30 2 *`).
    public func next(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(bySetting: .second, value: 0, of: date.addingTimeInterval(60)) ?? date
        var components = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: start)
        if calendar.date(from: components)! <= date { components.minute! += 1 }
        let lastYear = components.year! + 8
        while components.year! <= lastYear {
            guard let candidate = calendar.date(from: components) else { return nil }
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: candidate)
            components = DateComponents(year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute)
            if !months.contains(parts.month!) {
                components = DateComponents(year: parts.year, month: parts.month! + 1, day: 1, hour: 0, minute: 0)
                continue
            }
            if !dayMatches(day: parts.day!, weekday: parts.weekday! - 1) {
                components = DateComponents(year: parts.year, month: parts.month, day: parts.day! + 1, hour: 0, minute: 0)
                continue
            }
            if !hours.contains(parts.hour!) {
                components = DateComponents(year: parts.year, month: parts.month, day: parts.day, hour: parts.hour! + 1, minute: 0)
                continue
            }
            if !minutes.contains(parts.minute!) {
                components = DateComponents(year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute! + 1)
                continue
            }
            return candidate
        }
        return nil
    }

    func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): return daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
        case (true, false): return daysOfMonth.contains(day)
        case (false, true): return daysOfWeek.contains(weekday)
        case (false, false): return true
        }
    }
}
