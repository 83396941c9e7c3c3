// swift-tools-version:6.1
// libFuzzer targets for flowdb. Not part of CI: run them with `make fuzz-decoder` etc.
// (see CONTRIBUTING.md, "Safety", and docs/safety-results.md). Built with -sanitize=fuzzer,address, which also instruments
// the flowdb modules they exercise.
import PackageDescription

// A path dependency's identity is its folder's name, whatever the clone is called.
let flowdb = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "flowdb")

let package = Package(
    name: "flowdb-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "CFuzzSupport"),
        .executableTarget(
            name: "FuzzIngest",
            dependencies: ["CFuzzSupport", .product(name: "FlowDBIngest", package: flowdb),
                           .product(name: "FlowDBQuery", package: flowdb)]
        ),
        .executableTarget(
            name: "FuzzApplications",
            dependencies: ["CFuzzSupport", .product(name: "FlowDBApplications", package: flowdb)]
        ),
        .executableTarget(
            name: "FuzzQUIC",
            dependencies: ["CFuzzSupport", .product(name: "FlowDBApplications", package: flowdb)]
        ),
        .executableTarget(
            name: "FuzzDNS",
            dependencies: ["CFuzzSupport", .product(name: "FlowDBApplications", package: flowdb)]
        ),
        .executableTarget(
            name: "FuzzExport",
            dependencies: ["CFuzzSupport", .product(name: "FlowDBIngest", package: flowdb),
                           .product(name: "FlowDBQuery", package: flowdb)]
        ),
        .executableTarget(
            name: "FuzzEngine",
            dependencies: ["CFuzzSupport", .product(name: "FlowDBReassembly", package: flowdb)]
        ),
        .executableTarget(
            name: "FuzzConnections",
            dependencies: ["CFuzzSupport", .product(name: "FlowDBConnections", package: flowdb)]
        ),
        .executableTarget(
            name: "FuzzFilters",
            dependencies: ["CFuzzSupport", .product(name: "FlowDBQuery", package: flowdb)]
        ),
        .executableTarget(
            name: "FuzzDecoder",
            dependencies: ["CFuzzSupport", .product(name: "FlowDBDecoding", package: flowdb)]
        ),
    ]
)
