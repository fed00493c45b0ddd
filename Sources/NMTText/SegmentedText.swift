/// A line and the segments that cover it: texts to translate and separators to copy.
///
/// ```swift
/// let line = try SentenceSplitter().split(input)
///     .cuttingLongTexts(fits: { tokenizer.count($0) <= maxLength })
/// let output = try line.reassembled { try translator.translate(String($0)) }
/// ```
public struct SegmentedText: Sendable, Hashable {
    /// The line as given.
    public let source: String
    /// Segments in order, adjacent, together covering `source` exactly. A text segment has no
    /// whitespace at either end; two separators are never adjacent.
    public let segments: [TextSegment]

    public init(source: String, segments: [TextSegment]) {
        self.source = source
        self.segments = segments
    }

    /// The source text of a segment.
    public subscript(segment: TextSegment) -> Substring { source[segment.range] }

    /// The text segments' source texts in order: what a batch translator translates.
    public var texts: [Substring] { segments.filter(\.isText).map { source[$0.range] } }

    /// The line with each text segment replaced by `transform` of it and each separator copied.
    /// With the identity transform this is `source` itself.
    public func reassembled<E: Error>(_ transform: (Substring) throws(E) -> String) throws(E) -> String {
        var result = ""
        for segment in segments {
            switch segment.kind {
            case .text: result += try transform(source[segment.range])
            case .separator: result += source[segment.range]
            }
        }
        return result
    }

    /// The same line with every text segment that does not fit replaced by the parts `cutter` cuts
    /// it into (see ``LongSentenceCutter``). Texts that fit are kept whole.
    public func cuttingLongTexts(
        with cutter: LongSentenceCutter = LongSentenceCutter(), fits: (Substring) -> Bool
    ) throws(TextSegmentationError) -> SegmentedText {
        var builder = SegmentBuilder(base: source)
        for segment in segments {
            switch segment.kind {
            case .separator: builder.appendSeparator(segment.range)
            case .text:
                for part in try cutter.cut(source[segment.range], fits: fits) {
                    builder.append(part)
                }
            }
        }
        return SegmentedText(source: source, segments: builder.segments)
    }
}
