/// Cuts a sentence too long for the model into parts that each fit, losing no text.
///
/// The caller says what fits (typically: the tokenized length is within the model's limit).
/// Working from the left, each part is the longest prefix of what remains that fits and ends at the
/// best kind of boundary available, tried in this order:
/// 1. after clause punctuation (`,` `;` `:` `—` `–`, full-width `，` `；` `：`, ideographic `、`)
///    where ICU allows a line break, so "3,000" or "a,b" is not a clause boundary;
/// 2. at a word boundary: the end of a run of whitespace, or an ICU line-break opportunity
///    (which also lies between the ideographs of scripts written without spaces);
/// 3. at any `Character` boundary, as a last resort.
///
/// `fits` is assumed monotone, as tokenized length is: a prefix does not fit where a shorter one
/// does not. So, after one call on the whole sentence, the longest fitting prefix at a word
/// boundary is found by search over the word boundaries (galloping from the left, then binary
/// search) and the best clause boundary is the last one inside it: `fits` is called about
/// 2·log₂(words in a part) times per part, not once per character, and on no more than about twice
/// a part's text. Every part returned has been checked to fit, except a single `Character` that
/// does not fit on its own: it becomes a part by itself, so cutting always ends.
///
/// Whitespace at a cut becomes a separator, as between sentences.
public struct LongSentenceCutter: Sendable, Hashable {
    /// The characters after which a cut is preferred.
    public static let defaultClausePunctuation: Set<Character> = [
        ",", ";", ":", "\u{2014}", "\u{2013}",  // , ; : — –
        "\u{FF0C}", "\u{FF1B}", "\u{FF1A}", "\u{3001}",  // ， ； ： 、
    ]

    /// The ICU locale id for line-break opportunities, e.g. "en", "ja"; "" for ICU's root rules.
    public var locale: String
    public var clausePunctuation: Set<Character>

    public init(locale: String = "en", clausePunctuation: Set<Character> = defaultClausePunctuation) {
        self.locale = locale
        self.clausePunctuation = clausePunctuation
    }

    /// `text` as texts that each fit (but for single characters that fit nowhere) and the
    /// separators between them, in order, covering `text` exactly. Ranges and UTF-16 offsets are
    /// those of `text.base`. A text that fits whole is one text segment (plus any whitespace around
    /// it as separators).
    public func cut(_ text: Substring, fits: (Substring) -> Bool) throws(TextSegmentationError) -> [TextSegment] {
        var builder = SegmentBuilder(base: text.base)
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
              let last = text.lastIndex(where: { !$0.isWhitespace })
        else {
            builder.appendSeparator(text.startIndex..<text.endIndex)
            return builder.segments
        }
        builder.appendSeparator(text.startIndex..<first)
        let end = text.index(after: last)
        let trimmed = text[first..<end]
        // Most sentences fit: one call settles them, before any search.
        if fits(trimmed) {
            builder.appendText(first..<text.endIndex)
            return builder.segments
        }

        // Candidate ends of a part, each list increasing; the last line break is `end` itself.
        let lineBreaks = try icuBreaks(.line, in: trimmed, locale: locale)
        let clauseBoundaries = lineBreaks.filter { endsClause(text[first..<$0]) }
        let wordBoundaries = mergedSorted(lineBreaks, whitespaceRunEnds(trimmed))
        var characterBoundaries: [String.Index] = []  // built only when a part needs it

        var start = first
        while start < end {
            func prefixFits(_ boundary: String.Index) -> Bool {
                fits(trimmingTrailingWhitespace(text[start..<boundary]))
            }
            let cut: String.Index
            if let longest = lastFitting(wordBoundaries, after: start, prefixFits) {
                if longest == end {  // the rest fits whole
                    builder.appendText(start..<end)
                    break
                }
                // Clause boundaries are word boundaries too, so the best one lies inside `longest`.
                let clauses = clauseBoundaries[..<clauseBoundaries.partitionPoint { $0 > longest }]
                if let clause = clauses.last, clause > start, clause < longest, prefixFits(clause) {
                    cut = clause
                } else {
                    cut = longest
                }
            } else {
                if characterBoundaries.isEmpty {
                    characterBoundaries = Array(trimmed.indices.dropFirst()) + [end]
                }
                // Not even one Character fits: it goes alone, and the model gets what it can.
                cut = lastFitting(characterBoundaries, after: start, prefixFits) ?? text.index(after: start)
            }
            // The whitespace at the cut joins this part's separator; the next part starts on text.
            let next = text[cut..<end].firstIndex(where: { !$0.isWhitespace }) ?? end
            builder.appendText(start..<next)
            start = next
        }
        builder.appendSeparator(end..<text.endIndex)
        return builder.segments
    }

