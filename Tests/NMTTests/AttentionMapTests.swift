import Foundation
import Testing
@testable import NMT

/// The attention page: escaped labels, selectors sized to the model, the numbers as valid JSON,
/// and nothing that reaches the network. (scripts/check-attention-page.py renders it in Chromium.)
@Suite struct AttentionMapTests {
    /// Pieces with everything HTML must escape, a piece that would end a script, and a word start.
    static let source = ["▁Tom", "▁&", "▁<b>", "\"q\"", "'s", "</s>"]
    static let target = ["▁Tom", "▁«", "</script>", "▁Hund", "</s>"]

    /// Rows that sum to 1 over the keys they may see: all of them, or only 0...i when `causal`;
    /// each peaked near the diagonal, shifted by layer and head, as real attention looks.
    static func matrices(layers: Int, heads: Int, rows: Int, columns: Int, causal: Bool = false) -> AttentionMatrices {
        var values: [Float] = []
        for l in 0..<layers {
            for h in 0..<heads {
                for i in 0..<rows {
                    let visible = causal ? min(i + 1, columns) : columns
                    let centre = Float((i * columns / max(rows, 1) + l + h) % max(visible, 1))
                    let raw = (0..<columns).map { j -> Float in
                        guard j < visible else { return 0 }
                        let noise = Float((l * 7 + h * 5 + i * 3 + j * 11) % 13) / 150
                        return exp(-(Float(j) - centre) * (Float(j) - centre) / 1.5) + noise
                    }
                    let sum = raw.reduce(0, +)
                    values += raw.map { $0 / sum }
                }
            }
        }
        return AttentionMatrices(layers: layers, heads: heads, rows: rows, columns: columns, values: values)
    }

    /// The encoder with more layers and heads than the decoder, as the page must not assume them equal.
    static func sentence(source: [String] = source, target: [String] = target) -> AttentionMap.Sentence {
        AttentionMap.Sentence(
            sourcePieces: source, targetPieces: target,
            attention: AttentionWeights(
                cross: matrices(layers: 2, heads: 2, rows: target.count, columns: source.count),
                decoderSelf: matrices(layers: 2, heads: 2, rows: target.count, columns: target.count, causal: true),
                encoderSelf: matrices(layers: 3, heads: 4, rows: source.count, columns: source.count)))
    }

    static let page = AttentionMap(title: "Tom & <b>\"q\"</b>'s", sentences: [sentence()]).html()

    static func between(_ text: String, _ start: String, _ end: String) -> Substring? {
        guard let from = text.range(of: start), let to = text.range(of: end, range: from.upperBound..<text.endIndex)
        else { return nil }
        return text[from.upperBound..<to.lowerBound]
    }

