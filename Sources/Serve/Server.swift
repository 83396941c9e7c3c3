import Dispatch
import HTTPTypes
import Hummingbird
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `flowdb serve`: the archive's API and pages over HTTP, read-only.
public struct ServeOptions: Sendable {
    /// The archives: one file, or directories and files (`--db` repeated).
    public var archives: [String]
    public var archive: String { archives[0] }
    public var host = "127.0.0.1"
    public var port = 8080
    /// Required of every request when set (header, cookie or `token` parameter).
    public var token: String?
    /// Directories searched for capture files by name (the pcap download), as `--capture-dir`.
    public var captureDirectories: [String] = []

    public init(archive: String) { archives = [archive] }
    public init(archives: [String]) { self.archives = archives }

    /// Whether `host` is a loopback address (only the machine itself can connect).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

public enum Server {
    /// Serves until interrupted; `listening` is told the URL once the socket is bound.
    public static func run(_ options: ServeOptions, listening: @escaping @Sendable (String) -> Void) async throws {
        var logger = Logger(label: "flowdb-serve")
        logger.logLevel = .warning
        let host = options.host
        let app = Application(
            router: router(options),
            configuration: .init(address: .hostname(host, port: options.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.port
                listening("http://\(host.contains(":") ? "[\(host)]" : host):\(port)/")
            },
            logger: logger
        )
        try await app.runService()
    }

    /// The routes: pages, their assets, and the API.
    public static func router(_ options: ServeOptions) -> Router<BasicRequestContext> {
        let api = ArchiveAPI(archives: options.archives)
        let router = Router()
        router.add(middleware: Guard(token: options.token, loopbackOnly: options.token == nil))

        router.get("/") { _, _ in Self.asset("index.html") }
        router.get("/flows/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            // an id, or ARCHIVE:ID; the page asks the API, which says whether it exists
            guard !id.isEmpty, id.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0 != "/" }),
                  Int64(id) != nil || id.contains(":") else { return Self.response(.error(404, "not a flow id")) }
            return Self.asset("flow.html")
        }
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/static/:name") { _, context in Self.asset(context.parameters.get("name") ?? "") }

        router.get("/api/flows") { request, _ in
            let parameters = Self.parameters(request)
            return Self.response(await Self.blocking { api.flows(parameters) })
        }
        router.get("/api/summary") { request, _ in
            let parameters = Self.parameters(request)
            return Self.response(await Self.blocking { api.summary(parameters) })
        }
        router.get("/api/flows/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            return Self.response(await Self.blocking { api.flow(id) })
        }
        router.get("/api/flows/:id/follow") { request, context in
            let id = context.parameters.get("id") ?? ""
            let parameters = Self.parameters(request)
            return Self.response(await Self.blocking { api.follow(id, parameters) })
        }
        router.get("/api/flows/:id/timeline") { _, context in
            let id = context.parameters.get("id") ?? ""
            return Self.response(await Self.blocking { api.timeline(id) })
        }
        router.get("/api/flows/:id/stream") { request, context in
            let id = context.parameters.get("id") ?? ""
            let parameters = Self.parameters(request)
            let checked = await Self.blocking { api.streamCheck(id, parameters) }
            switch checked {
            case .failure(let f): return Self.response(.error(f.status, f.reason))
            case .success(let found): return Self.stream(api, path: found.path, flow: found.id, dir: found.dir, name: ArchiveAPI.fileName(id))
            }
        }
        router.get("/api/flows/:id/pcap") { _, context in
            let id = context.parameters.get("id") ?? ""
            let directories = options.captureDirectories
            return Self.response(await Self.blocking { api.pcap(id, captureDirectories: directories) })
        }
        router.get("/api/flows/:id/objects") { _, context in
            let id = context.parameters.get("id") ?? ""
            return Self.response(await Self.blocking { api.objects(id) })
        }
        router.get("/api/flows/:id/objects/:sha256") { _, context in
            let id = context.parameters.get("id") ?? ""
            let sha = context.parameters.get("sha256") ?? ""
            return Self.response(await Self.blocking { api.object(id, sha256: sha) })
        }
        return router
    }

    /// The request's query parameters, in order (values percent-decoded).
    static func parameters(_ request: Request) -> [(name: String, value: String)] {
        request.uri.queryParameters.map { (String($0.key), String($0.value)) }
    }

    /// Runs blocking SQLite work off the server's event loops and concurrency pool.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    /// An embedded page or asset; anything else is a 404 (no URL reaches the file system).
    static func asset(_ name: String) -> Response {
        guard let (bytes, type) = Site.files[name] else { return response(.error(404, "no such page")) }
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func response(_ reply: Reply) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = reply.contentType
        if let name = reply.attachment {
            headers[.contentDisposition] = "attachment; filename=\"\(name)\""
        }
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = HTTPResponse.Status(code: reply.status)
        guard let fd = reply.file else {
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        let size = reply.fileSize
        headers[.contentLength] = String(size)
        let file = FileHandleBox(fd)
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: size) { writer in
            defer { file.close() }
            var offset = 0
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while offset < size {
                let n = buffer.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, min($0.count, size - offset), off_t(offset)) }
                guard n > 0 else { break }
                try await writer.write(ByteBuffer(bytes: buffer[0..<n]))
                offset += n
            }
            try await writer.finish(nil)
        })
    }

    /// `GET /api/flows/ID/stream`: one direction's stored bytes, a payload run at a
    /// time, as `query --show raw` writes them (never the whole flow in memory).
    static func stream(_ api: ArchiveAPI, path: String, flow id: Int64, dir: Int, name: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.contentDisposition] = "attachment; filename=\"\(name)-\(dir == 0 ? "client" : "server").bin\""
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let runs = try StreamRuns(api: api, path: path, flow: id, dir: dir)
            while let data = try runs.next() {
                try await writer.write(ByteBuffer(bytes: data))
            }
            try await writer.finish(nil)
        })
    }
}

/// A temporary file's descriptor, closed once.
final class FileHandleBox: @unchecked Sendable {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    func close() { _ = Glibc.close(fd) }
}
