import Testing
@testable import NMTText

/// Checks what every segmentation promises, whoever produced it: segments adjacent from the start
/// of the line to its end (so joining them gives the line back), texts without whitespace at their
/// ends, no two separators in a row, whole Characters only, and UTF-16 offsets that match the ranges.
func expectWellFormed(_ line: SegmentedText, sourceLocation: SourceLocation = #_sourceLocation) {
    let source = line.source
    #expect(line.reassembled { String($0) } == source, "concatenation differs from input", sourceLocation: sourceLocation)
    #expect(line.reassembled { _ in "" } == line.segments.filter { !$0.isText }.map { String(line[$0]) }.joined(),
            sourceLocation: sourceLocation)

    var position = source.startIndex
    var previousKind: TextSegment.Kind?
    let characterBoundaries = Set(source.indices).union([source.endIndex])
    let utf16 = Array(source.utf16)
    for segment in line.segments {
        #expect(segment.range.lowerBound == position, "gap or overlap", sourceLocation: sourceLocation)
        #expect(!segment.range.isEmpty, "empty segment", sourceLocation: sourceLocation)
        #expect(characterBoundaries.contains(segment.range.upperBound), "Character cut", sourceLocation: sourceLocation)
        let text = line[segment]
        switch segment.kind {
        case .text:
            #expect(text.first?.isWhitespace == false && text.last?.isWhitespace == false,
                    "text \(text.debugDescription) has whitespace at an end", sourceLocation: sourceLocation)
        case .separator:
            #expect(text.allSatisfy { $0.isWhitespace }, "separator \(text.debugDescription)", sourceLocation: sourceLocation)
            #expect(previousKind != .separator, "two separators in a row", sourceLocation: sourceLocation)
        }
        #expect(Array(utf16[segment.utf16Range]) == Array(text.utf16), "UTF-16 offsets", sourceLocation: sourceLocation)
        previousKind = segment.kind
        position = segment.range.upperBound
    }
    #expect(position == source.endIndex, "segments stop short of the end", sourceLocation: sourceLocation)
}

extension SegmentedText {
    /// Each segment as a string, separators included: the shape tests compare against.
    var pieces: [String] { segments.map { String(self[$0]) } }
}

/// A deterministic random number generator (SplitMix64), so generated inputs are the same every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