    static func occurrences(of needle: String, in text: some StringProtocol) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    static func embeddedJSON(_ page: String) throws -> [String: Any] {
        let json = try #require(between(page, "<script type=\"application/json\" id=\"attention-data\">", "</script>"))
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test func labelsAreEscapedAndWordStartsMarked() throws {
        let page = Self.page
        #expect(page.contains("data-piece=\"▁&amp;\""))
        #expect(page.contains("data-piece=\"▁&lt;b&gt;\""))
        #expect(page.contains("data-piece=\"&quot;q&quot;\""))
        #expect(page.contains("data-piece=\"&#39;s\""))
        #expect(page.contains("<tspan class=\"ws\">·</tspan>Tom</text>"))
        #expect(page.contains("<tspan class=\"ws\">·</tspan>&amp;</text>"))
        #expect(page.contains(">&lt;/script&gt;</text>"))
        #expect(page.contains("<title>Attention — Tom &amp; &lt;b&gt;&quot;q&quot;&lt;/b&gt;&#39;s</title>"))
        // No piece reaches the page as markup: "<b>" nowhere, "</script>" only closing the two scripts.
        #expect(!page.contains("<b>"))
        #expect(Self.occurrences(of: "</script>", in: page) == 2)
        // The word-start mark shows as "·" in the labels; data-piece keeps the piece as it is.
        #expect(page.contains("data-piece=\"▁Tom\"") && !page.contains(">▁Tom<"))
    }

    @Test func staticViewIsTheLastLayersCrossAttention() throws {
        let page = Self.page
        let svg = try #require(Self.between(page, "<svg id=\"heatmap\"", "</svg>"))
        #expect(svg.contains("data-tab=\"cross\" data-layer=\"1\" data-head=\"mean\""))
        #expect(Self.occurrences(of: "<rect class=\"cell\"", in: svg) == Self.source.count * Self.target.count)
        #expect(Self.occurrences(of: "class=\"source-label\"", in: svg) == Self.source.count)
        #expect(Self.occurrences(of: "class=\"target-label\"", in: svg) == Self.target.count)
        #expect(svg.contains("data-special=\"true\""))
        // The cell of row 0, column 0 is the head mean of the last layer.
        let mean = Self.sentence().attention.cross.headMean(layer: 1)[0][0]
        #expect(svg.contains("data-row=\"0\" data-col=\"0\"") && svg.contains("fill=\"\(Colormap.colour(mean))\""))
        #expect(Colormap.colour(0) == "#440154" && Colormap.colour(1) == "#fde725" && Colormap.colour(.nan) == "#440154")
    }

    @Test func selectorsAndTabsMatchTheModel() throws {
        let page = Self.page
        let layers = try #require(Self.between(page, "<select id=\"layer\">", "</select>"))
        #expect(Self.occurrences(of: "<option", in: layers) == 2)
        #expect(layers.contains("<option value=\"1\" selected>2 (last)</option>"))
        let heads = try #require(Self.between(page, "<select id=\"head\">", "</select>"))
        #expect(Self.occurrences(of: "<option", in: heads) == 3)
        #expect(heads.hasPrefix("<option value=\"mean\" selected>mean of heads</option>"))
        for tab in ["cross", "encoder", "decoder"] { #expect(page.contains("data-tab=\"\(tab)\" aria-selected")) }
        #expect(!page.contains("id=\"sentence\""), "one sentence needs no sentence selector")

        let two = AttentionMap(title: "two", sentences: [Self.sentence(), Self.sentence(source: ["▁Hi", "</s>"])]).html()
        let sentences = try #require(Self.between(two, "<select id=\"sentence\">", "</select>"))
        #expect(Self.occurrences(of: "<option", in: sentences) == 2)
        #expect(sentences.contains(">2: Hi</option>"))
    }

    @Test func pageReachesNoNetwork() {
        for page in [Self.page, AttentionMap(title: "", sentences: []).html()] {
            #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("//fonts"))
            #expect(!page.contains(" src=") && !page.contains("<link"))
        }
    }

    @Test func embeddedNumbersAreValidRoundedJSON() throws {
        let root = try Self.embeddedJSON(Self.page)
        #expect(root["title"] as? String == "Tom & <b>\"q\"</b>'s")
        let sentences = try #require(root["sentences"] as? [[String: Any]])
        #expect(sentences.count == 1)
        #expect(sentences[0]["source"] as? [String] == Self.source)
        #expect(sentences[0]["target"] as? [String] == Self.target)
        let weights = Self.sentence().attention
        for (key, matrices) in [("cross", weights.cross), ("decoder", weights.decoderSelf), ("encoder", weights.encoderSelf)] {
            let m = try #require(sentences[0][key] as? [String: Any])
            #expect(m["layers"] as? Int == matrices.layers && m["heads"] as? Int == matrices.heads)
            #expect(m["rows"] as? Int == matrices.rows && m["columns"] as? Int == matrices.columns)
            let values = try #require(m["values"] as? [Double])
            #expect(values.count == matrices.values.count)
            for (value, exact) in zip(values, matrices.values) {
                #expect(abs(value - Double(exact)) <= 0.00005 + 1e-9)
                #expect(abs(value * 10_000 - (value * 10_000).rounded()) < 1e-6, "more than 4 decimals")
            }
            // Rows still sum to 1 after rounding, within the rounding.
            for row in stride(from: 0, to: values.count, by: matrices.columns) {
                #expect(abs(values[row..<(row + matrices.columns)].reduce(0, +) - 1) < 0.0001 * Double(matrices.columns))
            }
        }
    }

    @Test func emptyLineGivesAPageWithNothingToShow() throws {
        let page = AttentionMap(title: "", sentences: []).html()
        #expect(page.contains("<svg id=\"heatmap\"") && page.contains("Nothing to show."))
        let root = try Self.embeddedJSON(page)
        #expect((root["sentences"] as? [Any])?.isEmpty == true)
    }

    /// Writes sample pages to $ATTENTION_MAP_DIR to try scripts/check-attention-page.py by hand.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ATTENTION_MAP_DIR"] != nil))
    func writeSamplePages() throws {
        let directory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["ATTENTION_MAP_DIR"]!)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let long = "▁A ▁man ▁rides ▁a ▁bi cycle ▁down ▁a ▁busy ▁street ▁while ▁people ▁watch . </s>"
            .split(separator: " ").map(String.init)
        let longTarget = "▁Ein ▁Mann ▁fährt ▁mit ▁dem ▁Fahr rad ▁eine ▁belebte ▁Straße ▁hinunter , ▁während ▁Leute ▁zusehen . </s>"
            .split(separator: " ").map(String.init)
        let pages = [
            "special.html": AttentionMap(title: "Tom & <b>\"q\"</b>'s", sentences: [Self.sentence()]),
            "two-sentences.html": AttentionMap(title: "A man rides a bicycle down a busy street while people watch. Tom & q.",
                                               sentences: [Self.sentence(source: long, target: longTarget), Self.sentence()]),
            "cjk.html": AttentionMap(title: "日本語の文です。", sentences: [
                Self.sentence(source: ["▁日本", "語", "の", "文", "です", "。", "</s>"],
                              target: ["▁This", "▁is", "▁a", "▁Japanese", "▁sentence", ".", "</s>"])]),
            "empty.html": AttentionMap(title: "", sentences: []),
            "long.html": AttentionMap(title: "long", sentences: [
                Self.sentence(source: (Array(repeating: long.dropLast(), count: 4).joined() + ["▁internationalization", "</s>"]),
                              target: (Array(repeating: longTarget.dropLast(), count: 4).joined() + ["</s>"]))]),
        ]
        for (name, map) in pages { try map.html().write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    }
}
