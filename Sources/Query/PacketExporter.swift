import Capture
import CPcap
import Decoding
import Digest
import FileIO
import Store
#if canImport(Glibc)
import Glibc
#endif

/// What an export wrote, for its chain-of-custody record.
public struct ExportReport: Sendable {
    public var flowIDs: [Int64] = []
    public var packets = 0
    /// Bytes of the pcap written, and their SHA-256.
    public var bytes = 0
    public var sha256 = ""
    /// Whether the records were copied verbatim (every source a pcap file with
    /// the same file header) or re-encoded as nanosecond pcap records.
    public var verbatim = true
    public var captures: [(capture: VerifiedCapture, packets: Int)] = []
}

/// Writes the original packets of flows as one pcap file, in capture order.
///
/// Each capture is checked first (`CaptureFiles`). From a pcap file each record
/// (its 16-byte header and data) is read at the offset the archive recorded and
/// copied unchanged; when every source is a pcap file with the same file header,
/// that header is copied too, so the output's records are byte-identical to the
/// originals. Otherwise (pcapng sources, or pcap files whose headers differ in
/// byte order, time precision or snaplen) the records are written as nanosecond
/// pcap records in this machine's byte order, with the original timestamps,
/// lengths and bytes; a pcapng file is read through libpcap from its start, since
/// its packet blocks depend on interface blocks that may lie anywhere before them.
/// Captures of different link types cannot share one pcap file and are refused.
public final class PacketExporter {
    let connection: SQLiteConnection
    let archive: Archive
    public let files: CaptureFiles

    public init(archive: Archive, files: CaptureFiles) {
        self.archive = archive
        connection = archive.connection
        self.files = files
    }

    /// The packet records of `flowIDs`, by capture, each list sorted by index
    /// without duplicates. Throws when the archive holds no positions for a flow.
    public func records(of flowIDs: [Int64]) throws -> [Int64: [RecordLocation]] {
        guard archive.version >= 6 else {
            throw QueryError("\(archive.path): this archive records no packet positions (schema version \(archive.version)); `flowdb ingest` upgrades it, and captures ingested after that (or again with --force) have them")
        }
        var out: [Int64: [RecordLocation]] = [:]
        // A flow's full blocks, then its last block on its own row.
        let s = try connection.prepare("""
            SELECT capture_id, records FROM packet_block WHERE flow_id = ?1
            UNION ALL SELECT packet_capture_id, packet_records FROM flow WHERE id = ?1 AND packet_records IS NOT NULL
            """)
        var missing: [Int64] = []
        var list: [RecordLocation] = []
        for id in flowIDs {
            s.reset()
            try s.bind(id, at: 1)
            var any = false
            while try s.step() {
                any = true
                list.removeAll(keepingCapacity: true)
                let blob = s.blob(1)
                guard Self.parse(blob, into: &list) else {
                    throw QueryError("\(archive.path): flow \(id): its packet positions are not a list of [index, offset] pairs")
                }
                out[s.int64(0), default: []].append(contentsOf: list)
            }
            if !any { missing.append(id) }
        }
        if !missing.isEmpty {
            let shown = missing.prefix(10).map(String.init).joined(separator: ", ") + (missing.count > 10 ? ", …" : "")
            throw QueryError("\(archive.path): no packet positions for flow(s) \(shown): they were ingested before flowdb recorded them; ingest their captures again with --force")
        }
        for (id, l) in out {
            var sorted = l.sorted { $0.index < $1.index }
            var w = 0
            for r in sorted where w == 0 || sorted[w - 1].index != r.index {
                sorted[w] = r
                w += 1
            }
            sorted.removeLast(sorted.count - w)
            out[id] = sorted
        }
        return out
    }

