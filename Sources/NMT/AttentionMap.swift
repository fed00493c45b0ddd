import Foundation
import NMTModel

/// One HTML page showing a translated line's attention.
///
/// The page is self-contained (inline CSS, JavaScript and SVG; no URL at all, so it opens offline
/// and from any directory): the cross-attention heatmap with the pieces as labels, a colour scale,
/// a layer and a head selector, tabs for the encoder's and the decoder's self-attention, and, when
/// the line held several sentences, a sentence selector. Hovering a target piece highlights the
/// source pieces it attended to.
///
/// The numbers are embedded as JSON (`<script id="attention-data">`) and the page's script draws
/// from them, so switching views needs no server. The first view (cross-attention, last layer,
/// mean of heads, first sentence) is also rendered here as static SVG, so the page shows the
/// heatmap without JavaScript too; the script then redraws it with the same geometry.
///
/// The view can be chosen in the URL fragment, as the page keeps it there:
/// `page.html#sentence=0&tab=encoder&layer=2&head=mean&row=1` (indices 0-based, as in
/// `AttentionMatrices`; `row` highlights a row as hovering does).
public struct AttentionMap: Sendable {
    public struct Sentence: Sendable {
        /// SentencePiece pieces as the tokenizer gives them, e.g. "▁A", "▁dog", ".", "</s>".
        public var sourcePieces: [String]
        /// Generated pieces, "</s>" last when generated.
        public var targetPieces: [String]
        public var attention: AttentionWeights

        public init(sourcePieces: [String], targetPieces: [String], attention: AttentionWeights) {
            self.sourcePieces = sourcePieces
            self.targetPieces = targetPieces
            self.attention = attention
        }
    }

    /// Shown as the page's heading, e.g. the source line.
    public var title: String
    /// A line may hold several sentences, each translated alone.
    public var sentences: [Sentence]

    public init(title: String, sentences: [Sentence]) {
        self.title = title
        self.sentences = sentences
    }

