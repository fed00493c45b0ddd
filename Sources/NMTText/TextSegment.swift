/// One piece of a segmented line: either text to translate or a separator to copy as it is.
///
/// A line is covered by its segments end to end, so joining each segment's translation (for text)
/// or its source (for a separator) in order loses nothing of the line's layout.
public struct TextSegment: Sendable, Hashable {
    /// What the translator does with a segment.
    public enum Kind: Sendable, Hashable {
        /// A sentence, or a part of a sentence too long for the model: translate it.
        case text
        /// Whitespace between (or around) texts: copy it.
        case separator
    }

    public var kind: Kind
    /// The segment's place in the source line (indices of that `String`).
    public var range: Range<String.Index>
    /// The same place in UTF-16 code units from the start of the line: the offsets JavaScript and
    /// JSON consumers count in, and the ones ICU reports.
    public var utf16Range: Range<Int>

    public init(kind: Kind, range: Range<String.Index>, utf16Range: Range<Int>) {
        self.kind = kind
        self.range = range
        self.utf16Range = utf16Range
    }

    /// True for a segment to translate, false for a separator to copy.
    public var isText: Bool { kind == .text }
}
