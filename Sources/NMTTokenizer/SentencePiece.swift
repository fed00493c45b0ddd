import CSentencePiece
import Foundation

public enum TokenizerError: Error, Equatable, CustomStringConvertible, Sendable {
    case cannotLoad(String)
    case encodingFailed(String)
    case decodingFailed(String)

    public var description: String {
        switch self {
        case .cannotLoad(let why): return "cannot load SentencePiece model: \(why)"
        case .encodingFailed(let why): return "SentencePiece encoding failed: \(why)"
        case .decodingFailed(let why): return "SentencePiece decoding failed: \(why)"
        }
    }
}

/// A SentencePiece model from the system library. It splits text into pieces and joins pieces
/// back into text; mapping pieces to model ids is the `Vocabulary`'s job, because a model's ids
/// need not be SentencePiece's own.
public final class SentencePiece: @unchecked Sendable {
    // The C++ processor is immutable after loading and its Encode/Decode are const, so one
    // instance serves concurrent callers.
    private let processor: OpaquePointer

    public init(bytes: [UInt8]) throws(TokenizerError) {
        var error: UnsafeMutablePointer<CChar>?
        let loaded = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { spm_load($0.baseAddress, $0.count, &error) }
        }
        guard let loaded else { throw .cannotLoad(Self.take(error) ?? "unknown error") }
        processor = loaded
    }

    /// Loads a SentencePiece model file (`.model` / `.spm`).
    public convenience init(path: String) throws(TokenizerError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .cannotLoad("cannot read '\(path)'")
        }
        try self.init(bytes: [UInt8](data))
    }

    deinit { spm_free(processor) }

    public var pieceCount: Int { Int(spm_piece_count(processor)) }

    public func encode(_ text: String) throws(TokenizerError) -> [String] {
        var text = text
        var buffer: UnsafeMutablePointer<CChar>?
        var count = 0, size = 0
        var error: UnsafeMutablePointer<CChar>?
        let status = text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { spm_encode(processor, $0.baseAddress, $0.count, &buffer, &count, &size, &error) }
        }
        guard status == 0, let buffer else { throw .encodingFailed(Self.take(error) ?? "unknown error") }
        defer { spm_free_string(buffer) }
        var pieces: [String] = []
        pieces.reserveCapacity(count)
        var cursor = buffer
        for _ in 0..<count {
            let piece = String(cString: cursor)
            pieces.append(piece)
            cursor += strlen(cursor) + 1
        }
        return pieces
    }

    public func decode(_ pieces: [String]) throws(TokenizerError) -> String {
        var cStrings = pieces.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var text: UnsafeMutablePointer<CChar>?
        var error: UnsafeMutablePointer<CChar>?
        let status = cStrings.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) {
                spm_decode(processor, $0.baseAddress, $0.count, &text, &error)
            }
        }
        guard status == 0, let text else { throw .decodingFailed(Self.take(error) ?? "unknown error") }
        defer { spm_free_string(text) }
        return String(cString: text)
    }

    private static func take(_ message: UnsafeMutablePointer<CChar>?) -> String? {
        guard let message else { return nil }
        defer { spm_free_string(message) }
        return String(cString: message)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