    /// Decodes a block's `[[index, offset], [Δindex, Δoffset], …]` into absolute positions.
    static func parse(_ text: UnsafeRawBufferPointer, into out: inout [RecordLocation]) -> Bool {
        var numbers: [Int64] = []
        numbers.reserveCapacity(64)
        var i = 0
        let n = text.count
        while i < n {
            let c = text[i]
            if c == UInt8(ascii: "-") || (c >= 48 && c <= 57) {
                let negative = c == UInt8(ascii: "-")
                if negative { i += 1 }
                var v: Int64 = 0
                var digits = 0
                while i < n, text[i] >= 48, text[i] <= 57 {
                    let (m, o1) = v.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(Int64(text[i] - 48))
                    if o1 || o2 { return false }
                    v = a
                    i += 1
                    digits += 1
                }
                if digits == 0 { return false }
                numbers.append(negative ? -v : v)
            } else {
                guard c == UInt8(ascii: "[") || c == UInt8(ascii: "]") || c == UInt8(ascii: ",") || c == 32 else { return false }
                i += 1
            }
        }
        guard numbers.count % 2 == 0 else { return false }
        var index: Int64 = 0, offset: Int64 = 0
        for p in stride(from: 0, to: numbers.count, by: 2) {
            index &+= numbers[p]
            offset &+= numbers[p + 1]
            guard index >= 0, index <= Int64(Int32.max) else { return false }
            out.append(RecordLocation(index: Int(index), offset: offset))
        }
        return true
    }

    /// Writes the packets of `flowIDs` to `sink` (a pcap file header, then the records).
    public func export(flowIDs: [Int64], to sink: ExportSink) throws -> ExportReport {
        var report = ExportReport()
        report.flowIDs = flowIDs
        let byCapture = try records(of: flowIDs)
        let ids = byCapture.keys.sorted()
        var sources: [(capture: VerifiedCapture, header: [UInt8]?)] = []
        for id in ids {
            let c = try files.open(id)
            sources.append((c, Self.pcapHeader(fd: c.fd)))
        }
        // One link type per pcap file.
        if let first = sources.first, let other = sources.first(where: { $0.capture.linkType != first.capture.linkType }) {
            throw QueryError("the selected flows come from captures of different link types (\(Self.linkName(first.capture.linkType)) in capture \(first.capture.id), \(Self.linkName(other.capture.linkType)) in capture \(other.capture.id)); a pcap file holds one: export them separately (--capture ID)")
        }
        let verbatimHeader = sources.first?.header
        report.verbatim = verbatimHeader != nil && sources.allSatisfy { $0.header == verbatimHeader }
        if report.verbatim, let header = verbatimHeader {
            try header.withUnsafeBytes { try sink.write($0) }
        } else {
            let dlt = sources.first?.capture.linkType ?? 1
            let snaplen = sources.map(\.capture.snaplen).max() ?? 262144
            try PcapFileHeader.nanosecond(dlt: dlt, snaplen: snaplen).withUnsafeBytes { try sink.write($0) }
        }
        for (capture, header) in sources {
            let wanted = byCapture[capture.id] ?? []
            if let header, !wanted.contains(where: { $0.offset < 0 }) {
                try copyRecords(wanted, of: capture, header: header, verbatim: report.verbatim, to: sink)
            } else {
                try readRecords(wanted, of: capture, to: sink)
            }
            report.captures.append((capture, wanted.count))
            report.packets += wanted.count
        }
        try sink.finish()
        report.bytes = sink.bytes
        report.sha256 = sink.sha256
        return report
    }

    // MARK: pcap files: records read where the archive says they are

