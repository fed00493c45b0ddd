import NMT

/// Everything `translate-server`'s options set, apart from the models.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var decoding: DecodingOptions
    public var batching: ServerBatching
    public var limits: ServerLimits
    /// Clients must send one of these as `api_key`; nil: no key needed.
    public var apiKeys: APIKeys?
    /// Seconds an idle keep-alive connection stays open.
    public var idleTimeout: Double
    /// Most open connections; further ones wait in the listen backlog. nil: no limit.
    public var maxConnections: Int?
    /// Sent as the `Server` header.
    public var serverName: String

    public init(host: String = "127.0.0.1", port: Int = 5000, decoding: DecodingOptions = DecodingOptions(),
                batching: ServerBatching = ServerBatching(), limits: ServerLimits = ServerLimits(), apiKeys: APIKeys? = nil,
                idleTimeout: Double = 60, maxConnections: Int? = 1024, serverName: String = "translate-server") {
        self.host = host
        self.port = port
        self.decoding = decoding
        self.batching = batching
        self.limits = limits
        self.apiKeys = apiKeys
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.serverName = serverName
    }
}
