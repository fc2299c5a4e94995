import Foundation

/// Refuses endpoints whose host resolves to an address that should not be reachable from a shared
/// server: loopback, private, link-local, CGNAT, unspecified. Resolution happens just before the
/// request; a DNS answer that changes in between is not caught (documented limitation).
enum AddressGuard {
    static func check(_ url: URL, original: String) async throws {
        guard let host = url.host else { return }
        let addresses = try await resolve(host)
        if let bad = addresses.first(where: isRefused) {
            throw EndpointCallError(.refusedAddress, "Endpoint \(original) resolves to \(bad), a private or loopback address, which this server does not call")
        }
    }

    static func resolve(_ host: String) async throws -> [String] {
        let trimmed = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        return try await Task.detached {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(trimmed, nil, &hints, &result) == 0, let first = result else {
                throw EndpointCallError(.connection, "Could not connect to endpoint \(host): the name does not resolve")
            }
            defer { freeaddrinfo(first) }
            var addresses: [String] = []
            var pointer: UnsafeMutablePointer<addrinfo>? = first
            while let info = pointer {
                var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                    addresses.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
                }
                pointer = info.pointee.ai_next
            }
            return addresses
        }.value
    }

    static func isRefused(_ address: String) -> Bool {
        if address.contains(":") {
            let lower = address.lowercased()
            if lower == "::1" || lower == "::" { return true }
            if lower.hasPrefix("fc") || lower.hasPrefix("fd") || lower.hasPrefix("fe8") || lower.hasPrefix("fe9")
                || lower.hasPrefix("fea") || lower.hasPrefix("feb") { return true }
            if lower.hasPrefix("::ffff:") { return isRefused(String(lower.dropFirst(7))) }
            return false
        }
        let parts = address.split(separator: ".").compactMap { Int($0) }
        guard parts.count == 4 else { return true }
        switch (parts[0], parts[1]) {
        case (0, _), (10, _), (127, _): return true
        case (169, 254): return true
        case (172, 16...31): return true
        case (192, 168): return true
        case (100, 64...127): return true
        default: return false
        }
    }
}
