// swift-tools-version:6.1
// flowdb: a SQLite flow archive for network forensics.
//
// The module graph (docs/architecture.md says why each arrow points the way it does):
//   C shims          CPcap (libpcap), CSQLite (SQLite's C API), CCrypto (libcrypto), CStream (a FILE* fed by Swift)
//   leaves           Reassembly, Decoding, Connections, Applications: pure Swift, import nothing
//   Digest           SHA-256 and MD5                                   → CCrypto
//   FileIO           checked writes, buffered output                   → (the C library)
//   Capture          capture files and interfaces: read, hash, write   → CPcap, CStream, Digest, FileIO
//   Store            the archive: SQLite, migrations, capture rows,    → CSQLite
//                    each table's columns
//   Recording        engine events become rows: the Stream, batches,   → Store, Digest, leaves, X509
//                    the writer thread, applications, certificates
//   Ingest           read → decode → assemble → record                 → Capture, Recording, Store, leaves
//   Query            reads archives only                               → Store, Capture, FileIO, Decoding,
//                                                                         Connections, Applications, CompressNIO
//   Serve            the archive in a browser: JSON API and pages      → Query, Store, Capture, Digest, Hummingbird
//   flowdb           the command line, thin                            → Ingest, Query, Serve
import PackageDescription

/// Settings of the modules on the per-packet path: no dynamic exclusivity checks
/// (they cost a runtime call per class property access; races are ThreadSanitizer's job).
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "flowdb",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "flowdb", targets: ["flowdb"]),
        // Libraries for the fuzz and benchmark packages (Fuzz/, Benchmarks/).
        .library(name: "FlowDBDecoding", targets: ["Decoding"]),
        .library(name: "FlowDBCapture", targets: ["Capture"]),
        .library(name: "FlowDBIngest", targets: ["Ingest", "Recording", "Store"]),
        .library(name: "FlowDBReassembly", targets: ["Reassembly"]),
        .library(name: "FlowDBConnections", targets: ["Connections"]),
        .library(name: "FlowDBQuery", targets: ["Query"]),
        .library(name: "FlowDBApplications", targets: ["Applications", "Digest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // X.509 certificates seen in TLS handshakes (subject, issuer, serial, validity)
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        // gzip and deflate bodies of HTTP objects, through zlib
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        // `flowdb serve`: the archive's HTTP API and pages
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "Reassembly",
            // The engine's classes are used by one thread at a time and never
            // handed out mid-mutation; dynamic exclusivity checks were about a
            // fifth of the instructions per in-order packet (docs/benchmarks.md).
            swiftSettings: hotPath
        ),
        .target(name: "Decoding"),
        // Zeek's connection states and history letters, from packet headers alone.
        .target(name: "Connections", swiftSettings: hotPath),
        .target(name: "Digest", dependencies: ["CCrypto"]),
        .target(name: "FileIO"),
        .target(name: "CStream"),
        .target(name: "Capture", dependencies: ["CPcap", "CStream", "Digest", "FileIO"]),
        // Application protocols (TLS, ...) read from reassembled streams; imports nothing.
        .target(name: "Applications"),
        .plugin(name: "EmbedSchema", capability: .buildTool()),
        // The archive layer: what every reader and writer of an archive shares.
        .target(name: "Store", dependencies: ["CSQLite"], swiftSettings: hotPath, plugins: ["EmbedSchema"]),
        // The recording layer: the engine's streams, batches and the writer thread.
        .target(
            name: "Recording",
            dependencies: ["Applications", "Connections", "Decoding", "Digest", "Reassembly", "Store",
                           .product(name: "X509", package: "swift-certificates")],
            swiftSettings: hotPath
        ),
        .target(name: "Ingest", dependencies: ["Capture", "Decoding", "Digest", "FileIO", "Reassembly", "Recording", "Store"],
                swiftSettings: hotPath),
        .target(name: "Query", dependencies: ["Applications", "Capture", "CPcap", "Connections", "Decoding", "Digest", "FileIO", "Store",
                                              .product(name: "CompressNIO", package: "compress-nio")]),
        // The archive in a browser: a read-only JSON API over Query, and the pages that read it.
        .target(name: "Serve", dependencies: ["Capture", "Digest", "Query", "Store", .product(name: "Hummingbird", package: "hummingbird"),
                                             .product(name: "HTTPTypes", package: "swift-http-types")],
                resources: ["index.html", "flow.html", "common.js", "list.js", "flow.js", "style.css"].map { .embedInCode("Site/" + $0) }),
        .executableTarget(
            name: "flowdb",
            dependencies: [
                "Capture", "FileIO", "Ingest", "Query", "Recording", "Serve", "Store",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ReassemblyTests", dependencies: ["Reassembly"]),
        .testTarget(name: "DecodingTests", dependencies: ["Decoding"]),
        .testTarget(name: "ConnectionsTests", dependencies: ["Connections"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Decoding", "Digest", "FileIO", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "CSQLite", "TestSupport"]),
        .testTarget(name: "IngestTests", dependencies: ["Capture", "Digest", "FileIO", "Ingest", "Query", "Recording", "Store", "TestSupport"]),
        .testTarget(name: "ApplicationsTests", dependencies: ["Applications", "Digest", "Ingest", "Query", "Recording", "Store", "TestSupport"]),
        .testTarget(name: "ServeTests", dependencies: ["Ingest", "Query", "Serve", "Store", "TestSupport",
                                                        .product(name: "HummingbirdTesting", package: "hummingbird")]),
        .testTarget(name: "QueryTests", dependencies: ["Digest", "Ingest", "Query", "Recording", "Store", "TestSupport"]),
    ]
)
