import Foundation

/// Where the repository, its fixtures and ../shared are, found from this file's path
/// so tests run from any working directory.
public enum Paths {
    public static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var shared: String { URL(fileURLWithPath: repository + "/../shared").standardizedFileURL.path }
    public static var sample: String { repository + "/Samples/sample-loss.pcap" }
    public static func fixture(_ name: String) -> String { repository + "/Tests/Fixtures/" + name }
    public static func capture(_ relative: String) -> String { shared + "/captures/" + relative }
    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// A fresh empty directory for one test, inside this test process's own
    /// directory under the system's temporary directory, which is removed when
    /// the process exits (a run used to leave about 180 behind).
    public static func temporaryDirectory(_ label: String = "flowdb-test") -> String {
        let path = TestDirectories.root + "/\(label)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// The directory of this test process's temporary directories.
enum TestDirectories {
    static let prefix = "flowdb-tests-"

    static let root: String = {
        let base = NSTemporaryDirectory()
        removeAbandoned(in: base)
        let path = base + prefix + String(getpid())
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit {
            try? FileManager.default.removeItem(atPath: TestDirectories.root)
        }
        return path
    }()

    /// Directories of test processes that no longer run (killed before exiting).
    static func removeAbandoned(in base: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: base + name)
        }
    }
}

/// The ground truth realtraffic writes beside a capture: per connection, the
/// endpoints and the length and sha256 of each direction's bytes.
public struct GroundTruth: Decodable {
    public struct Flow: Decodable {
        public var client: [Endpoint]
        public var server: [Endpoint]
        public var end: String
        public var c2s_len: Int
        public var c2s_sha256: String
        public var s2c_len: Int
        public var s2c_sha256: String

        public var clientIP: String { client[0].text }
        public var clientPort: Int { client[1].number }
        public var serverIP: String { server[0].text }
        public var serverPort: Int { server[1].number }
    }

    /// A JSON array element that is a string (address) or a number (port).
    public enum Endpoint: Decodable {
        case text(String), number(Int)
        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int.self) { self = .number(n) } else { self = .text(try c.decode(String.self)) }
        }
        public var text: String { if case .text(let s) = self { s } else { "" } }
        public var number: Int { if case .number(let n) = self { n } else { -1 } }
    }

    public var flows: [Flow]

    public static func load(_ capturePath: String) throws -> GroundTruth {
        try JSONDecoder().decode(GroundTruth.self, from: Data(contentsOf: URL(fileURLWithPath: capturePath + ".json")))
    }
}

extension Array where Element == UInt8 {
    public init(contentsOf path: String) throws {
        self = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    public func write(to path: String) throws {
        try Data(self).write(to: URL(fileURLWithPath: path))
    }
}
