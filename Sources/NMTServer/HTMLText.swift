/// HTML as alternating markup and text, for `format: html`: the text nodes are translated, the
/// markup (tags, comments, doctype, and the contents of `<script>` and `<style>`) is kept byte for
/// byte. A text node's leading and trailing white space is kept; its entities are decoded before
/// translation and `&`, `<`, `>` escaped again after.
struct HTMLText: Sendable {
    enum Part: Sendable, Equatable {
        case markup(String)
        /// White space before, the decoded text to translate, white space after.
        case text(leading: String, content: String, trailing: String)
    }

    var parts: [Part]

    /// The texts to translate, in order.
    var texts: [String] {
        parts.compactMap { if case .text(_, let content, _) = $0 { content } else { nil } }
    }

    init(_ html: String) {
        parts = []
        let s = Array(html.unicodeScalars)
        var i = 0, textStart = 0
        func markup(_ start: Int, _ end: Int) {
            let text = String(String.UnicodeScalarView(s[start..<end]))
            if case .markup(let previous)? = parts.last {
                parts[parts.count - 1] = .markup(previous + text)
            } else {
                parts.append(.markup(text))
            }
        }
        func flushText(upTo end: Int) {
            guard end > textStart else { return }
            let raw = String(String.UnicodeScalarView(s[textStart..<end]))
            let core = raw.trimmingHTMLWhitespace()
            let content = Self.decodeEntities(core.content)
            if content.trimmingHTMLWhitespace().content.isEmpty {  // white space only (&nbsp; included): kept as is
                markup(textStart, end)
            } else {
                parts.append(.text(leading: core.leading, content: content, trailing: core.trailing))
            }
        }
        func starts(_ prefix: String, at index: Int) -> Bool {
            let p = Array(prefix.unicodeScalars)
            guard index + p.count <= s.count else { return false }
            return zip(s[index..<(index + p.count)], p).allSatisfy { $0.properties.lowercaseMapping == $1.properties.lowercaseMapping }
        }
        func find(_ needle: String, from index: Int) -> Int? {
            var j = index
            while j < s.count {
                if starts(needle, at: j) { return j }
                j += 1
            }
            return nil
        }
        while i < s.count {
            guard s[i] == "<", i + 1 < s.count,
                  s[i + 1].properties.isAlphabetic || s[i + 1] == "/" || s[i + 1] == "!" || s[i + 1] == "?" else {
                i += 1
                continue
            }
            flushText(upTo: i)
            var end: Int
            if starts("<!--", at: i) {
                end = (find("-->", from: i + 4).map { $0 + 3 }) ?? s.count
            } else {
                // A tag: up to the first '>' outside quoted attribute values.
                end = i + 1
                var quote: Unicode.Scalar?
                while end < s.count {
                    let c = s[end]
                    if let q = quote { if c == q { quote = nil } } else if c == "\"" || c == "'" { quote = c } else if c == ">" { break }
                    end += 1
                }
                end = min(end + 1, s.count)
                // Script and style contents are code, not text.
                for element in ["script", "style"] where starts("<" + element, at: i) {
                    let after = i + 1 + element.count
                    if after < s.count, !(s[after].properties.isAlphabetic || s[after].properties.numericType != nil) {
                        end = find("</" + element, from: end).map { close in
                            (s[close...].firstIndex(of: ">").map { $0 + 1 }) ?? s.count
                        } ?? s.count
                    }
                }
            }
            markup(i, end)
            i = end
            textStart = end
        }
        flushText(upTo: s.count)
    }

    /// The HTML with each text replaced by its translation (in `texts` order), escaped.
    func assemble(_ translations: [String]) -> String {
        var out = "", k = 0
        for part in parts {
            switch part {
            case .markup(let m): out += m
            case .text(let leading, _, let trailing):
                out += leading + Self.escape(translations[k]) + trailing
                k += 1
            }
        }
        return out
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    private static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "copy": "©", "reg": "®",
        "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”",
    ]

    /// `&amp;`, `&#39;`, `&#x27;` and a few common named entities; anything else is left as written.
    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            if let semi = after.prefix(12).firstIndex(of: ";") {
                let name = after[..<semi]
                var decoded: String?
                if name.hasPrefix("#x") || name.hasPrefix("#X"), let v = UInt32(name.dropFirst(2), radix: 16) {
                    decoded = Unicode.Scalar(v).map { String($0) }
                } else if name.hasPrefix("#"), let v = UInt32(name.dropFirst()) {
                    decoded = Unicode.Scalar(v).map { String($0) }
                } else {
                    decoded = named[String(name)]
                }
                if let decoded {
                    out += decoded
                    rest = after[after.index(after: semi)...]
                    continue
                }
            }
            out += "&"
            rest = after
        }
        return out + rest
    }
}

extension String {
    /// The string without its leading and trailing white space, and that white space.
    func trimmingHTMLWhitespace() -> (leading: String, content: String, trailing: String) {
        let scalars = Array(unicodeScalars)
        let isSpace: (Unicode.Scalar) -> Bool = { $0.properties.isWhitespace }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else {
            return (self, "", "")
        }
        func string(_ r: Range<Int>) -> String { String(String.UnicodeScalarView(scalars[r])) }
        return (string(0..<first), string(first..<(last + 1)), string((last + 1)..<scalars.count))
    }
}
