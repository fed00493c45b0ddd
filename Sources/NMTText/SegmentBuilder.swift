/// Builds the segments of one line from left to right, keeping the invariants every producer
/// needs: whitespace at either end of a text goes into a separator, empty segments are dropped,
/// adjacent separators are merged, and UTF-16 offsets are counted once across the line.
struct SegmentBuilder {
    let base: String
    private(set) var segments: [TextSegment] = []
    // Ranges arrive in increasing order, so offsets are counted from the last one seen:
    // linear over the line instead of quadratic.
    private var countedIndex: String.Index
    private var countedOffset = 0

    init(base: String) {
        self.base = base
        self.countedIndex = base.startIndex
    }

    /// Appends `range` as a text, with its leading and trailing whitespace as separators.
    mutating func appendText(_ range: Range<String.Index>) {
        let slice = base[range]
        guard let first = slice.firstIndex(where: { !$0.isWhitespace }),
              let last = slice.lastIndex(where: { !$0.isWhitespace })
        else {
            appendSeparator(range)
            return
        }
        let end = slice.index(after: last)
        appendSeparator(range.lowerBound..<first)
        add(.text, first..<end)
        appendSeparator(end..<range.upperBound)
    }

    mutating func appendSeparator(_ range: Range<String.Index>) {
        add(.separator, range)
    }

    /// Appends a segment already built for the same line.
    mutating func append(_ segment: TextSegment) {
        add(segment.kind, segment.range)
    }

    private mutating func add(_ kind: TextSegment.Kind, _ range: Range<String.Index>) {
        guard !range.isEmpty else { return }
        if kind == .separator, let last = segments.last, last.kind == .separator {
            segments[segments.count - 1] = TextSegment(
                kind: .separator, range: last.range.lowerBound..<range.upperBound,
                utf16Range: last.utf16Range.lowerBound..<utf16Offset(of: range.upperBound))
            return
        }
        let lower = utf16Offset(of: range.lowerBound)
        segments.append(TextSegment(kind: kind, range: range, utf16Range: lower..<utf16Offset(of: range.upperBound)))
    }

    private mutating func utf16Offset(of index: String.Index) -> Int {
        countedOffset += base.utf16.distance(from: countedIndex, to: index)
        countedIndex = index
        return countedOffset
    }
}