    /// `text` cut as a whole line: ``cut(_:fits:)`` on all of it, with the line kept.
    public func cut(_ text: String, fits: (Substring) -> Bool) throws(TextSegmentationError) -> SegmentedText {
        SegmentedText(source: text, segments: try cut(text[...], fits: fits))
    }

    /// The last of the increasing `boundaries` after `start` whose prefix fits, or nil.
    ///
    /// Probes gallop from the left (1st, 3rd, 7th, 15th... candidate) until one does not fit, then
    /// binary search closes in between: a tokenizing predicate costs in proportion to the prefix,
    /// so probing near the answer is cheaper than starting at the middle of a long remainder.
    private func lastFitting(
        _ boundaries: [String.Index], after start: String.Index, _ prefixFits: (String.Index) -> Bool
    ) -> String.Index? {
        // Invariant: boundaries[..<low] fit (from the first candidate on), boundaries[high...] do not.
        var low = boundaries.partitionPoint { $0 > start }
        var high = boundaries.endIndex
        var fitting: Int?
        var step = 1
        while low < high {
            let probe = Swift.min(low + step - 1, high - 1)
            guard prefixFits(boundaries[probe]) else {
                high = probe
                break
            }
            fitting = probe
            low = probe + 1
            step *= 2
        }
        while low < high {
            let middle = low + (high - low) / 2
            if prefixFits(boundaries[middle]) {
                fitting = middle
                low = middle + 1
            } else {
                high = middle
            }
        }
        return fitting.map { boundaries[$0] }
    }

    /// Whether `prefix` ends in clause punctuation, looking through trailing whitespace and closing
    /// quotes or brackets (`"Yes," he said` ends a clause after `,"`).
    private func endsClause(_ prefix: Substring) -> Bool {
        guard let last = prefix.last(where: { !$0.isWhitespace && !isClosing($0) }) else { return false }
        return clausePunctuation.contains(last)
    }
}

private func isClosing(_ character: Character) -> Bool {
    if character == "\"" || character == "'" { return true }
    switch character.unicodeScalars.first!.properties.generalCategory {
    case .closePunctuation, .finalPunctuation: return true
    default: return false
    }
}

private func trimmingTrailingWhitespace(_ text: Substring) -> Substring {
    guard let last = text.lastIndex(where: { !$0.isWhitespace }) else { return text[text.startIndex..<text.startIndex] }
    return text[...last]
}

/// The indices in `text` where a run of whitespace ends and text resumes.
private func whitespaceRunEnds(_ text: Substring) -> [String.Index] {
    var ends: [String.Index] = []
    var previousIsWhitespace = false
    for index in text.indices {
        let isWhitespace = text[index].isWhitespace
        if previousIsWhitespace && !isWhitespace { ends.append(index) }
        previousIsWhitespace = isWhitespace
    }
    return ends
}

/// The union of two increasing arrays, increasing and without duplicates.
private func mergedSorted(_ a: [String.Index], _ b: [String.Index]) -> [String.Index] {
    var result: [String.Index] = []
    result.reserveCapacity(a.count + b.count)
    var i = a.startIndex, j = b.startIndex
    while i < a.endIndex || j < b.endIndex {
        let next: String.Index
        if j == b.endIndex || (i < a.endIndex && a[i] <= b[j]) {
            next = a[i]; i += 1
        } else {
            next = b[j]; j += 1
        }
        if result.last != next { result.append(next) }
    }
    return result
}

extension Array {
    /// The index of the first element for which `isInSecondPart` holds, the elements being
    /// partitioned so that it is false for all before and true for all after (binary search).
    fileprivate func partitionPoint(where isInSecondPart: (Element) -> Bool) -> Int {
        var low = startIndex, high = endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if isInSecondPart(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
