import CSentenceBreak

/// The kinds of ICU break iterator this target uses.
enum BreakKind {
    /// Where sentences end (UAX #29). ICU puts the whitespace after a sentence into that sentence.
    case sentence
    /// Where a line may wrap (UAX #14): after spaces, dashes and clause punctuation, between ideographs.
    case line
}

/// ICU break iterators open in this process (each thread that split text caches up to two until
/// it exits); for tests.
var icuIteratorsOpen: Int { Int(nmt_break_iterators_open()) }

/// The places where ICU breaks `text`, as indices of `text`'s base string, in increasing order,
/// excluding `text.startIndex` and including `text.endIndex` when `text` is not empty.
///
/// ICU reports UTF-16 offsets. Each is moved back to the nearest `Character` boundary at or before
/// it, so that no `Character` is ever cut in two even where ICU's grapheme rules (ICU 72) and
/// Swift's differ; offsets that land on the same boundary collapse into one.
func icuBreaks(_ kind: BreakKind, in text: Substring, locale: String) throws(TextSegmentationError) -> [String.Index] {
    let units = Array(text.utf16)
    guard units.count <= Int(Int32.max) else { throw .textTooLong(utf16Count: units.count) }
    guard !units.isEmpty else { return [] }

    // A text of n code units has at most n breaks after offset 0.
    var offsets = [Int32](repeating: 0, count: units.count)
    let count = units.withUnsafeBufferPointer { units in
        offsets.withUnsafeMutableBufferPointer { offsets in
            locale.withCString { locale in
                let length = Int32(units.count), capacity = Int32(offsets.count)
                switch kind {
                case .sentence: return nmt_sentence_breaks(units.baseAddress, length, locale, offsets.baseAddress, capacity)
                case .line: return nmt_line_breaks(units.baseAddress, length, locale, offsets.baseAddress, capacity)
                }
            }
        }
    }
    guard count >= 0 else {
        throw .icu(code: -count, name: String(cString: nmt_break_error_name(-count)))
    }

    // Walk the Characters once, keeping the UTF-16 offset of `index`, and stop at each reported
    // offset on the last Character boundary not past it.
    var breaks: [String.Index] = []
    var index = text.startIndex
    var offset = 0
    for target in offsets[..<Int(count)].lazy.map(Int.init) {
        while index < text.endIndex {
            let width = text[index].utf16.count
            if offset + width > target { break }
            offset += width
            text.formIndex(after: &index)
        }
        if index > text.startIndex, breaks.last != index {
            breaks.append(index)
        }
    }
    return breaks
}
