import Foundation
import Testing
import TestSupport

/// docs/architecture.md's module graph is Package.swift's: each module's
/// dependencies within the package, as listed in the doc, are exactly those the
/// manifest declares, and the archive's readers link nothing that records.
@Suite struct ArchitectureTests {
    /// Every target of Package.swift (tests and test support aside) with the
    /// package's own modules it depends on.
    static func manifest() throws -> [String: Set<String>] {
        let text = try String(contentsOfFile: Paths.repository + "/Package.swift", encoding: .utf8)
        var out: [String: Set<String>] = [:]
        var rest = Substring(text)
        while let start = rest.range(of: #"\.(target|executableTarget|systemLibrary)\("#, options: .regularExpression) {
            // the call's text, to its closing parenthesis
            var depth = 0, end = start.upperBound
            var i = rest.index(before: start.upperBound)
            while i < rest.endIndex {
                if rest[i] == "(" || rest[i] == "[" { depth += 1 }
                if rest[i] == ")" || rest[i] == "]" { depth -= 1; if depth == 0 { end = rest.index(after: i); break } }
                i = rest.index(after: i)
            }
            let call = rest[start.lowerBound..<end]
            rest = rest[end...]
            guard let name = call.firstMatch(of: /name: "([A-Za-z]+)"/)?.1, !call.contains("path: \"Tests") else { continue }
            var dependencies = Set<String>()
            if let list = call.firstMatch(of: /dependencies: \[([^\]]*)\]/)?.1 {
                // plain names only: `.product(name:...)` are other packages
                let withoutProducts = list.replacing(/\.product\([^)]*\)/, with: "")
                for match in withoutProducts.matches(of: /"([A-Za-z]+)"/) { dependencies.insert(String(match.1)) }
            }
            out[String(name)] = dependencies
        }
        return out
    }

    /// The text graph of docs/architecture.md, between its markers.
    static func documented() throws -> [String: Set<String>] {
        let text = try String(contentsOfFile: Paths.repository + "/docs/architecture.md", encoding: .utf8)
        guard let a = text.range(of: "<!-- module-graph -->"), let b = text.range(of: "<!-- /module-graph -->") else { return [:] }
        var out: [String: Set<String>] = [:]
        for line in text[a.upperBound..<b.lowerBound].split(separator: "\n") where line.contains("──►") {
            let parts = line.components(separatedBy: "──►")
            let list = parts[1].components(separatedBy: "(")[0]
            out[parts[0].trimmingCharacters(in: .whitespaces)] = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty })
        }
        return out
    }

    @Test func documentedGraphIsTheManifest() throws {
        let manifest = try Self.manifest(), documented = try Self.documented()
        #expect(documented.count == 13)
        // the C shims are leaves of the manifest, not listed with arrows
        let shims: Set = ["CPcap", "CSQLite", "CCrypto", "CStream"]
        let swiftModules = manifest.filter { !shims.contains($0.key) }
        #expect(swiftModules.count == 13, "\(swiftModules.keys.sorted())")
        for (module, dependencies) in swiftModules {
            #expect(documented[module] == dependencies, "\(module): Package.swift \(dependencies.sorted()), docs \(documented[module]?.sorted() ?? [])")
        }
    }

    /// Reading never writes: what `flowdb query` is built from, transitively.
    @Test func queryLinksNothingThatRecords() throws {
        let manifest = try Self.manifest()
        var seen = Set<String>(), queue = ["Query"]
        while let next = queue.popLast() {
            for d in manifest[next] ?? [] where seen.insert(d).inserted { queue.append(d) }
        }
        #expect(seen.contains("Store") && seen.contains("Capture"))
        #expect(seen.isDisjoint(with: ["Recording", "Reassembly", "Ingest"]), "\(seen.sorted())")
        let package = try String(contentsOfFile: Paths.repository + "/Package.swift", encoding: .utf8)
        let query = try #require(package.firstMatch(of: /\.target\(name: "Query"[^\n]*\n[^\n]*/)?.0)
        #expect(!query.contains("X509"))
        #expect(query.contains("CompressNIO"))
    }

    /// The leaves stay pure: they depend on nothing, and import nothing but the standard library.
    @Test func leavesImportNothing() throws {
        let manifest = try Self.manifest()
        for leaf in ["Reassembly", "Decoding", "Connections", "Applications"] {
            #expect(manifest[leaf] == [], "\(leaf)")
            let dir = Paths.repository + "/Sources/" + leaf
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".swift") }
            #expect(files.count >= 2, "\(leaf)")
            for file in files {
                let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
                let imports = text.split(separator: "\n").filter { $0.hasPrefix("import ") }
                #expect(imports.isEmpty, "\(leaf)/\(file): \(imports)")
            }
        }
    }
}
