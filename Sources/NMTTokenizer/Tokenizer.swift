import NMTFormat

/// Text ↔ model ids for one translation direction, the way MarianTokenizer does it:
/// a leading target-language token such as `>>fra<<` is kept whole, the rest is split by the
/// source SentencePiece model, pieces map to ids through the model's vocabulary (unknown → unk),
/// and `</s>` ends the source. Decoding drops special tokens and joins pieces with the target model.
public struct Tokenizer: Sendable {
    public let source: SentencePiece
    public let target: SentencePiece
    public let sourceVocabulary: Vocabulary
    public let targetVocabulary: Vocabulary
    public let eosID: Int32
    public let padID: Int32

    public init(modelFile: ModelFile) throws(ModelFileError) {
        do {
            source = try SentencePiece(bytes: modelFile.sourceSentencePiece)
        } catch {
            throw .invalidTokenizer(name: "source.spm", problem: error.description)
        }
        if modelFile.targetSentencePiece == modelFile.sourceSentencePiece {
            target = source
        } else {
            do {
                target = try SentencePiece(bytes: modelFile.targetSentencePiece)
            } catch {
                throw .invalidTokenizer(name: "target.spm", problem: error.description)
            }
        }
        let config = modelFile.config
        sourceVocabulary = Vocabulary(pieces: modelFile.sourceVocabulary, unkID: config.unkID)
        targetVocabulary = Vocabulary(pieces: modelFile.targetVocabulary, unkID: config.unkID)
        eosID = Int32(config.eosID)
        padID = Int32(config.padID)
    }

    /// Source pieces of a line (without `</s>`).
    public func sourcePieces(_ text: String) throws(TokenizerError) -> [String] {
        var code: [String] = []
        var rest = Substring(text)
        if rest.hasPrefix(">>"), let end = rest.range(of: "<<") {
            code.append(String(rest[..<end.upperBound]))
            rest = rest[end.upperBound...]
        }
        return code + (try source.encode(String(rest)))
    }

    /// Source ids of a line, ending with `</s>`.
    public func encode(_ text: String) throws(TokenizerError) -> [Int32] {
        try sourcePieces(text).map(sourceVocabulary.id(of:)) + [eosID]
    }

    /// Target ids of a translation given as text, ending with `</s>` (for scoring a translation):
    /// split by the target SentencePiece model, as MarianTokenizer's `text_target` does.
    public func encodeTarget(_ text: String) throws(TokenizerError) -> [Int32] {
        try target.encode(text).map(targetVocabulary.id(of:)) + [eosID]
    }

    /// Target text of generated ids; `</s>`, `<pad>` and `<unk>` are dropped, as with
    /// `skip_special_tokens=True`.
    public func decode(_ ids: [Int32]) throws(TokenizerError) -> String {
        let pieces = ids.compactMap { id -> String? in
            id == eosID || id == padID || id == targetVocabulary.unkID ? nil : targetVocabulary.piece(of: id)
        }
        return try target.decode(pieces).replacingOccurrences(of: "\u{2581}", with: " ")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The target pieces of generated ids, for display.
    public func targetPieces(_ ids: [Int32]) -> [String] {
        ids.map { targetVocabulary.piece(of: $0) ?? "<\($0)>" }
    }

    /// The source pieces of ids (as `encode` gives them, `</s>` included).
    public func sourcePieces(ids: [Int32]) -> [String] {
        ids.map { sourceVocabulary.piece(of: $0) ?? "<\($0)>" }
    }
}

import Foundation
