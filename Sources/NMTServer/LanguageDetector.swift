import NMT

/// `POST /detect`: which of the loaded models' source languages a text is in. This is not a
/// general language identifier: it can only answer with a language the server translates from.
/// Each candidate's SentencePiece model segments the text; the score is the share of the text's
/// characters that fall in pieces its vocabulary knows (not `<unk>`), with fewer, longer pieces
/// breaking ties (a vocabulary trained on a language cuts it into longer pieces). With a single
/// source language the answer is always that language, and the confidence says only how well
/// its vocabulary covers the text. A vocabulary shared by source and target (as in tiny.bin)
/// covers both languages, so it cannot tell them apart.
struct LanguageDetector: Sendable {
    struct Guess: Sendable, Equatable, Encodable {
        var confidence: Double
        var language: String
    }

    /// One translator per source language (the first model loaded for it).
    let candidates: [(language: String, translator: Translator)]

    init(models: [ServedModel]) {
        var seen: Set<String> = []
        candidates = models.compactMap { m in seen.insert(m.source).inserted ? (m.source, m.translator) : nil }
    }

    /// Best first; confidences in 0…100.
    func detect(_ text: String) -> [Guess] {
        let characters = text.unicodeScalars.filter { !$0.properties.isWhitespace }.count
        guard characters > 0, !candidates.isEmpty else {
            return candidates.prefix(1).map { Guess(confidence: 0, language: $0.language) }
        }
        let scored = candidates.map { candidate -> (Guess, Double) in
            let tokenizer = candidate.translator.tokenizer
            let unk = Int32(candidate.translator.model.config.unkID), eos = tokenizer.eosID
            let ids = ((try? tokenizer.encode(text)) ?? []).filter { $0 != eos }
            guard !ids.isEmpty else { return (Guess(confidence: 0, language: candidate.language), 0) }
            let unknown = ids.filter { $0 == unk }.count
            // An <unk> piece stands for at least one character the vocabulary lacks.
            let covered = max(0, Double(characters - unknown)) / Double(characters)
            let piecesPerCharacter = Double(ids.count) / Double(characters)
            let confidence = (covered * 100 * 10).rounded() / 10
            return (Guess(confidence: confidence, language: candidate.language), covered - 0.01 * piecesPerCharacter)
        }
        return scored.sorted { $0.1 > $1.1 }.map(\.0)
    }
}

/// English names of languages by ISO 639-1 code, for `GET /languages` (the code itself for others).
enum LanguageNames {
    static func name(_ code: String) -> String {
        names[code.lowercased()] ?? names[String(code.lowercased().prefix { $0 != "-" })] ?? code
    }

    private static let names: [String: String] = [
        "af": "Afrikaans", "ar": "Arabic", "az": "Azerbaijani", "be": "Belarusian", "bg": "Bulgarian", "bn": "Bengali",
        "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German", "el": "Greek", "en": "English",
        "eo": "Esperanto", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish",
        "fr": "French", "ga": "Irish", "gl": "Galician", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian",
        "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese",
        "ka": "Georgian", "kk": "Kazakh", "ko": "Korean", "la": "Latin", "lt": "Lithuanian", "lv": "Latvian",
        "mg": "Malagasy", "mk": "Macedonian", "ms": "Malay", "mt": "Maltese", "nb": "Norwegian Bokmål", "nl": "Dutch",
        "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak",
        "sl": "Slovenian", "sq": "Albanian", "sr": "Serbian", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil",
        "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek",
        "vi": "Vietnamese", "zh": "Chinese", "zt": "Chinese (traditional)",
    ]
}
