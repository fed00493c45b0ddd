#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a stream line by line in fixed-size chunks, so memory stays flat however long the input.
/// Lines end at "\n"; a "\r" before it is dropped (CRLF input); a last line without newline counts.
/// Invalid UTF-8 is replaced by U+FFFD and reported through `invalidUTF8`.
///
/// Reads with read(2), which returns what a pipe holds rather than waiting for a full chunk, and
/// tells the caller when the input pauses (`whenInputStalls`: nothing has arrived for
/// `stallMilliseconds`): a translator fed line by line through a pipe or a terminal can then
/// write what it has instead of holding it until its read-ahead window fills. A regular file
/// never pauses, and a producer that is merely bursty (a pipe briefly empty) does not count.
struct LineReader {
    struct Line {
        var text: String
        var invalidUTF8: Bool
    }

    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    /// buffer[start..<scanned] holds no newline: a long line is searched once, not per chunk.
    private var scanned = 0
    private var atEnd = false
    private let chunkSize = 1 << 16
    /// Bytes of the stream that the lines returned so far took, line ends included.
    private(set) var bytesConsumed = 0
    /// errno of a failed read. The input ends there, and the incomplete line that was being read
    /// is not returned as if it were whole.
    private(set) var readError: Int32?
    /// How long the input must stay quiet before the caller is told it stalled.
    private let stallMilliseconds: Int32 = 20

    init(file: UnsafeMutablePointer<FILE>) {
        descriptor = fileno(file)
    }

    /// The next line, or nil at the end of the input (or at a read error, see `readError`).
    /// whenInputStalls: called before waiting for input that is not there yet.
    mutating func next(whenInputStalls stalled: () -> Void = {}) -> Line? {
        while true {
            if let newline = buffer[max(start, scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
                defer {
                    bytesConsumed += newline + 1 - start
                    start = newline + 1
                }
                return Self.line(buffer[start..<newline])
            }
            if atEnd {
                guard start < buffer.count, readError == nil else { return nil }
                defer {
                    bytesConsumed += buffer.count - start
                    start = buffer.count
                }
                return Self.line(buffer[start...])
            }
            buffer.removeFirst(start)
            start = 0
            scanned = buffer.count
            if !inputIsReady(waitingMilliseconds: stallMilliseconds) { stalled() }
            let kept = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: chunkSize))
            var got = 0
            while true {
                got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + kept, chunkSize) }
                guard got < 0 else { break }
                if errno == EINTR { continue }
                // A descriptor left non-blocking by whoever handed it over: wait, then read.
                if errno == EAGAIN || errno == EWOULDBLOCK, inputIsReady(waitingMilliseconds: -1) { continue }
                readError = errno
                break
            }
            if got <= 0 { atEnd = true }
            buffer.removeLast(chunkSize - max(got, 0))
        }
    }

    /// Whether a read would return without waiting (data, the end of the input or an error is
    /// there), waiting up to `milliseconds` for it (-1: as long as it takes). An interrupted wait
    /// counts as not ready: at worst the caller writes its lines early.
    private func inputIsReady(waitingMilliseconds milliseconds: Int32) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, milliseconds) > 0
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
