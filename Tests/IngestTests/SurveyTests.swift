import Testing
import TestSupport
@testable import Ingest

@Suite struct SurveyTests {
    @Test func sampleConnectionsMatchGroundTruth() throws {
        var survey = CaptureSurvey()
        try survey.add(path: Paths.sample)
        #expect(survey.counters.packets == 830)
        #expect(survey.conversations.count == 10)
        let first = survey.conversations[0]
        #expect("\(first.a):\(first.aPort)" == "10.77.0.2:45740")
        #expect("\(first.b):\(first.bPort)" == "10.77.0.1:9000")
        #expect(survey.tallies[first] == CaptureSurvey.Tally(packets: 72, payloadBytes: 60_216, firstIndex: 0))
        let truth = try GroundTruth.load(Paths.sample)
        let ports = Set(truth.flows.map(\.clientPort))
        #expect(Set(survey.conversations.map { Int($0.aPort) }) == ports)
    }

    @Test func severalFilesAddUp() throws {
        var survey = CaptureSurvey()
        try survey.add(path: Paths.fixture("sll2-any.pcap"))
        try survey.add(path: Paths.fixture("raw-ipv4.pcap"))
        #expect(survey.linkTypes == ["linux-sll2", "raw-ip"])
        #expect(survey.counters.packets == 128)
        #expect(survey.conversations.count == 3)   // the same three connections in both files
    }

    @Test func reportText() throws {
        var survey = CaptureSurvey()
        try survey.add(path: Paths.fixture("sll2-any.pcap"))
        let text = SurveyReport(survey: survey, limit: 1).text
        #expect(text.hasPrefix("link types:        linux-sll2\npackets:           64 (35140 captured bytes)\nTCP packets:       64\n"))
        #expect(text.contains("TCP connections:   3 by 4-tuple\n"))
        #expect(text.hasSuffix("  ... 2 more (--limit N)\n"))
    }
}
