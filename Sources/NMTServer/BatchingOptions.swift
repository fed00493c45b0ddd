/// How the server groups the lines of concurrent requests into one translation call.
public struct ServerBatching: Sendable {
    /// Off: every request is translated alone, one after another (for comparison).
    public var enabled: Bool
    /// How long the first waiting line waits for others before its batch starts, counted from its
    /// arrival or, if it arrived while the previous batch ran, from that batch's end. A batch starts
    /// at once when the lines waiting reach `maxTokens`, and when as many requests wait as were
    /// active lately (the last batch's and those that arrived while it ran): its clients are back,
    /// so a lone client pays no window; while a batch runs, new lines gather anyway.
    public var window: Duration
    /// Most source tokens collected into one call (at least one request is always taken whole).
    public var maxTokens: Int
    /// Most sentences decoded together inside a call (the translator sorts them by length first).
    public var maxSentences: Int
    /// After this long without a request, the buffers the translators keep for their next batch
    /// are freed and the free memory handed back to the system (`Translator.releaseKeptBuffers`,
    /// `Allocator.returnFreeMemory`): one burst of long texts would otherwise keep its memory for
    /// the server's lifetime. nil: never.
    public var releaseMemoryAfter: Duration?

    public init(enabled: Bool = true, window: Duration = .milliseconds(5), maxTokens: Int = 4096, maxSentences: Int = 64,
                releaseMemoryAfter: Duration? = .seconds(30)) {
        self.enabled = enabled
        self.window = window
        self.maxTokens = maxTokens
        self.maxSentences = maxSentences
        self.releaseMemoryAfter = releaseMemoryAfter
    }
}
