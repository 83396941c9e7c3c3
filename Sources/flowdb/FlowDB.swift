import ArgumentParser
import FileIO
#if canImport(Glibc)
import Glibc
#endif

@main
struct FlowDB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowdb",
        abstract: "A flow archive for network forensics: reassemble every TCP connection of a capture into SQLite.",
        discussion: """
        Examples:
          flowdb inspect capture.pcap
          flowdb ingest capture.pcap
          flowdb query --port 443
          flowdb serve
        """,
        subcommands: [Ingest.self, CaptureCommand.self, QueryCommand.self, Serve.self, Export.self, Inspect.self, Events.self]
    )
}

/// Renders a failure as one line on stderr and exits non-zero.
func fail(_ message: String, code: Int32 = 1) -> ExitCode {
    printError(message)
    return ExitCode(code)
}

/// `message` with its control characters escaped (`\n`, `\r`, `\u{1b}`, ...): an
/// error stays one line, and a file name cannot move the cursor or recolour the terminal.
func oneLine(_ message: String) -> String {
    var out = ""
    for scalar in message.unicodeScalars {
        switch scalar.value {
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out.unicodeScalars.append(scalar)
        case 0..<0x20, 0x7F...0x9F: out += "\\u{\(String(scalar.value, radix: 16))}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        writeToStandardError(string)
    }
}
