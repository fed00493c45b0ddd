/// Splits a line into sentences with ICU's sentence break rules, keeping the whitespace between
/// sentences as separators so that nothing of the line is lost.
///
/// ```swift
/// let line = try SentenceSplitter(locale: "en").split("Hello there.  How are you?")
/// // texts: "Hello there.", "How are you?"; separator: "  "
/// ```
public struct SentenceSplitter: Sendable, Hashable {
    /// The ICU locale id whose rules are used, e.g. "en", "de", "ja"; "" for ICU's root rules.
    public var locale: String
    /// Whether ICU's list of the locale's abbreviations ("Mr.", "Prof.", ...) keeps a sentence going
    /// after them. ICU's plain rules end a sentence at "Mr. Smith" because a capital follows the
    /// period; with this on, ICU applies its suppressions (the locale keyword `ss=standard`).
    /// The lists are short and per language (ICU 72's English list has "Mr." but not "Dr.").
    public var suppressesAbbreviations: Bool

    public init(locale: String = "en", suppressesAbbreviations: Bool = true) {
        self.locale = locale
        self.suppressesAbbreviations = suppressesAbbreviations
    }

    /// The locale id handed to ICU, with the suppression keyword when asked for.
    var icuLocale: String {
        guard suppressesAbbreviations else { return locale }
        return locale + (locale.contains("@") ? ";" : "@") + "ss=standard"
    }

    /// The sentences of `text` as text segments, with the whitespace before, between and after them
    /// as separators. Text without final punctuation is a sentence too; text that is only
    /// whitespace is one separator; empty text has no segments.
    public func split(_ text: String) throws(TextSegmentationError) -> SegmentedText {
        var builder = SegmentBuilder(base: text)
        var start = text.startIndex
        for end in try icuBreaks(.sentence, in: text[...], locale: icuLocale) {
            // ICU counts the spaces after a sentence as part of it; the builder moves them apart.
            builder.appendText(start..<end)
            start = end
        }
        return SegmentedText(source: text, segments: builder.segments)
    }
}
