import Foundation

/// The fields of a request body, JSON or form-encoded, before their meaning is checked. LibreTranslate
/// accepts both (`application/json` and `application/x-www-form-urlencoded`); clients such as
/// libretranslatepy send forms, browser extensions JSON.
struct RequestFields: Sendable {
    enum Value: Sendable, Equatable {
        case string(String)
        case strings([String])
        case number(Double)
        case bool(Bool)
        /// null, an object, or an array with a member that is not a string.
        case other(String)

        var typeName: String {
            switch self {
            case .string: "a string"
            case .strings: "an array of strings"
            case .number: "a number"
            case .bool: "a boolean"
            case .other(let name): name
            }
        }
    }

    var values: [String: Value]

    subscript(_ name: String) -> Value? { values[name] }

    /// Parses `body` as the content type says: JSON, a form, or (no content type) JSON when it
    /// starts with `{`, a form otherwise. Throws a 400 `APIError` naming what is wrong.
    init(body: [UInt8], contentType: String?) throws(APIError) {
        let type = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        switch type {
        case "application/json"?:
            values = try Self.json(body)
        case "application/x-www-form-urlencoded"?:
            values = try Self.form(body)
        case nil, ""?, "text/plain"?:
            let first = body.first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }
            values = first == UInt8(ascii: "{") ? try Self.json(body) : try Self.form(body)
        case "multipart/form-data"?:
            throw .init(.unsupportedMediaType, "multipart/form-data is not supported: send JSON or a urlencoded form")
        case let other?:
            throw .init(.unsupportedMediaType, "Unsupported content type '\(other.prefix(100))': send application/json or application/x-www-form-urlencoded")
        }
    }

    /// A JSON object body. Invalid UTF-8 and malformed JSON are refused.
    static func json(_ body: [UInt8]) throws(APIError) -> [String: Value] {
        guard String(validating: body, as: UTF8.self) != nil else { throw .badRequest("Invalid request: the body is not valid UTF-8") }
        let parsed: JSONValue
        do {
            parsed = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            throw .badRequest("Invalid request: the body is not valid JSON")
        }
        guard case .object(let dictionary) = parsed else {
            throw .badRequest("Invalid request: the body must be a JSON object")
        }
        return dictionary.mapValues { v in
            switch v {
            case .string(let s): .string(s)
            case .number(let n): .number(n)
            case .bool(let b): .bool(b)
            case .null: .other("null")
            case .object: .other("an object")
            case .array(let members):
                members.allSatisfy { if case .string = $0 { true } else { false } }
                    ? .strings(members.map { if case .string(let s) = $0 { s } else { "" } })
                    : .other("an array with a member that is not a string")
            }
        }
    }

    /// Any JSON value, as decoded from a body.
    indirect enum JSONValue: Decodable {
        case string(String), number(Double), bool(Bool), null, array([JSONValue]), object([String: JSONValue])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let n = try? c.decode(Double.self) { self = .number(n) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
            else { self = .object(try c.decode([String: JSONValue].self)) }
        }
    }

    /// `a=1&b=x+y`: `+` is a space, `%XX` a byte; the decoded bytes must be UTF-8. A name given
    /// more than once (`q=a&q=b`) gives an array.
    static func form(_ body: [UInt8]) throws(APIError) -> [String: Value] {
        var values: [String: Value] = [:]
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try decode(parts[0]), value = try decode(parts.count > 1 ? parts[1] : [])
            switch values[name] {
            case nil: values[name] = .string(value)
            case .string(let first)?: values[name] = .strings([first, value])
            case .strings(let all)?: values[name] = .strings(all + [value])
            default: break
            }
        }
        return values
    }

    private static func decode(_ bytes: ArraySlice<UInt8>) throws(APIError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(0x20)
            } else if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.endIndex, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) else {
                    throw .badRequest("Invalid request: malformed percent-encoding in the form body")
                }
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw .badRequest("Invalid request: the form body is not valid UTF-8")
        }
        return text
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: Typed access

    /// A string field; nil when absent. Throws when it has another type.
    func string(_ name: String) throws(APIError) -> String? {
        switch values[name] {
        case nil: return nil
        case .string(let s)?: return s
        case let other?: throw .badRequest("Invalid request: \(name) must be a string, got \(other.typeName)")
        }
    }

    /// A non-negative integer field (a JSON number or a form's digits); nil when absent.
    func integer(_ name: String) throws(APIError) -> Int? {
        switch values[name] {
        case nil: return nil
        case .number(let n)? where n == n.rounded() && abs(n) < 1e9: return Int(n)
        case .string(let s)? where Int(s.trimmingCharacters(in: .whitespaces)) != nil:
            return Int(s.trimmingCharacters(in: .whitespaces))!
        case .string(let s)? where s.isEmpty: return nil
        case let other?: throw .badRequest("Invalid request: \(name) must be an integer, got \(other.typeName)")
        }
    }

    /// A boolean field: JSON true/false, or a form's `true`/`false`/`1`/`0` (empty is absent); nil when absent.
    func boolean(_ name: String) throws(APIError) -> Bool? {
        switch values[name] {
        case nil: return nil
        case .bool(let b)?: return b
        case .string(let s)?:
            switch s.trimmingCharacters(in: .whitespaces).lowercased() {
            case "": return nil
            case "true", "1": return true
            case "false", "0": return false
            default: throw .badRequest("Invalid request: \(name) must be true or false, got '\(s.prefix(40))'")
            }
        case let other?: throw .badRequest("Invalid request: \(name) must be a boolean, got \(other.typeName)")
        }
    }
}
