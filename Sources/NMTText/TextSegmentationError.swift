/// Why a text could not be segmented. Both cases come from ICU, which does the segmenting.
public enum TextSegmentationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// ICU measures text in `Int32` UTF-16 code units, so a longer line cannot be handed to it.
    case textTooLong(utf16Count: Int)
    /// ICU failed (for example it could not allocate memory or load its break rules).
    /// `code` is ICU's `UErrorCode` and `name` its symbolic name, e.g. "U_MISSING_RESOURCE_ERROR".
    case icu(code: Int32, name: String)

    public var description: String {
        switch self {
        case .textTooLong(let count):
            return "text of \(count) UTF-16 code units is longer than ICU can segment (\(Int32.max))"
        case .icu(let code, let name):
            return "ICU break iterator failed: \(name) (\(code))"
        }
    }
}
