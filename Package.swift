// swift-tools-version:6.1
// flowdb: a SQLite flow archive for network forensics.
//
// Layers, with dependencies pointing one way (CLI → Ingest → Store/Capture → Decoding/Reassembly):
//   CPcap, CSQLite,  system libraries (libpcap, SQLite's C API,
//   CCrypto          libcrypto for SHA-256)
//   Reassembly       pure Swift port of gopacket's TCP reassembly; knows nothing of pcap or SQLite
//   Decoding         pure Swift link/IP/TCP decoding over borrowed bytes
//   Connections      pure Swift: Zeek's connection states and history letters from TCP headers
//   Capture          libpcap reader: files, stdin, BPF filters
//   Store            the archive: schema (embedded from schema/*.sql), recording, queries
//   Ingest           the pipeline read → decode → assemble → store
//   Query            finding flows and reconstructing their content
//   flowdb           the command line, thin
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
        .library(name: "FlowDBIngest", targets: ["Ingest", "Store"]),
        .library(name: "FlowDBReassembly", targets: ["Reassembly"]),
        .library(name: "FlowDBConnections", targets: ["Connections"]),
        .library(name: "FlowDBQuery", targets: ["Query"]),
        .library(name: "FlowDBApplications", targets: ["Applications"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // X.509 certificates seen in TLS handshakes (subject, issuer, serial, validity)
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        // gzip and deflate bodies of HTTP objects, through zlib
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
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
        .target(name: "Capture", dependencies: ["CPcap"]),
        // Application protocols (TLS, ...) read from reassembled streams; imports nothing.
        .target(name: "Applications"),
        .plugin(name: "EmbedSchema", capability: .buildTool()),
        .target(
            name: "Store",
            dependencies: ["Applications", "CSQLite", "CCrypto", "Connections", "Decoding", "Reassembly",
                           .product(name: "X509", package: "swift-certificates")],
            swiftSettings: hotPath,
            plugins: ["EmbedSchema"]
        ),
        .target(name: "CStream"),
        .target(name: "Ingest", dependencies: ["CStream", "Capture", "Decoding", "Reassembly", "Store"], swiftSettings: hotPath),
        .target(name: "Query", dependencies: ["Applications", "Capture", "CPcap", "Connections", "Decoding", "Store",
                                              .product(name: "CompressNIO", package: "compress-nio")]),
        .executableTarget(
            name: "flowdb",
            dependencies: [
                "Ingest", "Query", "Store",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ReassemblyTests", dependencies: ["Reassembly"]),
        .testTarget(name: "DecodingTests", dependencies: ["Decoding"]),
        .testTarget(name: "ConnectionsTests", dependencies: ["Connections"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Decoding", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "CSQLite", "TestSupport"]),
        .testTarget(name: "IngestTests", dependencies: ["Capture", "Ingest", "Query", "Store", "TestSupport"]),
        .testTarget(name: "ApplicationsTests", dependencies: ["Applications", "Ingest", "Query", "Store", "TestSupport"]),
        .testTarget(name: "QueryTests", dependencies: ["Query", "Ingest", "Store", "TestSupport"]),
    ]
)
