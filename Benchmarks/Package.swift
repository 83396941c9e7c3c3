// swift-tools-version:6.1
// Benchmarks for flowdb, run by hand (`make bench-decode`, ...), never in CI.
import PackageDescription

// A path dependency's identity is its folder's name, whatever the clone is called.
let flowdb = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "flowdb")

let package = Package(
    name: "flowdb-benchmarks",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "DecodeThroughput",
            dependencies: [
                .product(name: "FlowDBCapture", package: flowdb),
                .product(name: "FlowDBDecoding", package: flowdb),
            ]
        ),
    ]
)
