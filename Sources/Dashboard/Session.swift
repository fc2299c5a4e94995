import Crypto
import Foundation
import Hummingbird
import HTTPTypes

/// A signed-in environment, carried in a cookie the server signs: `<environment id>.<expiry>.<HMAC>`.
/// Nothing is stored server-side; signing out clears the cookie, and rotating the encryption key
/// ends every session. The CSRF token of its forms is another HMAC of the same value.
struct DashboardSession: Sendable {
    static let cookieName = "kongflow_session"
    static let lifetime: TimeInterval = 12 * 3600

    let environmentId: UUID
    let value: String

    struct Signer: Sendable {
        let key: [UInt8]

        func mac(_ text: String) -> String {
            HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: key)).map { String(format: "%02x", $0) }.joined()
        }

        func issue(environmentId: UUID, now: Date) -> DashboardSession {
            let body = "\(environmentId.uuidString.lowercased()).\(Int(now.timeIntervalSince1970 + DashboardSession.lifetime))"
            return DashboardSession(environmentId: environmentId, value: "\(body).\(mac(body))")
        }

        /// The session in `request`'s cookie, if it is one this server signed and it has not expired.
        func session(in request: Request, now: Date) -> DashboardSession? {
            guard let value = request.cookies[DashboardSession.cookieName]?.value else { return nil }
            let parts = value.split(separator: ".").map(String.init)
            guard parts.count == 3, let id = UUID(uuidString: parts[0]), let expiry = TimeInterval(parts[1]), expiry > now.timeIntervalSince1970,
                  constantTimeEquals(mac("\(parts[0]).\(parts[1])"), parts[2]) else { return nil }
            return DashboardSession(environmentId: id, value: value)
        }

        func csrfToken(for session: DashboardSession) -> String { mac("csrf:" + session.value) }

        func checkCSRF(_ token: String?, session: DashboardSession) -> Bool {
            guard let token else { return false }
            return constantTimeEquals(csrfToken(for: session), token)
        }
    }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// `Set-Cookie` for this session (or, with `nil`, one that clears it). `Secure` when the request
    /// came over https (directly or through a proxy that says so).
    static func cookie(_ session: DashboardSession?, secure: Bool) -> String {
        var parts = ["\(cookieName)=\(session?.value ?? "")", "Path=/", "HttpOnly", "SameSite=Strict",
                     "Max-Age=\(session == nil ? 0 : Int(lifetime))"]
        if secure { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }
}

private func constantTimeEquals(_ a: String, _ b: String) -> Bool { DashboardSession.constantTimeEquals(a, b) }

/// `application/x-www-form-urlencoded`, as browsers post forms.
enum FormBody {
    static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            guard let name = parts.first, !name.isEmpty else { continue }
            fields[name] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }
}
