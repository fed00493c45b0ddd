/// How `q` is to be read: plain text, or HTML whose text is translated and whose markup is kept.
public enum TextFormat: String, Sendable {
    case text, html
}

/// A `POST /translate` request, checked: LibreTranslate's fields (`q`, `source`, `target`, `format`,
/// `alternatives`, `api_key`) with their types and the server's limits, and this server's
/// `attention`.
struct TranslateRequest: Sendable {
    /// The texts to translate: `q` itself, or its members when it is an array.
    var texts: [String]
    /// `q` was an array, so the answer's `translatedText` is one too.
    var isArray: Bool
    /// A language code, or `auto`.
    var source: String
    var target: String
    var format: TextFormat
    /// Alternative translations asked for besides the best one (n-best minus one).
    var alternatives: Int
    /// Answer with each sentence's cross-attention between words (not in LibreTranslate's API;
    /// the web page shows it). Plain text only.
    var attention: Bool

    init(_ fields: RequestFields, limits: ServerLimits) throws(APIError) {
        switch fields["q"] {
        case nil:
            throw .badRequest("Invalid request: missing q parameter")
        case .string(let q)?:
            guard !q.isEmpty else { throw .badRequest("Invalid request: missing q parameter") }
            texts = [q]
            isArray = false
        case .strings(let q)?:
            guard !q.isEmpty else { throw .badRequest("Invalid request: q is an empty array") }
            guard q.count <= limits.batchLimit else {
                throw .badRequest("Invalid request: request (\(q.count)) exceeds text limit (\(limits.batchLimit))")
            }
            texts = q
            isArray = true
        case let other?:
            throw .badRequest("Invalid request: q must be a string or an array of strings, got \(other.typeName)")
        }
        let characters = texts.reduce(0) { $0 + $1.unicodeScalars.count }
        if let limit = limits.charLimit, characters > limit {
            throw .badRequest("Invalid request: request (\(characters)) exceeds character limit (\(limit))")
        }
        guard let source = try fields.string("source"), !source.isEmpty else {
            throw .badRequest("Invalid request: missing source parameter")
        }
        guard let target = try fields.string("target"), !target.isEmpty else {
            throw .badRequest("Invalid request: missing target parameter")
        }
        self.source = source
        self.target = target
        let format = try fields.string("format") ?? "text"
        guard let parsed = TextFormat(rawValue: format.isEmpty ? "text" : format) else {
            throw .badRequest("Invalid request: format must be text or html, got '\(format.prefix(40))'")
        }
        self.format = parsed
        let alternatives = try fields.integer("alternatives") ?? 0
        guard (0...limits.maxAlternatives).contains(alternatives) else {
            throw .badRequest("Invalid request: alternatives must be between 0 and \(limits.maxAlternatives), got \(alternatives)")
        }
        self.alternatives = alternatives
        attention = try fields.boolean("attention") ?? false
        if attention, parsed == .html {
            throw .badRequest("Invalid request: attention is available with format text only")
        }
    }
}

/// A `POST /detect` request: `q`, a string (an array's members are joined).
struct DetectRequest: Sendable {
    var text: String

    init(_ fields: RequestFields, limits: ServerLimits) throws(APIError) {
        switch fields["q"] {
        case nil: throw .badRequest("Invalid request: missing q parameter")
        case .string(let q)?: text = q
        case .strings(let q)?:
            guard !q.isEmpty, q.allSatisfy({ !$0.isEmpty }) else {
                throw .badRequest("Invalid request: q must not be empty nor hold an empty text")
            }
            text = q.joined(separator: "\n")
        case let other?: throw .badRequest("Invalid request: q must be a string, got \(other.typeName)")
        }
        guard !text.isEmpty else { throw .badRequest("Invalid request: missing q parameter") }
        let characters = text.unicodeScalars.count
        if let limit = limits.charLimit, characters > limit {
            throw .badRequest("Invalid request: request (\(characters)) exceeds character limit (\(limit))")
        }
    }
}
