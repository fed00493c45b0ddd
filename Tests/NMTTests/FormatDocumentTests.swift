import Foundation
import Testing
@testable import NMTFormat

/// docs/FORMAT.md is the contract of the model file: its tensor table lists exactly the names,
/// shapes and dtypes that the loader's weight table (WeightTable) expects, for every config.
@Suite struct FormatDocumentTests {
    struct Row {
        var pattern: String
        var shape: [String]
        var dtypes: [String]
        var condition: String
    }

    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/FORMAT.md")

    /// The rows of the table headed `| name | shape | dtype | present when |`.
    static func rows() throws -> [Row] {
        let lines = try String(contentsOf: document, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("| name | shape | dtype | present when |") }) else {
            Issue.record("FORMAT.md has no tensor table")
            return []
        }
        return lines[(header + 2)...].prefix { $0.hasPrefix("|") }.map { line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let shape = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "[]")).components(separatedBy: ", ")
            return Row(pattern: cells[0].replacingOccurrences(of: "`", with: ""), shape: shape,
                       dtypes: cells[2].components(separatedBy: ", "), condition: cells[3])
        }
    }

    /// `a.{x,y}.b` → `a.x.b`, `a.y.b`; `{i}` → every layer index.
    static func expand(_ pattern: String, layers: Int) -> [String] {
        guard let open = pattern.firstIndex(of: "{"), let close = pattern[open...].firstIndex(of: "}") else { return [pattern] }
        let inner = pattern[pattern.index(after: open)..<close]
        let choices = inner == "i" ? (0..<layers).map(String.init) : inner.components(separatedBy: ",")
        return choices.flatMap { expand(pattern[..<open] + $0 + pattern[pattern.index(after: close)...], layers: layers) }
    }

    static func documented(_ config: ModelConfig) throws -> [String: (shape: [Int], dtypes: [String])] {
        let fields = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as! [String: Any]
        let sizes = ["d": config.dModel, "V_s": config.sourceVocabSize, "V_t": config.targetVocabSize,
                     "F_e": config.encoderFFNDim, "F_d": config.decoderFFNDim, "1": 1]
        var out: [String: (shape: [Int], dtypes: [String])] = [:]
        for row in try rows() {
            let present: Bool
            switch row.condition {
            case "always": present = true
            case let c where c.hasPrefix("not "): present = !(fields[c.dropFirst(4).trimmingCharacters(in: ["`"])] as! Bool)
            default: present = fields[row.condition.trimmingCharacters(in: ["`"])] as! Bool
            }
            guard present else { continue }
            // Decoder rows expand {i} over decoder layers, the others over encoder layers.
            let layers = row.pattern.hasPrefix("model.decoder") ? config.decoderLayers : config.encoderLayers
            for name in expand(row.pattern, layers: layers) {
                #expect(out[name] == nil, "\(name) documented twice")
                out[name] = (row.shape.map { sizes[$0]! }, row.dtypes)
            }
        }
        return out
    }

    @Test(arguments: ["marian-shared.bin", "marian-separate.bin", "pre-ln.bin"])
    func theTensorTableIsTheLoadersTable(fixture: String) throws {
        let config = try ModelFile(bytes: try Fixtures.bytes(fixture)).config
        // Every combination of the flags that decide which tensors exist.
        for shared in [false, true] {
            for tied in [false, true] {
                for bias in [false, true] {
                    var c = config
                    (c.sharedEmbeddings, c.tiedOutput, c.finalLogitsBias) = (shared, tied, bias)
                    if shared { c.targetVocabSize = c.sourceVocabSize }
                    let table = WeightTable(config: c).all
                    let documented = try Self.documented(c)
                    #expect(Set(table.map(\.name)) == Set(documented.keys), "\(fixture) shared \(shared) tied \(tied)")
                    for entry in table {
                        #expect(documented[entry.name]?.shape == entry.shape, "\(entry.name)")
                        #expect(documented[entry.name]?.dtypes == entry.dtypes.map(\.rawValue), "\(entry.name)")
                    }
                }
            }
        }
    }
}
