import Foundation
import Testing
@testable import NMT
@testable import NMTDecoding
@testable import NMTFormat
@testable import NMTModel

/// Damaged model files never trap: each mutated copy of a valid file either loads and translates
/// or throws a descriptive error. `FUZZ_CASES` sets the number of cases (scripts/fuzz.sh runs many).
@Suite struct FuzzTests {
    /// SplitMix64: deterministic, so a failing case can be replayed from its index.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    static let numbers = ["0", "-1", "1", "2", "3", "63", "64", "65", "-9223372036854775808", "9223372036854775807",
                          "18446744073709551615", "4294967295", "4294967296", "1e30", "NaN", "\"x\"", "null",
                          "[]", "{}", "1.5", "true"]

    /// One damaged copy of `bytes`; case `index` always gives the same one.
    static func mutate(_ good: [UInt8], headerLength: Int, index: Int) -> [UInt8] {
        var random = Random(state: UInt64(index))
        var bytes = good
        let header = 16..<(16 + headerLength)
        switch index % 8 {
        case 0:  // truncation anywhere
            bytes = Array(bytes.prefix(random.below(bytes.count)))
        case 1:  // a few flipped bytes anywhere
            for _ in 0...random.below(8) { bytes[random.below(bytes.count)] ^= UInt8(1 + random.below(255)) }
        case 2:  // flipped bytes in the preamble or header
            for _ in 0...random.below(4) { bytes[random.below(header.upperBound)] ^= UInt8(1 + random.below(255)) }
        case 3, 4:  // a number of the header replaced by an extreme value (sizes, offsets, shapes, ids)
            var text = Array(bytes[header])
            let digitRuns = runs(of: text) { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            if let run = digitRuns.isEmpty ? nil : digitRuns[random.below(digitRuns.count)] {
                text.replaceSubrange(run, with: Array(numbers[random.below(numbers.count)].utf8))
                bytes = rebuilt(good, header: text, headerLength: headerLength)
            }
        case 5:  // a string value of the header changed (names, dtypes, activation, layout)
            var text = Array(bytes[header])
            let letters = runs(of: text) { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
            if let run = letters.isEmpty ? nil : letters[random.below(letters.count)] {
                text[run.lowerBound + random.below(run.count)] = UInt8(ascii: "a") + UInt8(random.below(26))
                bytes = rebuilt(good, header: text, headerLength: headerLength)
            }
        case 6:  // damaged embedded SentencePiece model or vocabulary (the blobs follow the header)
            let start = header.upperBound
            let span = min(260_000, bytes.count - start)
            for _ in 0...random.below(16) { bytes[start + random.below(span)] = UInt8(random.below(256)) }
        default:  // the version or header length field
            let field = 8 + random.below(8)
            bytes[field] = UInt8(random.below(256))
        }
        return bytes
    }

    /// Ranges of consecutive bytes satisfying `predicate`.
    static func runs(of bytes: [UInt8], where predicate: (UInt8) -> Bool) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start: Int?
        for (i, b) in bytes.enumerated() {
            if predicate(b) { start = start ?? i } else if let s = start { result.append(s..<i); start = nil }
        }
        if let s = start { result.append(s..<bytes.count) }
        return result
    }

    /// The file with a new header; data stays where it was when the header does not grow.
    static func rebuilt(_ good: [UInt8], header: [UInt8], headerLength: Int) -> [UInt8] {
        var header = header
        if header.count < headerLength { header += Array(repeating: UInt8(ascii: " "), count: headerLength - header.count) }
        var bytes = Array(good[0..<12])
        let length = UInt32(header.count)
        bytes += [UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8(length >> 24)]
        return bytes + header + good[(16 + headerLength)...]
    }

    /// The f32 fixture, and the same model with i8 matrices (scales to damage too).
    @Test(arguments: [DType.f32, .i8])
    func damagedFilesThrowOrTranslate(dtype: DType) throws {
        let f32 = try Fixtures.bytes("marian-shared.bin")
        let good = dtype == .f32 ? f32 : ModelFileWriter.bytes(of: try ModelFile(bytes: f32), matrices: dtype)
        let headerLength = ModelBytes(bytes: good).headerLength
        let environment = ProcessInfo.processInfo.environment
        let cases = environment["FUZZ_CASES"].flatMap(Int.init) ?? 1500
        let first = environment["FUZZ_FROM"].flatMap(Int.init) ?? 0  // to replay a case
        var loaded = 0, translated = 0, rejected = 0
        for index in first..<(first + cases) {
            if environment["FUZZ_TRACE"] != nil { FileHandle.standardError.write(Data("case \(index)\n".utf8)) }
            let bytes = Self.mutate(good, headerLength: headerLength, index: index)
            do {
                let file = try ModelFile(bytes: bytes)
                loaded += 1
                let translator = try Translator(modelFile: file)
                let results = try translator.translate(["Two dogs play in the snow.", ""],
                                                       options: DecodingOptions(beamSize: 1 + index % 3, maxLength: 4))
                #expect(results.count == 2)
                translated += 1
            } catch let error as ModelFileError {
                #expect(!error.description.isEmpty && !error.description.contains("\n"))
                rejected += 1
            } catch let error as TranslatorError {
                #expect(!error.description.isEmpty && !error.description.contains("\n"))
                rejected += 1
            }
        }
        print("fuzz (\(dtype.rawValue)): \(cases) cases, \(loaded) loaded, \(translated) translated, \(rejected) rejected with an error")
        #expect(translated > 0 && rejected > cases / 2)
    }
}
