#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a stream line by line in fixed-size chunks, so memory stays flat however long the input.
/// Lines end at "\n"; a "\r" before it is dropped (CRLF input); a last line without newline counts.
/// Invalid UTF-8 is replaced by U+FFFD and reported through `invalidUTF8`.
struct LineReader {
    struct Line {
        var text: String
        var invalidUTF8: Bool
    }

    private let file: UnsafeMutablePointer<FILE>
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private let chunkSize = 1 << 16
    /// Bytes of the stream that the lines returned so far took, line ends included.
    private(set) var bytesConsumed = 0

    init(file: UnsafeMutablePointer<FILE>) {
        self.file = file
    }

    mutating func next() -> Line? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                defer {
                    bytesConsumed += newline + 1 - start
                    start = newline + 1
                }
                return Self.line(buffer[start..<newline])
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                defer {
                    bytesConsumed += buffer.count - start
                    start = buffer.count
                }
                return Self.line(buffer[start...])
            }
            buffer.removeFirst(start)
            start = 0
            var chunk = [UInt8](repeating: 0, count: chunkSize)
            let read = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, chunkSize, file) }
            if read < chunkSize { atEnd = true }
            buffer.append(contentsOf: chunk[0..<read])
        }
    }

    private static func line(_ bytes: ArraySlice<UInt8>) -> Line {
        var bytes = bytes
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if let text = String(validating: bytes, as: UTF8.self) {
            return Line(text: text, invalidUTF8: false)
        }
        return Line(text: String(decoding: bytes, as: UTF8.self), invalidUTF8: true)
    }
}
