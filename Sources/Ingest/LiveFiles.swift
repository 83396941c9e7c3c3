import Capture
#if canImport(Glibc)
import Glibc
#endif

/// The pcap files of a live capture: their names, and the oldest removed (`--keep`).
extension Session {
    /// `IFACE-20261129T224512Z-000001.pcap`: the interface, the UTC time the file
    /// was opened, and a sequence number; names sort in time order.
    func newFile(in directory: String, now: Int64) throws -> PcapFileWriter {
        var t = time_t(now / 1_000_000_000)
        var parts = tm()
        gmtime_r(&t, &parts)
        var text = [CChar](repeating: 0, count: 32)
        let stamp = strftime(&text, text.count, "%Y%m%dT%H%M%SZ", &parts) > 0
            ? text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : "\(now / 1_000_000_000)"
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        while true {
            sequence += 1
            let path = base + Self.filePrefix(source.interface) + stamp + "-" + Self.sixDigits(sequence) + ".pcap"
            do {
                return try PcapFileWriter(path: path, header: header)
            } catch is PcapFileWriter.Exists {
                continue
            }
        }
    }

    static func sixDigits(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The prefix of an interface's files, its name made safe for a file name.
    static func filePrefix(_ interface: String) -> String {
        String(interface.unicodeScalars.map { s in
            (s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "." || s == "_")) ? Character(s) : "_"
        }) + "-"
    }

    /// Removes the interface's oldest files in `directory` until `keeping` remain
    /// besides the one being written, and notes it on their capture rows.
    func removeOldFiles(in directory: String, keeping: Int, now: Int64) throws {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        let prefix = Self.filePrefix(source.interface)
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(prefix), name.hasSuffix(".pcap"), name.dropFirst(prefix.count).first?.isNumber == true else { continue }
            names.append(name)
        }
        names.sort()
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        for name in names.dropLast(max(0, keeping)) {
            let path = base + name
            guard unlink(path) == 0 else {
                notice("\(path): cannot remove it (--keep): \(String(cString: strerror(errno)))")
                continue
            }
            try writer.markRemoved(path: path, at: now)
        }
    }
}
