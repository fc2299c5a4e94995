import Foundation
import JSON
import Runs

/// A run's tasks as nested lists, children under their parent, in the order they started. Every
/// value is escaped here: the tree goes into the page unescaped.
enum TaskTree {
    static func html(_ tasks: [RunTask]) -> String {
        let children = Dictionary(grouping: tasks, by: { $0.parentId ?? "" })
        func render(_ parent: String) -> String {
            (children[parent] ?? []).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }.map { task in
                let status = DashboardController.status(task.status.rawValue)
                var line = #"<li data-task="\#(escape(task.id))"><span class="status \#(status["statusClass"] ?? "")">\#(escape(task.status.rawValue))</span> "#
                line += "<strong>\(escape(task.name))</strong>"
                if let description = task.description { line += " \(escape(description))" }
                if task.attempts > 1 { line += #" <span class="muted">\#(task.attempts) attempts</span>"# }
                if let started = task.startedAt, let completed = task.completedAt, !task.noop {
                    line += #" <span class="muted">\#(DashboardController.duration(completed.timeIntervalSince(started)))</span>"#
                }
                if let until = task.delayUntil, task.status == .waiting { line += #" <span class="muted">until \#(escape(ISODate.format(until)))</span>"# }
                if let error = task.error { line += #"<div class="task-error">\#(escape(error))</div>"# }
                let nested = render(task.id)
                if !nested.isEmpty { line += "<ol>\(nested)</ol>" }
                return line + "</li>"
            }.joined()
        }
        return render("")
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// Small server-rendered SVGs: runs per hour over the last day, and a run's tasks on a time axis.
enum Charts {
    static func runsPerHour(_ runs: [JobRun], now: Date) -> String {
        guard !runs.isEmpty else { return "" }
        var buckets = [Int](repeating: 0, count: 24)
        for run in runs {
            let hours = Int(now.timeIntervalSince(run.createdAt) / 3600)
            if (0..<24).contains(hours) { buckets[23 - hours] += 1 }
        }
        let highest = max(buckets.max() ?? 1, 1)
        let bars = buckets.enumerated().map { hour, count -> String in
            let height = Double(count) / Double(highest) * 60
            return #"<rect x="\#(hour * 15)" y="\#(String(format: "%.1f", 70 - height))" width="12" height="\#(String(format: "%.1f", height))" fill="rgb(29,78,216)"><title>\#(count) runs, \#(23 - hour) h ago</title></rect>"#
        }.joined()
        return #"<svg class="chart" viewBox="0 0 360 80" role="img" aria-label="Runs per hour, last 24 hours">\#(bars)<line x1="0" y1="70.5" x2="360" y2="70.5" stroke="rgb(229,231,235)"/></svg>"#
    }

    static func timeline(_ tasks: [RunTask], now: Date) -> String {
        let timed = tasks.filter { $0.startedAt != nil }.sorted { ($0.startedAt!, $0.id) < ($1.startedAt!, $1.id) }
        guard let first = timed.first?.startedAt else { return "" }
        let end = timed.map { $0.completedAt ?? now }.max() ?? now
        let span = max(end.timeIntervalSince(first), 0.001)
        let rows = timed.enumerated().map { row, task -> String in
            let x = task.startedAt!.timeIntervalSince(first) / span * 560
            let width = max((task.completedAt ?? now).timeIntervalSince(task.startedAt!) / span * 560, 2)
            let color = DashboardController.status(task.status.rawValue)["statusClass"] as? String == "bad" ? "rgb(180,35,24)" : task.completedAt == nil ? "rgb(138,90,0)" : "rgb(15,123,62)"
            return #"<rect x="\#(String(format: "%.1f", x))" y="\#(row * 14 + 2)" width="\#(String(format: "%.1f", width))" height="10" rx="2" fill="\#(color)"><title>\#(TaskTree.escape(task.name))</title></rect>"#
        }.joined()
        return #"<svg class="timeline" viewBox="0 0 560 \#(timed.count * 14 + 4)" role="img" aria-label="Task timeline">\#(rows)</svg>"#
    }
}