    /// The page: one self-contained HTML document.
    public func html() -> String {
        let first = sentences.first
        let cross = first?.attention.cross
        let initialLayer = max((cross?.layers ?? 0) - 1, 0)
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Attention — \(escapeHTML(title))</title>
        <style>\(Self.style)</style>
        </head>
        <body>
        <header>
        <h1>Attention</h1>
        <p class="line" id="title">\(escapeHTML(title))</p>
        </header>
        \(sentenceSelector())<nav class="controls">
        <div class="tabs" role="tablist">\
        <button type="button" class="tab" role="tab" data-tab="cross" aria-selected="true">Cross-attention</button>\
        <button type="button" class="tab" role="tab" data-tab="encoder" aria-selected="false">Encoder self-attention</button>\
        <button type="button" class="tab" role="tab" data-tab="decoder" aria-selected="false">Decoder self-attention</button>\
        </div>
        <label>Layer <select id="layer">\(layerOptions(cross?.layers ?? 0, selected: initialLayer))</select></label>
        <label>Head <select id="head">\(headOptions(cross?.heads ?? 0))</select></label>
        </nav>
        <p id="caption">\(escapeHTML(Self.crossCaption))</p>
        <figure id="map">
        \(first.map { Self.staticHeatmap($0, layer: initialLayer) } ?? Self.emptyHeatmap)
        <figcaption class="side">
        \(Self.legend)
        <p id="readout">Hover a row to see what its piece attended to.</p>
        </figcaption>
        </figure>
        <p class="note"><span class="ws">·</span> marks a word start (SentencePiece “▁”); \
        <span class="special">grey italics</span> are special pieces. Each row is a distribution that sums to 1.</p>
        <script type="application/json" id="attention-data">\(dataJSON())</script>
        <script>\(Self.script)</script>
        </body>
        </html>

        """
    }

    // MARK: Controls

    private func sentenceSelector() -> String {
        guard sentences.count > 1 else { return "" }
        let options = sentences.enumerated().map { index, sentence in
            // The sentence as words, so the choice reads like the line, not like indices.
            let words = sentence.sourcePieces.filter { !PieceLabel($0).special }.joined()
                .replacingOccurrences(of: "▁", with: " ").trimmingCharacters(in: .whitespaces)
            let short = words.count > 60 ? words.prefix(59) + "…" : Substring(words)
            let selected = index == 0 ? " selected" : ""
            return "<option value=\"\(index)\"\(selected)>\(index + 1): \(escapeHTML(String(short)))</option>"
        }
        return "<p class=\"sentences\"><label>Sentence <select id=\"sentence\">\(options.joined())</select></label></p>\n"
    }

    private func layerOptions(_ layers: Int, selected: Int) -> String {
        (0..<layers).map { layer in
            let last = layer == layers - 1 ? " (last)" : ""
            let isSelected = layer == selected ? " selected" : ""
            return "<option value=\"\(layer)\"\(isSelected)>\(layer + 1)\(last)</option>"
        }.joined()
    }

    private func headOptions(_ heads: Int) -> String {
        "<option value=\"mean\" selected>mean of heads</option>"
            + (0..<heads).map { "<option value=\"\($0)\">\($0 + 1)</option>" }.joined()
    }

    static let crossCaption = "Cross-attention. Rows: target pieces in the order generated (row i is the step "
        + "that generated piece i). Columns: source pieces."

    // MARK: Embedded numbers

    /// The numbers the script draws from. Values keep 4 decimals (the page shows no more, and it
    /// keeps files small); a value that is not finite is written 0, as JSON has no NaN.
    private func dataJSON() -> String {
        struct Matrices: Encodable {
            var layers, heads, rows, columns: Int
            var values: [Double]
            init(_ m: AttentionMatrices) {
                (layers, heads, rows, columns) = (m.layers, m.heads, m.rows, m.columns)
                values = m.values.map { $0.isFinite ? (Double($0) * 10_000).rounded() / 10_000 : 0 }
            }
        }
        struct SentenceData: Encodable {
            var source, target: [String]
            var cross, decoder, encoder: Matrices
        }
        struct Page: Encodable {
            var title: String
            var sentences: [SentenceData]
        }
        let page = Page(title: title, sentences: sentences.map {
            SentenceData(source: $0.sourcePieces, target: $0.targetPieces, cross: Matrices($0.attention.cross),
                         decoder: Matrices($0.attention.decoderSelf), encoder: Matrices($0.attention.encoderSelf))
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings, integers and finite doubles cannot fail.
        let json = String(decoding: try! encoder.encode(page), as: UTF8.self)
        // "<" only occurs inside JSON strings, where \u003c means the same; without it a piece
        // "</script>" would end the script element.
        return json.replacingOccurrences(of: "<", with: "\\u003c")
    }

    // MARK: Static first view

    /// The first view as the script would draw it, so the page shows it without JavaScript.
    private static func staticHeatmap(_ sentence: Sentence, layer: Int) -> String {
        let cross = sentence.attention.cross
        guard cross.layers > 0, cross.heads > 0 else { return emptyHeatmap }
        let values = cross.headMean(layer: layer)
        let rows = labels(sentence.targetPieces, count: cross.rows)
        let columns = labels(sentence.sourcePieces, count: cross.columns)
        let layout = HeatmapLayout(rows: rows.map(PieceLabel.init), columns: columns.map(PieceLabel.init))
        var svg = """
            <svg id="heatmap" width="\(number(layout.width))" height="\(number(layout.height))" \
            viewBox="0 0 \(number(layout.width)) \(number(layout.height))" font-size="\(number(layout.fontSize))" \
            data-tab="cross" data-layer="\(layer)" data-head="mean" data-rows="\(cross.rows)" \
            data-columns="\(cross.columns)" data-rendered="static">
            <g class="cells">
            """
        let inset = layout.cellGap
        for (i, row) in values.enumerated() {
            for (j, value) in row.enumerated() {
                let rounded = String(format: "%.4f", Double(value.isFinite ? value : 0))
                svg += "<rect class=\"cell\" data-row=\"\(i)\" data-col=\"\(j)\" "
                    + "x=\"\(number(layout.left + Double(j) * layout.cell))\" "
                    + "y=\"\(number(layout.top + Double(i) * layout.cell))\" "
                    + "width=\"\(number(layout.cell - inset))\" height=\"\(number(layout.cell - inset))\" "
                    + "fill=\"\(Colormap.colour(value))\"><title>\(escapeHTML(rows[i])) → "
                    + "\(escapeHTML(columns[j])): \(rounded)</title></rect>"
            }
        }
        svg += "</g>\n<g class=\"row-labels\">"
        for (i, piece) in rows.enumerated() {
            let (x, y) = layout.rowLabelAnchor(i)
            svg += PieceLabel(piece).svg(class: "target-label", axis: "row", index: i,
                                         placement: "x=\"\(number(x))\" y=\"\(number(y))\" text-anchor=\"end\"")
        }
        svg += "</g>\n<g class=\"column-labels\">"
        for (j, piece) in columns.enumerated() {
            let (x, y) = layout.columnLabelAnchor(j)
            svg += PieceLabel(piece).svg(class: "source-label", axis: "column", index: j,
                                         placement: "transform=\"translate(\(number(x)),\(number(y))) "
                                             + "rotate(\(number(-HeatmapLayout.columnLabelAngle)))\"")
        }
        return svg + "</g>\n</svg>"
    }

    /// Always present, so the script finds the SVG namespace on it (see the script).
    private static let emptyHeatmap =
        "<svg id=\"heatmap\" width=\"0\" height=\"0\" data-rendered=\"static\"></svg><p>Nothing to show.</p>"

    /// The pieces that label a matrix's rows or columns; a matrix larger than its pieces (which
    /// a caller should not give) gets "#index" labels rather than a crash.
    private static func labels(_ pieces: [String], count: Int) -> [String] {
        (0..<count).map { $0 < pieces.count ? pieces[$0] : "#\($0)" }
    }

    private static var legend: String {
        let stops = Colormap.stops.enumerated().map { index, stop in
            "<stop offset=\"\(number(Double(index) / Double(Colormap.stops.count - 1)))\" stop-color=\"\(stop)\"/>"
        }.joined()
        let ticks = [(0, "0"), (0.25, "0.25"), (0.5, "0.5"), (0.75, "0.75"), (1, "1")].map { t, text in
            "<text x=\"\(number(10 + 200 * t))\" y=\"42\" text-anchor=\"middle\">\(text)</text>"
                + "<line x1=\"\(number(10 + 200 * t))\" x2=\"\(number(10 + 200 * t))\" y1=\"28\" y2=\"32\" stroke=\"#57606a\"/>"
        }.joined()
        return """
            <svg id="legend" width="220" height="48" font-size="11" role="img" aria-label="colour scale from 0 to 1">\
            <defs><linearGradient id="legend-gradient">\(stops)</linearGradient></defs>\
            <text x="10" y="10">attention weight</text>\
            <rect x="10" y="16" width="200" height="12" fill="url(#legend-gradient)"/>\(ticks)</svg>
            """
    }
}

/// How a piece is shown: SentencePiece's word-start mark "▁" becomes a small "·" before the text,
/// and special pieces such as "</s>" are greyed, so the labels read like words. The page's script
/// has the same rule (function pieceLabel).
struct PieceLabel {
    let piece: String
    let wordStart: Bool
    let text: String
    let special: Bool

    init(_ piece: String) {
        self.piece = piece
        special = piece.count >= 3 && piece.hasPrefix("<") && piece.hasSuffix(">")
        wordStart = piece.hasPrefix("▁")
        text = String(wordStart ? piece.dropFirst() : Substring(piece)).replacingOccurrences(of: "▁", with: "·")
    }

    /// A guess at the width in pixels (no fonts to measure here): CJK and other wide characters
    /// take a full em, the rest about 0.62 em.
    func estimatedWidth(fontSize: Double) -> Double {
        let ems = text.unicodeScalars.reduce(wordStart ? 0.45 : 0) { $0 + ($1.value >= 0x2E80 ? 1.0 : 0.62) }
        return ems * fontSize
    }

    func svg(class labelClass: String, axis: String, index: Int, placement: String) -> String {
        let axisIndex = axis == "row" ? "data-row" : "data-col"
        let special = self.special ? " data-special=\"true\"" : ""
        let mark = wordStart ? "<tspan class=\"ws\">·</tspan>" : ""
        return "<text class=\"\(labelClass)\" data-axis=\"\(axis)\" \(axisIndex)=\"\(index)\" "
            + "data-piece=\"\(escapeHTML(piece))\"\(special) \(placement) dominant-baseline=\"central\">"
            + "\(mark)\(escapeHTML(text))</text>"
    }
}

/// Where the heatmap's parts go. Cells shrink as pieces grow in number, so that a sentence of up
/// to 40 pieces fits in 560 px, but not below 14 px, where the labels (10 px) stop being readable;
/// labels get the room their text needs. The page's script computes the same numbers (function layout).
struct HeatmapLayout {
    /// Column labels are rotated so that long pieces do not overlap their neighbours.
    static let columnLabelAngle = 60.0

    let cell: Double
    /// A white line between cells, so neighbours of the same colour still read as cells.
    let cellGap = 1.0
    let fontSize: Double
    /// Where the grid starts: the room left of it for row labels, above it for column labels.
    let left: Double
    let top: Double
    let width: Double
    let height: Double

    init(rows: [PieceLabel], columns: [PieceLabel]) {
        let longest = max(rows.count, columns.count, 1)
        let cell = min(32, max(14, (560 / Double(longest)).rounded(.down)))
        let fontSize = min(13, max(8, (cell * 0.72).rounded(.down)))
        let angle = Self.columnLabelAngle * .pi / 180
        let rowWidth = rows.map { $0.estimatedWidth(fontSize: fontSize) }.max() ?? 0
        let columnWidths = columns.map { $0.estimatedWidth(fontSize: fontSize) }
        let left = max(40, (rowWidth + 14).rounded(.up))
        // A rotated label leans right, past the grid for the last columns.
        var right = left + Double(columns.count) * cell
        for (j, width) in columnWidths.enumerated() {
            right = max(right, left + (Double(j) + 0.5) * cell + width * cos(angle) + fontSize)
        }
        (self.cell, self.fontSize, self.left) = (cell, fontSize, left)
        top = max(30, ((columnWidths.max() ?? 0) * sin(angle) + 16).rounded(.up))
        width = (right + 8).rounded(.up)
        height = top + Double(rows.count) * cell + 8
    }

    func rowLabelAnchor(_ i: Int) -> (x: Double, y: Double) {
        (left - 6, top + (Double(i) + 0.5) * cell)
    }

    func columnLabelAnchor(_ j: Int) -> (x: Double, y: Double) {
        (left + (Double(j) + 0.5) * cell, top - 6)
    }
}

/// Viridis (matplotlib's default): perceptually even, readable in grey and by colour-blind
/// readers, and never white, so an empty cell still shows as a cell. The script has the same stops.
enum Colormap {
    static let stops = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c",
                        "#28ae80", "#5ec962", "#addc30", "#fde725"]

    static func colour(_ value: Float) -> String {
        let t = Double(value.isFinite ? min(max(value, 0), 1) : 0) * Double(stops.count - 1)
        let i = min(Int(t), stops.count - 2)
        let f = t - Double(i)
        let (a, b) = (rgb(stops[i]), rgb(stops[i + 1]))
        let mixed = (0..<3).map { (c: Int) -> Int in
            let (from, to) = (Double(a[c]), Double(b[c]))
            return Int((from + (to - from) * f).rounded())
        }
        return "#" + mixed.map { String(format: "%02x", $0) }.joined()
    }

    private static func rgb(_ hex: String) -> [Int] {
        let digits = Array(hex.dropFirst())
        return stride(from: 0, to: 6, by: 2).map { Int(String(digits[$0...$0 + 1]), radix: 16)! }
    }
}

/// Text for HTML and SVG, in element content and in quoted attributes.
func escapeHTML(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&#39;"
        default: escaped.append(character)
        }
    }
    return escaped
}

/// A coordinate for SVG: whole numbers without ".0", others with one decimal.
private func number(_ value: Double) -> String {
    let tenths = (value * 10).rounded() / 10
    return tenths == tenths.rounded() ? String(Int(tenths)) : String(format: "%.1f", tenths)
}

extension AttentionMap {
    static let style = """

        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 24px 28px;
               color: #1f2328; background: #fff; }
        h1 { font-size: 13px; font-weight: 600; letter-spacing: .06em; text-transform: uppercase; color: #57606a;
             margin: 0 0 2px; }
        .line { font-size: 18px; margin: 0 0 14px; overflow-wrap: anywhere; }
        .controls { display: flex; flex-wrap: wrap; gap: 10px 22px; align-items: center; margin-bottom: 6px; }
        .controls label, .sentences label { color: #57606a; }
        .sentences { margin: 0 0 10px; }
        select { font: inherit; color: #1f2328; padding: 3px 6px; margin-left: 4px; border: 1px solid #d0d7de;
                 border-radius: 6px; background: #fff; max-width: 36em; }
        .tabs { display: inline-flex; border: 1px solid #d0d7de; border-radius: 6px; overflow: hidden; }
        .tab { font: inherit; border: 0; border-right: 1px solid #d0d7de; background: #f6f8fa; color: #1f2328;
               padding: 5px 12px; cursor: pointer; }
        .tab:last-child { border-right: 0; }
        .tab[aria-selected="true"] { background: #0969da; color: #fff; }
        #caption { color: #57606a; margin: 6px 0 14px; max-width: 60em; }
        figure { margin: 0; display: flex; flex-wrap: wrap; gap: 16px 36px; align-items: flex-start; }
        #heatmap { display: block; overflow: visible; }
        #heatmap text { fill: #1f2328; cursor: default; }
        #heatmap [data-special] { fill: #8c959f; font-style: italic; }
        #heatmap .ws, .note .ws { fill: #bf3989; color: #bf3989; font-weight: 700; }
        #heatmap [data-active] { fill: #0969da; font-weight: 700; }
        #heatmap [data-attended] { fill: #cf222e; font-weight: 700; }
        #heatmap .cell { transition: opacity .08s; }
        #legend text { fill: #57606a; }
        .side { width: 240px; margin: 0; position: sticky; top: 12px; }
        #readout { margin: 10px 0 0; min-height: 4.5em; }
        #readout b { color: #0969da; }
        .note { color: #57606a; font-size: 13px; margin-top: 18px; }
        .special { color: #8c959f; font-style: italic; }

        """
}

extension AttentionMap {
    /// Draws a view from the embedded numbers and keeps the selectors, the tabs, the hover
    /// highlight and the URL fragment in step with it. Builds the SVG with DOM calls (no innerHTML),
    /// so pieces are never parsed as markup.
    static let script = #"""

        (() => {
        'use strict';
        const data = JSON.parse(document.getElementById('attention-data').textContent);
        const svg = document.getElementById('heatmap');
        // Taken from the static SVG so that the page holds no URL at all, not even the namespace's.
        const SVG_NS = svg.namespaceURI;
        const $ = id => document.getElementById(id);
        // Viridis, as Colormap in AttentionMap.swift.
        const STOPS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725']
          .map(h => [1, 3, 5].map(k => parseInt(h.slice(k, k + 2), 16)));
        const ANGLE = 60;
        const TABS = {
          cross: {
            matrices: s => s.cross, rows: s => s.target, columns: s => s.source,
            rowClass: 'target-label', columnClass: 'source-label',
            caption: 'Cross-attention. Rows: target pieces in the order generated (row i is the step that generated piece i). Columns: source pieces.'
          },
          encoder: {
            matrices: s => s.encoder, rows: s => s.source, columns: s => s.source,
            rowClass: 'source-label', columnClass: 'source-label',
            caption: 'Encoder self-attention. Rows and columns: source pieces; each source piece attends to the whole source.'
          },
          decoder: {
            matrices: s => s.decoder, rows: s => s.target, columns: s => ['<s>'].concat(s.target),
            rowClass: 'target-label', columnClass: 'target-label',
            caption: 'Decoder self-attention. Rows: target pieces. Columns: decoder inputs, the start token <s> then the pieces generated before; a step sees only the inputs up to its own.'
          }
        };
        const state = { sentence: 0, tab: 'cross', layer: null, head: 'mean', row: null };
        let view = null;  // what is drawn: values, labels, elements

        function colour(v) {
          const t = (Number.isFinite(v) ? Math.min(Math.max(v, 0), 1) : 0) * (STOPS.length - 1);
          const i = Math.min(Math.floor(t), STOPS.length - 2), f = t - i;
          return '#' + [0, 1, 2].map(c => Math.round(STOPS[i][c] + (STOPS[i + 1][c] - STOPS[i][c]) * f)
            .toString(16).padStart(2, '0')).join('');
        }

        // As PieceLabel in AttentionMap.swift: "▁" marks a word start, <...> pieces are special.
        function pieceLabel(piece) {
          const wordStart = piece.startsWith('\u2581');
          const text = (wordStart ? piece.slice(1) : piece).split('\u2581').join('\u00b7');
          const special = [...piece].length >= 3 && piece.startsWith('<') && piece.endsWith('>');
          return { piece, wordStart, text, special };
        }

        function estimatedWidth(label, fontSize) {
          let ems = label.wordStart ? 0.45 : 0;
          for (const ch of label.text) ems += ch.codePointAt(0) >= 0x2E80 ? 1 : 0.62;
          return ems * fontSize;
        }

        // As HeatmapLayout in AttentionMap.swift.
        function layout(rows, columns) {
          const cell = Math.min(32, Math.max(14, Math.floor(560 / Math.max(rows.length, columns.length, 1))));
          const fontSize = Math.min(13, Math.max(8, Math.floor(cell * 0.72)));
          const a = ANGLE * Math.PI / 180;
          const rowWidth = Math.max(0, ...rows.map(l => estimatedWidth(l, fontSize)));
          const columnWidths = columns.map(l => estimatedWidth(l, fontSize));
          const left = Math.max(40, Math.ceil(rowWidth + 14));
          const top = Math.max(30, Math.ceil(Math.max(0, ...columnWidths) * Math.sin(a) + 16));
          let right = left + columns.length * cell;
          columnWidths.forEach((w, j) => { right = Math.max(right, left + (j + 0.5) * cell + w * Math.cos(a) + fontSize); });
          return { cell, gap: 1, fontSize, left, top,
                   width: Math.ceil(right + 8), height: top + rows.length * cell + 8 };
        }

        function labels(pieces, count) {
          return Array.from({ length: count }, (_, j) => j < pieces.length ? pieces[j] : '#' + j);
        }

        // [rows][columns] of one head, or of the mean of the heads.
        function matrix(m, layer, head) {
          const at = (h, i, j) => m.values[((layer * m.heads + h) * m.rows + i) * m.columns + j];
          const heads = head === 'mean' ? [...Array(m.heads).keys()] : [head];
          return Array.from({ length: m.rows }, (_, i) => Array.from({ length: m.columns }, (_, j) =>
            heads.reduce((sum, h) => sum + at(h, i, j), 0) / heads.length));
        }

        function element(name, attributes, parent) {
          const e = document.createElementNS(SVG_NS, name);
          for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
          if (parent) parent.appendChild(e);
          return e;
        }

        const fixed = x => String(Math.round(x * 10) / 10);

        function labelElement(label, cls, axis, index, parent, placement) {
          const t = element('text', Object.assign({ class: cls, 'data-axis': axis,
            [axis === 'row' ? 'data-row' : 'data-col']: index, 'data-piece': label.piece,
            'dominant-baseline': 'central' }, placement), parent);
          if (label.special) t.setAttribute('data-special', 'true');
          if (label.wordStart) element('tspan', { class: 'ws' }, t).textContent = '\u00b7';
          t.appendChild(document.createTextNode(label.text));
          return t;
        }

        function options(select, items, selected) {
          select.replaceChildren(...items.map(([value, text]) => {
            const o = document.createElement('option');
            o.value = value; o.textContent = text; o.selected = String(value) === String(selected);
            return o;
          }));
        }

        function render() {
          const sentence = data.sentences[state.sentence];
          const tab = TABS[state.tab];
          const m = tab.matrices(sentence);
          if (state.layer === null || state.layer >= m.layers) state.layer = m.layers - 1;
          if (state.head !== 'mean' && state.head >= m.heads) state.head = 'mean';
          options($('layer'), [...Array(m.layers).keys()].map(l => [l, (l + 1) + (l === m.layers - 1 ? ' (last)' : '')]), state.layer);
          options($('head'), [['mean', 'mean of heads']].concat([...Array(m.heads).keys()].map(h => [h, String(h + 1)])), state.head);
          document.querySelectorAll('.tab').forEach(b => b.setAttribute('aria-selected', String(b.dataset.tab === state.tab)));
          $('caption').textContent = tab.caption;

          const rows = labels(tab.rows(sentence), m.rows).map(pieceLabel);
          const columns = labels(tab.columns(sentence), m.columns).map(pieceLabel);
          const values = m.layers > 0 && m.heads > 0 ? matrix(m, state.layer, state.head) : [];
          const L = layout(rows, columns);
          svg.replaceChildren();
          for (const [k, v] of Object.entries({ width: L.width, height: L.height, viewBox: `0 0 ${L.width} ${L.height}`,
            'font-size': L.fontSize, 'data-tab': state.tab, 'data-layer': state.layer, 'data-head': state.head,
            'data-rows': m.rows, 'data-columns': m.columns, 'data-rendered': 'js' })) svg.setAttribute(k, v);

          const cellGroup = element('g', { class: 'cells' }, svg);
          const cells = values.map((row, i) => row.map((v, j) => {
            const r = element('rect', { class: 'cell', 'data-row': i, 'data-col': j, x: fixed(L.left + j * L.cell),
              y: fixed(L.top + i * L.cell), width: L.cell - L.gap, height: L.cell - L.gap, fill: colour(v) }, cellGroup);
            element('title', {}, r).textContent = `${rows[i].piece} \u2192 ${columns[j].piece}: ${v.toFixed(4)}`;
            return r;
          }));
          const rowGroup = element('g', { class: 'row-labels' }, svg);
          const rowLabels = rows.map((l, i) => labelElement(l, tab.rowClass, 'row', i, rowGroup,
            { x: fixed(L.left - 6), y: fixed(L.top + (i + 0.5) * L.cell), 'text-anchor': 'end' }));
          const columnGroup = element('g', { class: 'column-labels' }, svg);
          const columnLabels = columns.map((l, j) => labelElement(l, tab.columnClass, 'column', j, columnGroup,
            { transform: `translate(${fixed(L.left + (j + 0.5) * L.cell)},${fixed(L.top - 6)}) rotate(${-ANGLE})` }));
          view = { values, rows, columns, cells, rowLabels, columnLabels };

          // Where the grid is on the page, for checks that look at a screenshot.
          const box = svg.getBoundingClientRect();
          svg.setAttribute('data-grid-box', [box.left + scrollX + L.left, box.top + scrollY + L.top,
            columns.length * L.cell, rows.length * L.cell].map(Math.round).join(','));
          if (state.row !== null && state.row < rows.length) highlight(state.row); else clearHighlight();
          saveFragment();
        }

        // Emphasise row i and the columns it attended to: the others fade, the strong ones turn bold.
        function highlight(i) {
          state.row = i;
          const weights = view.values[i] || [];
          const top = Math.max(...weights, 1e-9);
          view.cells.forEach((row, r) => row.forEach(c => { c.style.opacity = r === i ? '1' : '0.4'; }));
          view.rowLabels.forEach((t, r) => r === i ? t.setAttribute('data-active', 'true') : t.removeAttribute('data-active'));
          view.columnLabels.forEach((t, j) => {
            const w = weights[j] || 0;
            t.style.opacity = String(0.3 + 0.7 * w / top);
            if (w >= 0.5 * top && w >= 0.05) t.setAttribute('data-attended', 'true'); else t.removeAttribute('data-attended');
          });
          const strongest = weights.map((w, j) => [w, j]).sort((a, b) => b[0] - a[0]).slice(0, 3);
          const readout = $('readout');
          readout.replaceChildren();
          const name = document.createElement('b');
          const shown = label => (label.wordStart ? '\u00b7' : '') + label.text;
          name.textContent = shown(view.rows[i]);
          readout.append(`Row ${i + 1} `, name, ' attended to:');
          for (const [w, j] of strongest) {
            readout.append(document.createElement('br'), `${shown(view.columns[j])}  ${w.toFixed(3)}`);
          }
        }

        function clearHighlight() {
          state.row = null;
          if (!view) return;
          view.cells.forEach(row => row.forEach(c => { c.style.opacity = ''; }));
          view.rowLabels.forEach(t => t.removeAttribute('data-active'));
          view.columnLabels.forEach(t => { t.style.opacity = ''; t.removeAttribute('data-attended'); });
          $('readout').textContent = 'Hover a row to see what its piece attended to.';
        }

        // The view lives in the URL fragment, so a view can be linked to and opened directly.
        function loadFragment() {
          const p = new URLSearchParams(location.hash.slice(1));
          const index = (key, limit) => {
            const n = Number.parseInt(p.get(key), 10);
            return Number.isInteger(n) && n >= 0 && n < limit ? n : null;
          };
          state.sentence = index('sentence', data.sentences.length) ?? 0;
          if (TABS[p.get('tab')]) state.tab = p.get('tab');
          state.layer = index('layer', 1e6);
          state.head = index('head', 1e6) ?? 'mean';
          state.row = index('row', 1e6);
          if ($('sentence')) $('sentence').value = String(state.sentence);
        }

        function saveFragment() {
          const p = new URLSearchParams({ sentence: state.sentence, tab: state.tab, layer: state.layer, head: state.head });
          if (state.row !== null) p.set('row', state.row);
          try { history.replaceState(null, '', '#' + p); } catch (e) { /* some file:// pages refuse it */ }
        }

        if (data.sentences.length === 0) { svg.setAttribute('data-rendered', 'js'); return; }
        loadFragment();
        render();
        $('layer').addEventListener('change', e => { state.layer = Number(e.target.value); render(); });
        $('head').addEventListener('change', e => { state.head = e.target.value === 'mean' ? 'mean' : Number(e.target.value); render(); });
        document.querySelectorAll('.tab').forEach(b => b.addEventListener('click', () => { state.tab = b.dataset.tab; state.row = null; render(); }));
        if ($('sentence')) $('sentence').addEventListener('change', e => { state.sentence = Number(e.target.value); state.row = null; render(); });
        svg.addEventListener('mouseover', e => {
          const target = e.target.closest('[data-row]');
          if (target) highlight(Number(target.getAttribute('data-row')));
        });
        svg.addEventListener('mouseleave', () => { clearHighlight(); saveFragment(); });
        })();

        """#
}
