import Foundation

/// The keys clients must send as `api_key` when `--api-keys FILE` is given: one key per line;
/// blank lines and lines starting with `#` are ignored.
public struct APIKeys: Sendable, Equatable {
    public let keys: Set<String>

    public init(_ keys: Set<String>) { self.keys = keys }

    public init(contentsOf path: String) throws(ServerSetupError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .apiKeys(path: path, "\(error.localizedDescription)")
        }
        let keys = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !keys.isEmpty else { throw .apiKeys(path: path, "the file lists no key") }
        self.keys = Set(keys)
    }

    /// Throws 403 unless `key` is one of the keys.
    func check(_ key: String?) throws(APIError) {
        guard let key, !key.isEmpty else {
            throw APIError(.forbidden, "Invalid API key: this server requires an api_key")
        }
        guard keys.contains(key) else { throw APIError(.forbidden, "Invalid API key") }
    }
}