    /// The 24-byte file header of a standard pcap file (either byte order,
    /// microsecond or nanosecond times), or nil for anything else.
    static func pcapHeader(fd: Int32) -> [UInt8]? {
        var header = [UInt8](repeating: 0, count: 24)
        let n = header.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, 24, 0) }
        guard n == 24 else { return nil }
        let magic = UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24
        switch magic {
        case 0xa1b2_c3d4, 0xa1b2_3c4d, 0xd4c3_b2a1, 0x4d3c_b2a1: return header
        default: return nil
        }
    }

    private func copyRecords(_ wanted: [RecordLocation], of capture: VerifiedCapture, header: [UInt8],
                             verbatim: Bool, to sink: ExportSink) throws {
        let magic = UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24
        let bigEndian = magic == 0xd4c3_b2a1 || magic == 0x4d3c_b2a1
        let nanoseconds = magic == 0xa1b2_3c4d || magic == 0x4d3c_b2a1
        var buffer = [UInt8](repeating: 0, count: 65536 + 16)
        var previousEnd: Int64 = 24
        let path = capture.path ?? capture.recordedPath
        for r in wanted {
            func notARecord(_ why: String) -> QueryError {
                QueryError("\(path): packet \(r.index) (frame \(r.index + 1)): \(why) at byte offset \(r.offset); the file does not match the archive")
            }
            guard r.offset >= previousEnd, r.offset + 16 <= Int64(capture.size) else {
                throw notARecord("no record header")
            }
            try pread(capture.fd, into: &buffer, count: 16, at: r.offset, path: path)
            func field(_ at: Int) -> UInt32 {
                let v = UInt32(buffer[at]) | UInt32(buffer[at + 1]) << 8 | UInt32(buffer[at + 2]) << 16 | UInt32(buffer[at + 3]) << 24
                return bigEndian ? v.byteSwapped : v
            }
            let caplen = Int(field(8))
            guard caplen <= 0x1000_0000, r.offset + 16 + Int64(caplen) <= Int64(capture.size) else {
                throw notARecord("a record length of \(caplen) bytes past the end of the file")
            }
            if buffer.count < 16 + caplen { buffer.append(contentsOf: repeatElement(0, count: 16 + caplen - buffer.count)) }
            if caplen > 0 { try pread(capture.fd, into: &buffer, count: caplen, at: r.offset + 16, start: 16, path: path) }
            previousEnd = r.offset + 16 + Int64(caplen)
            if !verbatim {
                // re-encoded in this machine's order, with nanoseconds
                let seconds = field(0), fraction = nanoseconds ? field(4) : field(4) &* 1000, wire = field(12)
                buffer.withUnsafeMutableBytes {
                    PcapRecordHeader.encode(seconds: seconds, nanoseconds: fraction, capturedLength: UInt32(caplen),
                                            wireLength: wire, into: $0.baseAddress!)
                }
            }
            try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<(16 + caplen)])) }
        }
    }

    private func pread(_ fd: Int32, into buffer: inout [UInt8], count: Int, at offset: Int64, start: Int = 0,
                       path: String) throws {
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress! + start + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw QueryError("\(path): cannot read at byte offset \(offset + Int64(done)): \(n < 0 ? String(cString: strerror(errno)) : "end of file")") }
            done += n
        }
    }

    // MARK: other formats: read through libpcap from the start

    private func readRecords(_ wanted: [RecordLocation], of capture: VerifiedCapture, to sink: ExportSink) throws {
        let path = capture.path ?? capture.recordedPath
        let fd = dup(capture.fd)
        guard fd >= 0, lseek(fd, 0, SEEK_SET) == 0, let stream = fdopen(fd, "rb") else {
            throw QueryError("\(path): cannot read it: \(String(cString: strerror(errno)))")
        }
        let reader: CaptureReader
        do { reader = try CaptureReader(path: path, stream: stream) } catch { throw QueryError("\(error)") }
        var next = 0
        var header = [UInt8](repeating: 0, count: 16)
        while next < wanted.count {
            let packet: CapturedPacket?
            do { packet = try reader.next() } catch { throw QueryError("\(error)") }
            guard let packet else {
                throw QueryError("\(path): ended after \(reader.packetsRead) packets, before packet \(wanted[next].index) of the archive; the file does not match the archive")
            }
            guard packet.index == wanted[next].index else { continue }
            next += 1
            header.withUnsafeMutableBytes {
                PcapRecordHeader.encode(timestamp: packet.timestamp, capturedLength: packet.bytes.count,
                                        wireLength: packet.wireLength, into: $0.baseAddress!)
            }
            try header.withUnsafeBytes { try sink.write($0) }
            try sink.write(packet.bytes)
        }
    }

    // MARK: headers

    static func linkName(_ dlt: Int32) -> String {
        pcap_datalink_val_to_name(dlt).map { String(cString: $0) } ?? "DLT \(dlt)"
    }
}

