import ArgumentParser
import FileIO
import Serve
import Store
#if canImport(Glibc)
import Glibc
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Show the archive in a browser: flows, follow stream, timelines; read-only.",
        discussion: """
        Serves the archive's pages and a JSON API (docs/serve.md) until interrupted. The
        archive is opened read-only: a live `flowdb capture` may go on writing it.
        Loopback only unless --listen names another address; then every request must
        carry the token (--token, or one printed at start): `Authorization: Bearer
        TOKEN`, or open http://HOST:PORT/?token=TOKEN once in the browser.

        Examples:
          flowdb serve --db case42.sqlite
          flowdb serve --db sensor.sqlite --listen 0.0.0.0:8443 --token "$(cat token)"
        """
    )

    @Option(name: .customLong("db"), help: ArgumentHelp("The archive, or a directory of archives (every *.sqlite in it, read again at each request); repeatable (default: $FLOWDB_DB, else flowdb.sqlite here).", valueName: "file|dir"))
    var databases: [String] = []
    @Option(help: ArgumentHelp("Address and port to listen on (port 0: any free one).", valueName: "host:port"))
    var listen = "127.0.0.1:8080"
    @Option(help: ArgumentHelp("The token every request must carry (required, or generated, when not on loopback).", valueName: "token"))
    var token: String?
    @Option(name: .customLong("capture-dir"), help: ArgumentHelp("For pcap downloads: look for capture files in this directory, by file name, before their recorded paths (repeatable).", valueName: "dir"))
    var captureDirs: [String] = []

    func run() async throws {
        let (host, port) = try Self.address(listen)
        let arguments = databases.isEmpty ? [ArchiveOption().path] : databases
        // open each file given once now, so a missing or foreign one is said before listening
        for path in arguments where !isDirectory(path) {
            do { _ = try Archive(path: path, create: false) } catch { throw fail("\(error)") }
        }
        var options = ServeOptions(archives: arguments)
        options.host = host
        options.port = port
        options.captureDirectories = captureDirs
        if let token {
            guard token.count >= 16, token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.~".contains($0)) }) else {
                throw fail("--token: at least 16 characters of letters, digits and -_.~")
            }
            options.token = token
        } else if !options.isLoopback {
            var generator = SystemRandomNumberGenerator()
            let generated = (0..<32).map { _ in String(format2: UInt8.random(in: 0...255, using: &generator)) }.joined()
            options.token = generated
            printError("--listen \(listen) is not loopback: every request needs this token: \(generated)")
        }
        let hasToken = options.token != nil
        try await Server.run(options) { url in
            printError("serving \(url)" + (hasToken ? " (token required)" : ""))
        }
    }

    /// `HOST:PORT`, `[V6]:PORT`, or `:PORT` (loopback).
    static func address(_ text: String) throws -> (String, Int) {
        var host = "127.0.0.1", portText = text
        if text.hasPrefix("[") {
            guard let end = text.firstIndex(of: "]"), text[text.index(after: end)...].hasPrefix(":") else {
                throw fail("--listen: HOST:PORT or [IPv6]:PORT, not \(text)")
            }
            host = String(text[text.index(after: text.startIndex)..<end])
            portText = String(text[text.index(end, offsetBy: 2)...])
        } else if let colon = text.lastIndex(of: ":") {
            if colon != text.startIndex { host = String(text[..<colon]) }
            portText = String(text[text.index(after: colon)...])
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else {
            throw fail("--listen: HOST:PORT with a port in 0...65535, not \(text)")
        }
        return (host, port)
    }
}

extension String {
    /// Two lower-case hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
