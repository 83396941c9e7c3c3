import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct FlowDB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowdb",
        abstract: "A flow archive for network forensics: reassemble every TCP connection of a capture into SQLite.",
        discussion: """
        Examples:
          flowdb inspect capture.pcap
          flowdb ingest capture.pcap
          flowdb query --port 443
        """,
        subcommands: [Ingest.self, QueryCommand.self, Inspect.self, Events.self]
    )
}

/// Renders a failure as one line on stderr and exits non-zero.
func fail(_ message: String, code: Int32 = 1) -> ExitCode {
    var stderr = StandardError()
    print("flowdb: \(message)", to: &stderr)
    return ExitCode(code)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var text = string
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}
