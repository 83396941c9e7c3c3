// swift-tools-version:6.1
// Benchmarks for flowdb, run by hand (`make bench-decode`, ...), never in CI.
import PackageDescription

// A path dependency's identity is its folder's name, whatever the clone is called.
let flowdb = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "flowdb")

let package = Package(
    name: "flowdb-benchmarks",
    dependencies: [
        .package(path: ".."),
        // The benchmark package's default traits pull in a runtime interposer
        // (Linux, Swift 6.3) that is not mirrored here; MallocInterposer alone
        // gives the malloc counts.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "DecodeThroughput",
            dependencies: [
                .product(name: "FlowDBCapture", package: flowdb),
                .product(name: "FlowDBDecoding", package: flowdb),
            ]
        ),
        // gopacket's reassembly benchmarks, ported: `swift package benchmark` (see docs/benchmarks.md).
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FlowDBReassembly", package: flowdb),
            ],
            path: "Benchmarks/EngineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
