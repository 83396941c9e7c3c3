import ArgumentParser
import Capture
import Ingest

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read captures and summarise them: packets, TCP packets, TCP connections by 4-tuple.",
        discussion: """
        Reads through the same capture and decoding layers as ingest, without
        reassembly and without an archive. Several files are read in order.

        Example:
          flowdb inspect --filter 'tcp port 443' capture.pcapng
        """
    )

    @Option(help: "A BPF filter, compiled by libpcap (e.g. 'tcp port 443').")
    var filter: String?

    @Option(help: "List at most this many connections (0: none).")
    var limit: Int = 20

    @Argument(help: "Capture files (pcap or pcapng); '-' reads standard input.")
    var files: [String]

    func run() throws {
        var survey = CaptureSurvey()
        for file in files {
            do {
                try survey.add(path: file, filter: filter)
            } catch {
                // what was read before the error is still reported
                print(SurveyReport(survey: survey, limit: limit).text, terminator: "")
                throw fail(error.description)
            }
        }
        print(SurveyReport(survey: survey, limit: limit).text, terminator: "")
    }
}
