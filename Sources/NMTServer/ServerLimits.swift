/// What one request and the whole server may take: the answers to "how much?" that keep the
/// server's memory and latency bounded under any load.
public struct ServerLimits: Sendable {
    /// Most characters (Unicode scalars) of `q` in one request, all members of an array counted;
    /// nil for no limit.
    public var charLimit: Int?
    /// Most members of an array `q`.
    public var batchLimit: Int
    /// Most bytes of a request body.
    public var bodyLimit: Int
    /// Most lines waiting to be translated, all requests together; a request that would exceed it
    /// gets 429 with `Retry-After`.
    public var queueLimit: Int
    /// Seconds a client may take to send its request body (slow clients get 408).
    public var readTimeout: Double
    /// Most alternatives a request may ask for (besides the best translation).
    public var maxAlternatives: Int

    public init(charLimit: Int? = 5000, batchLimit: Int = 128, bodyLimit: Int = 1 << 20, queueLimit: Int = 2048,
                readTimeout: Double = 10, maxAlternatives: Int = 8) {
        self.charLimit = charLimit
        self.batchLimit = batchLimit
        self.bodyLimit = bodyLimit
        self.queueLimit = queueLimit
        self.readTimeout = readTimeout
        self.maxAlternatives = maxAlternatives
    }
}