/// Where an export goes: a file descriptor, written in 1 MB pieces, hashed on the way.
public final class ExportSink {
    let fd: Int32
    let name: String
    private var buffer: [UInt8] = []
    private var sha = SHA256()
    public private(set) var bytes = 0
    public private(set) var sha256 = ""

    /// `name` names the destination in errors.
    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
        buffer.reserveCapacity(1 << 20)
    }

    func write(_ data: UnsafeRawBufferPointer) throws {
        sha.update(data)
        bytes += data.count
        if buffer.count + data.count > (1 << 20) { try flush() }
        if data.count >= (1 << 20) {
            try Extractor.write(data, to: fd, path: name)
        } else {
            buffer.append(contentsOf: data)
        }
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { try Extractor.write($0, to: fd, path: name) }
        buffer.removeAll(keepingCapacity: true)
    }

    func finish() throws {
        try flush()
        sha256 = sha.hexDigest
    }
}

extension ExportReport {
    /// The chain-of-custody record of an export, as one JSON object: which
    /// archive and flows, which source captures (where found, how checked, their
    /// SHA-256), how many packets, and the SHA-256 of the pcap written.
    public func custodyJSON(archive: String, output: String, exportedAt: Int64) -> String {
        let sources = captures.map { entry in
            let v = entry.capture, packets = entry.packets
            return "{\"capture_id\":\(v.id),\"recorded_path\":\(Formats.json(v.recordedPath)),\"path\":\(v.path.map(Formats.json) ?? "null"),\"size\":\(v.size),\"sha256\":\(v.sha256.map { "\"\($0)\"" } ?? "null"),\"verified\":\"\(v.check.rawValue)\",\"status\":\(Formats.json(v.status)),\"packets\":\(packets)}"
        }
        return """
            {"flowdb_export":{"exported_at":"\(TimeParser.iso(exportedAt))","archive":\(Formats.json(archive)),\
            "flows":[\(flowIDs.map(String.init).joined(separator: ","))],"captures":[\(sources.joined(separator: ","))],\
            "packets":\(packets),"output":\(Formats.json(output)),"format":"\(verbatim ? "pcap, records copied verbatim" : "pcap, nanosecond records")",\
            "bytes":\(bytes),"sha256":"\(sha256)"}}

            """
    }
}

/// A file an export writes: created under a temporary name in the same directory
/// (mode 0600, never through a symbolic link) and renamed into place once whole,
/// so a failed export leaves no partial file behind.
public enum ExportFile {
    public static func write<T>(_ path: String, _ body: (Int32) throws -> T) throws -> T {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = directory + ".\(name).flowdb-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw QueryError("\(temporary): \(String(cString: strerror(errno)))") }
        do {
            let result = try body(fd)
            guard fsync(fd) == 0 || errno == EINVAL else { throw QueryError("\(path): \(String(cString: strerror(errno)))") }
            guard close(fd) == 0 else {
                unlink(temporary)
                throw QueryError("\(path): \(String(cString: strerror(errno)))")
            }
            guard rename(temporary, path) == 0 else {
                let message = String(cString: strerror(errno))
                unlink(temporary)
                throw QueryError("\(path): cannot write it: \(message)")
            }
            return result
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }

    /// `path` made absolute against the working directory (for the custody record).
    public static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }
}
