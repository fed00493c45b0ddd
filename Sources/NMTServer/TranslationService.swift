import NMT

/// What the HTTP routes call: LibreTranslate's operations over the loaded models, independent of
/// HTTP. Routes requests by source and target language, splits texts into lines (and HTML into
/// text nodes), sends every line of a request to the batcher at once and assembles the answer.
public struct TranslationService: Sendable {
    public let models: [ServedModel]
    public let batcher: TranslationBatcher
    let detector: LanguageDetector
    public let limits: ServerLimits
    public let apiKeys: APIKeys?
    /// Beam size: a request gets at most beamSize - 1 alternatives.
    public let beamSize: Int

    public init(models: [ServedModel], batcher: TranslationBatcher, limits: ServerLimits, apiKeys: APIKeys?,
                beamSize: Int) throws(ServerSetupError) {
        var pairs: Set<String> = []
        for m in models where !pairs.insert(m.source + "\u{0}" + m.target).inserted {
            throw .duplicatePair(source: m.source, target: m.target)
        }
        self.models = models
        self.batcher = batcher
        self.detector = LanguageDetector(models: models)
        self.limits = limits
        self.apiKeys = apiKeys
        self.beamSize = beamSize
    }

    // MARK: /languages

    struct Language: Encodable, Equatable {
        var code: String
        var name: String
        var targets: [String]
    }

    /// Every language the server translates from or into, with the languages it translates it into.
    func languages() -> [Language] {
        var codes: [String] = []
        for m in models {
            for code in [m.source, m.target] where !codes.contains(code) { codes.append(code) }
        }
        return codes.map { code in
            Language(code: code, name: LanguageNames.name(code), targets: models.filter { $0.source == code }.map(\.target))
        }
    }

    // MARK: /detect

    func detect(_ request: DetectRequest) -> [LanguageDetector.Guess] {
        detector.detect(request.text)
    }

    // MARK: /translate

    /// The answer to `POST /translate`, as LibreTranslate gives it.
    struct TranslateResponse: Encodable {
        /// A value for a string `q`, an array of them for an array `q`.
        enum OneOrMany<Element: Encodable>: Encodable {
            case one(Element), many([Element])
            init(_ values: [Element], isArray: Bool) { self = isArray ? .many(values) : .one(values[0]) }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.singleValueContainer()
                switch self {
                case .one(let s): try c.encode(s)
                case .many(let a): try c.encode(a)
                }
            }
        }
        var translatedText: OneOrMany<String>
        /// Present when the request asked for alternatives.
        var alternatives: OneOrMany<[String]>?
        /// Present when the source was `auto`.
        var detectedLanguage: OneOrMany<LanguageDetector.Guess>?
        /// Present when the request asked for attention: per text, its sentences in order.
        var attention: OneOrMany<[Sentence]>?

        /// One sentence's cross-attention between words (`WordAttention`), rounded to 0.001, and
        /// where the sentence is in its text.
        struct Sentence: Encodable, Equatable {
            /// The line of the text (0-based) the sentence is in.
            var line: Int
            /// The sentence's UTF-16 offsets in the whole text (a JavaScript string's indices).
            var start: Int, end: Int
            var source: [String]
            var target: [String]
            /// [target word][source word]
            var weights: [[Float]]

