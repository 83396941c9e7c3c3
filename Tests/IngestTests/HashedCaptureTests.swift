import Foundation
import Testing
import TestSupport
import Capture
import Digest
import Recording
import Store
@testable import Ingest

/// A capture is read once: libpcap reads the bytes HashedCapture reads, and the
/// digest covers the whole file, also when libpcap stops early.
@Suite struct HashedCaptureTests {
    /// A pcap of `count` records of `size` bytes each (Ethernet link type).
    static func pcap(records count: Int, size: Int) -> [UInt8] {
        var out: [UInt8] = []
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        le32(0xa1b2c3d4); out += [2, 0, 4, 0]; le32(0); le32(0); le32(65535); le32(1)
        for i in 0..<count {
            le32(UInt32(1_700_000_000 + i)); le32(0); le32(UInt32(size)); le32(UInt32(size))
            out += (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
        }
        return out
    }

    static func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = Paths.temporaryDirectory() + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// 40 MB through the ring of 16 blocks of 1 MB, two and a half times round:
    /// every record reaches libpcap intact, ftell counts what it read, and the
    /// digest and size are the file's.
    @Test func everyByteIsReadOnceAndHashed() throws {
        let bytes = Self.pcap(records: 28_000, size: 1500)
        let path = try Self.write(bytes, "big.pcap")
        let capture = try #require(HashedCapture(path: path))
        #expect(capture.openedSize == bytes.count)
        let reader = try CaptureReader(path: path, stream: #require(capture.takeStream()))
        #expect(capture.takeStream() == nil)          // libpcap owns it now
        var records = 0, payload = SHA256()
        while let packet = try reader.next() {
            #expect(packet.bytes.count == 1500)
            payload.update(packet.bytes)
            records += 1
        }
        #expect(records == 28_000)
        #expect(reader.byteOffset == bytes.count)
        var expected = SHA256()
        for i in 0..<28_000 { expected.update(Array(bytes[(24 + 16 + i * 1516)...].prefix(1500))) }
        #expect(payload.hexDigest == expected.hexDigest)
        let (digest, size) = capture.finish()
        #expect(digest == SHA256.hex(bytes))
        #expect(size == bytes.count)
        #expect(capture.finish().sha256 == digest)    // a second call returns the same
    }

    /// libpcap stops at a broken record 1 KB in; the other 20 MB are still read and hashed.
    @Test func digestCoversWhatLibpcapDidNotRead() throws {
        var bytes = Self.pcap(records: 2, size: 100)
        bytes += [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f]   // a record of 2 GB
        bytes += (0..<(20 << 20)).map { UInt8(truncatingIfNeeded: $0 >> 7) }
        let path = try Self.write(bytes, "broken.pcap")
        let capture = try #require(HashedCapture(path: path))
        let reader = try CaptureReader(path: path, stream: #require(capture.takeStream()))
        #expect(try reader.next() != nil)
        #expect(try reader.next() != nil)
        #expect(throws: CaptureError.self) { try reader.next() }
        let (digest, size) = capture.finish()
        #expect(digest == SHA256.hex(bytes))
        #expect(size == bytes.count)
    }

    /// A file libpcap cannot open is hashed all the same; an empty one has the
    /// empty digest; abandoning a capture returns at once.
    @Test func unreadableEmptyAndAbandoned() throws {
        let garbage = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let path = try Self.write(garbage, "garbage.pcap")
        let capture = try #require(HashedCapture(path: path))
        #expect(throws: CaptureError.self) { try CaptureReader(path: path, stream: #require(capture.takeStream())) }
        #expect(capture.finish().sha256 == SHA256.hex(garbage))

        let empty = try #require(HashedCapture(path: try Self.write([], "empty.pcap")))
        #expect(empty.finish().sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(empty.finish().size == 0)

        let abandoned = try #require(HashedCapture(path: Paths.sample))
        abandoned.abandon()        // the stream was never taken: it is closed here
        abandoned.abandon()

        #expect(HashedCapture(path: "-") == nil)
        #expect(HashedCapture(path: "/dev/null") == nil)          // not a regular file
        #expect(HashedCapture(path: Paths.temporaryDirectory() + "/missing.pcap") == nil)
    }
}
