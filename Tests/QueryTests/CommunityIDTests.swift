import Foundation
import Testing
import TestSupport
import Digest
import Decoding
import Ingest
import Store
@testable import Query

/// Community ID v1 against the published vectors (Zeek's test of its
/// `community_id_v1`, seeds 0 and 1) and against pycommunityid over real
/// captures' packets as tshark decodes them.
@Suite struct CommunityIDTests {
    static func v4(_ s: String) -> [UInt8] { IPAddress(s)!.wireBytes }

    @Test func base64() {
        #expect(Base64.encode([]) == "")
        #expect(Base64.encode(Array("f".utf8)) == "Zg==")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encode(Array("foo".utf8)) == "Zm9v")
        #expect(Base64.encode([0xff, 0xfe, 0x00, 0x01]) == "//4AAQ==")
    }

    @Test func zeekVectors() {
        let a = Self.v4("1.2.3.4"), b = Self.v4("5.6.7.8")
        let c = IPAddress("fe80:0001:0203:0405:0607:0809:0A0B:0C0D")!.wireBytes
        let d = IPAddress("fe80:1011:1213:1415:1617:1819:1A1B:1C1D")!.wireBytes
        let cases: [(UInt16, [UInt8], [UInt8], UInt8, UInt16, UInt16, String)] = [
            (0, a, b, 6, 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM="),
            (0, a, b, 17, 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),
            (0, a, b, 1, 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="),
            (0, c, d, 58, 128, 129, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="),
            (1, a, b, 6, 1122, 3344, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
            (1, a, b, 17, 1122, 3344, "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
            (1, a, b, 1, 8, 0, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
            (1, c, d, 58, 128, 129, "1:IO27GQzPuCtNnwFvjWALMHu5tJE="),
        ]
        for (seed, src, dst, proto, sp, dp, expected) in cases {
            #expect(CommunityID.v1(source: src, destination: dst, proto: proto, sourcePort: sp, destinationPort: dp, seed: seed) == expected)
            // either direction: for ICMP the reply's type stands in the source port
            let (rsp, rdp): (UInt16, UInt16) = proto == 1 ? (0, 0) : proto == 58 ? (129, 0) : (dp, sp)
            #expect(CommunityID.v1(source: dst, destination: src, proto: proto, sourcePort: rsp, destinationPort: rdp, seed: seed) == expected)
        }
        // a message without a counterpart (port unreachable) is one-way: no reordering
        let there = CommunityID.v1(source: a, destination: b, proto: 1, sourcePort: 3, destinationPort: 3)
        let back = CommunityID.v1(source: b, destination: a, proto: 1, sourcePort: 3, destinationPort: 3)
        #expect(there != back)
    }

    /// `scripts/community-id-expected.py` wrote, for each capture, the Community ID
    /// pycommunityid gives every packet's addresses, protocol and ports (ICMP type
    /// and code) as tshark decodes them. Each flow flowdb records has one of them,
    /// and each of them is a flow.
    @Test func realCapturesAsPycommunityidHashesThem() throws {
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Paths.fixture("community-id/expected.json")))) as! [String: [String]]
        #expect(expected.count >= 4)
        var compared = 0
        for (relative, ids) in expected.sorted(by: { $0.key < $1.key }) {
            let db = Paths.temporaryDirectory() + "/a.sqlite"
            _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [Paths.repository + "/" + relative])
            let flows = try FlowQuery(archive: Archive(path: db, create: false)).flows(FlowFilter()).flows
            #expect(Set(flows.map(\.communityID)) == Set(ids), "\(relative)")
            compared += flows.count
        }
        #expect(compared >= 30)
    }

    /// Rows written before migration 0015 get theirs when an ingest upgrades the archive.
    @Test func anUpgradedArchiveIsBackfilled() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [Paths.sample])
        let before = try FlowQuery(archive: Archive(path: db, create: false)).flows(FlowFilter()).flows.map(\.communityID)
        let c = try SQLiteConnection(path: db)
        try c.execute("UPDATE flow SET community_id = NULL")
        // read as it is: computed on the fly
        #expect(try FlowQuery(archive: Archive(path: db, create: false)).flows(FlowFilter()).flows.map(\.communityID) == before)
        _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [Paths.sample])    // skipped, but the archive is upgraded
        #expect(try c.scalar("SELECT count(*) FROM flow WHERE community_id IS NULL") == 0)
        var f = FlowFilter()
        f.communityID = before[3]
        #expect(try FlowQuery(archive: Archive(path: db, create: false)).flows(f).flows.map(\.id) == [4])
    }
}
