import NMT

/// A loaded model and the language pair it serves.
public struct ServedModel: Sendable {
    public let translator: Translator
    /// ISO 639 code of the source language.
    public let source: String
    /// ISO 639 code of the target language.
    public let target: String
    /// Where it was loaded from (for messages).
    public let path: String

    public init(translator: Translator, source: String, target: String, path: String) {
        self.translator = translator
        self.source = source
        self.target = target
        self.path = path
    }

    /// Loads a model file. Its language codes come from `languages` when given, else from the
    /// file's header (`source_language`, `target_language`); a file without them and no override
    /// is refused, since the server could not route requests to it.
    /// threads and workers: as `Translator`'s (the lines of one server batch are shared out to the
    /// workers).
    public static func load(path: String, languages: (source: String, target: String)? = nil, threads: Int? = nil,
                            workers: Int? = nil, computeType: ComputeType = .auto) throws(ServerSetupError) -> ServedModel {
        let translator: Translator
        do {
            translator = try Translator(modelPath: path, threads: threads, workers: workers, computeType: computeType)
        } catch {
            throw .model(path: path, error)
        }
        let config = translator.model.config
        if let languages {
            for code in [languages.source, languages.target] where !ModelConfig.isLanguageCode(code) {
                throw .invalidLanguages("'\(code)' is not an ISO 639 language code such as en")
            }
            return ServedModel(translator: translator, source: languages.source, target: languages.target, path: path)
        }
        guard let source = config.sourceLanguage, let target = config.targetLanguage else {
            throw .missingLanguages(path: path)
        }
        return ServedModel(translator: translator, source: source, target: target, path: path)
    }
}

/// Why the server cannot start.
public enum ServerSetupError: Error, CustomStringConvertible, Sendable {
    case model(path: String, TranslatorError)
    case missingLanguages(path: String)
    case invalidLanguages(String)
    case duplicatePair(source: String, target: String)
    case apiKeys(path: String, String)

    public var description: String {
        switch self {
        case .model(let path, let error): "\(path): \(error)"
        case .missingLanguages(let path):
            "\(path) does not record its languages (source_language / target_language, docs/FORMAT.md): " +
                "give them with --languages SOURCE:TARGET (e.g. --languages en:de), or record them with " +
                "tools/nmt_format.py \(path) --source-language en --target-language de"
        case .invalidLanguages(let why): why
        case .duplicatePair(let source, let target): "two models translate \(source) → \(target); give one model per pair"
        case .apiKeys(let path, let why): "cannot read API keys from \(path): \(why)"
        }
    }
}
