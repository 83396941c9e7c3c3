import HTTPTypes
import Hummingbird

/// Checked before every request, and added to every response:
/// - with a token, the request must carry it (`Authorization: Bearer`, the
///   `flowdb_token` cookie, or a `token` parameter, which then sets the cookie so
///   a pasted link opens the pages); compared in constant time;
/// - without one (loopback), the Host must name the loopback interface, so a web
///   page elsewhere cannot reach the archive by rebinding a name of its own to
///   127.0.0.1;
/// - every response forbids scripts and styles from anywhere but this server,
///   framing, MIME sniffing, referrers and caching.
struct Guard<Context: RequestContext>: RouterMiddleware {
    let token: String?
    let loopbackOnly: Bool

    static var securityHeaders: [(HTTPField.Name, String)] {
        [(.contentSecurityPolicy, "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
         (.xContentTypeOptions, "nosniff"),
         (HTTPField.Name("X-Frame-Options")!, "DENY"),
         (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
         (HTTPField.Name("Cross-Origin-Resource-Policy")!, "same-origin"),
         (.cacheControl, "no-store")]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var setCookie = false
        if let token {
            let fromQuery = request.uri.queryParameters["token"].map(String.init)
            let given = Self.bearer(request.headers[.authorization]) ?? fromQuery ?? Self.cookie(request.headers[.cookie])
            guard let given, Self.constantTimeEqual(Array(given.utf8), Array(token.utf8)) else {
                return Self.secured(Server.response(.error(401, "this server needs its token (Authorization: Bearer TOKEN, or ?token=TOKEN once)")))
            }
            setCookie = fromQuery != nil
        } else if loopbackOnly, !Self.isLoopbackHost(request.head.authority) {
            return Self.secured(Server.response(.error(403, "this server answers requests for its loopback address only")))
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            response = Server.response(.error(Int(error.status.code), error.body ?? error.status.reasonPhrase))
        }
        if setCookie, let token {
            response.headers[.setCookie] = "flowdb_token=\(token); Path=/; HttpOnly; SameSite=Strict"
        }
        return Self.secured(response)
    }

    static func secured(_ response: Response) -> Response {
        var response = response
        for (name, value) in securityHeaders { response.headers[name] = value }
        return response
    }

    static func bearer(_ header: String?) -> String? {
        guard let header, header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: " ")
    }

    static func cookie(_ header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: " ")
            if pair.hasPrefix("flowdb_token=") { return String(pair.dropFirst("flowdb_token=".count)) }
        }
        return nil
    }

    /// `127.0.0.1:8080`, `localhost`, `[::1]:8080`: names of this machine's loopback.
    static func isLoopbackHost(_ authority: String?) -> Bool {
        guard var host = authority?.lowercased() else { return false }
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            host = String(host[host.index(after: host.startIndex)..<end])
            return host == "::1"
        }
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        if host == "localhost" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Equal bytes, in a time that depends on the lengths only.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<a.count { difference |= a[i] ^ (i < b.count ? b[i] : ~a[i]) }
        return difference == 0
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