            init(_ words: WordAttention, line: Int, range: Range<Int>) {
                self.line = line
                start = range.lowerBound
                end = range.upperBound
                source = words.sourceWords
                target = words.targetWords
                weights = words.weights.map { $0.map { ($0 * 1000).rounded() / 1000 } }
            }
        }
    }

    /// The model for a source and target; `auto` picks the source by detection among the sources
    /// that have a model into `target`.
    func route(source: String, target: String, text: String) throws(APIError) -> (model: Int, detected: LanguageDetector.Guess?) {
        let source = source.lowercased(), target = target.lowercased()
        guard models.contains(where: { $0.target == target }) else {
            throw .badRequest("\(target) is not supported as a target language")
        }
        if source == "auto" {
            let candidates = Set(models.filter { $0.target == target }.map(\.source))
            guard let best = detector.detect(text).first(where: { candidates.contains($0.language) }) else {
                throw .badRequest("Could not detect a source language that translates into \(target)")
            }
            return (models.firstIndex { $0.source == best.language && $0.target == target }!, best)
        }
        guard models.contains(where: { $0.source == source }) else {
            throw .badRequest("\(source) is not supported as a source language")
        }
        guard let index = models.firstIndex(where: { $0.source == source && $0.target == target }) else {
            throw .badRequest("\(source) → \(target) is not available: this server translates " +
                              models.map { "\($0.source) → \($0.target)" }.joined(separator: ", "))
        }
        return (index, nil)
    }

    func translate(_ request: TranslateRequest) async throws(APIError) -> TranslateResponse {
        let routed = try route(source: request.source, target: request.target, text: request.texts.joined(separator: "\n"))
        // Each text as the units translated: itself, or its HTML text nodes; each unit as lines.
        let html = request.format == .html ? request.texts.map(HTMLText.init) : nil
        let units: [[String]] = html.map { $0.map(\.texts) } ?? request.texts.map { [$0] }
        var lines: [String] = []
        var lineBreaks: [[[(line: Int, carriageReturn: Bool)]]] = []  // per text, per unit, its lines
        for textUnits in units {
            lineBreaks.append(textUnits.map { unit in
                // By scalars: as Characters, "\r\n" is one grapheme and never equals "\n".
                unit.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { raw in
                    let cr = raw.last == "\r"
                    lines.append(String(cr ? raw.dropLast() : raw))
                    return (lines.count - 1, cr)
                }
            })
        }
        let nBest = request.format == .html ? 1 : min(request.alternatives + 1, beamSize)
        let results = try await batcher.translate(lines, model: routed.model, nBest: nBest, attention: request.attention)

        /// Hypothesis k of a unit: hypothesis k of each of its lines (a line's last when it has fewer).
        func unitText(_ unitLines: [(line: Int, carriageReturn: Bool)], _ k: Int) -> String {
            unitLines.map { l in
                let h = results[l.line].hypotheses
                return (h.isEmpty ? "" : h[min(k, h.count - 1)].text) + (l.carriageReturn ? "\r" : "")
            }.joined(separator: "\n")
        }
        var best: [String] = [], alternatives: [[String]] = []
        for (t, textLines) in lineBreaks.enumerated() {
            if let html {
                best.append(html[t].assemble(textLines.map { unitText($0, 0) }))
                alternatives.append([])
            } else {
                let unitLines = textLines[0]
                best.append(unitText(unitLines, 0))
                let available = unitLines.map { results[$0.line].hypotheses.count }.max() ?? 0
                alternatives.append((1..<max(1, min(available, request.alternatives + 1))).map { unitText(unitLines, $0) })
            }
        }
        var response = TranslateResponse(translatedText: .init(best, isArray: request.isArray))
        if request.alternatives > 0 {
            response.alternatives = .init(alternatives, isArray: request.isArray)
        }
        if request.attention {
            let sentences = lineBreaks.map { textLines in
                var lineStart = 0  // UTF-16 offset of the line in its text
                return textLines[0].enumerated().flatMap { index, l in
                    defer { lineStart += lines[l.line].utf16.count + (l.carriageReturn ? 1 : 0) + 1 }
                    return results[l.line].segments.compactMap { segment in
                        WordAttention(segment).map {
                            TranslateResponse.Sentence($0, line: index, range: (lineStart + segment.utf16Range.lowerBound)..<(lineStart + segment.utf16Range.upperBound))
                        }
                    }
                }
            }
            response.attention = .init(sentences, isArray: request.isArray)
        }
        if let detected = routed.detected {
            response.detectedLanguage = .init(Array(repeating: detected, count: best.count), isArray: request.isArray)
        }
        return response
    }
}
