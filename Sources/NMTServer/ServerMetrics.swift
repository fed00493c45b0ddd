import Prometheus
import Synchronization

/// The server's Prometheus metrics (`GET /metrics`, text format 0.0.4): requests and errors by
/// route and status, lines and tokens translated, batch sizes, the queue, latencies.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let lines: Counter
    private let sourceTokens: Counter
    private let targetTokens: Counter
    private let batches: Counter
    private let rejectedRequests: Counter
    private let failures: Counter
    private let queueLines: Gauge
    private let batchLines: ValueHistogram
    private let batchTokens: ValueHistogram
    private let batchSeconds: DurationHistogram
    private let received = Atomic<Int>(0)
    private let answered = Atomic<Int>(0)
    private static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "nmt", metricName: metric, unitName: unit, helpText: help)
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        lines = registry.makeCounter(descriptor: Self.name("lines", "total", "Lines translated."))
        sourceTokens = registry.makeCounter(descriptor: Self.name("source_tokens", "total", "Source tokens translated (with </s>)."))
        targetTokens = registry.makeCounter(descriptor: Self.name("target_tokens", "total", "Target tokens generated for the best translations (with </s>)."))
        batches = registry.makeCounter(descriptor: Self.name("batches", "total", "Translator calls (batches of lines from one or more requests)."))
        rejectedRequests = registry.makeCounter(descriptor: Self.name("queue_rejections", "total", "Requests refused with 429 because the queue was full."))
        failures = registry.makeCounter(descriptor: Self.name("translation_failures", "total", "Batches whose translation failed."))
        queueLines = registry.makeGauge(descriptor: Self.name("queue", "lines", "Lines waiting to be translated."))
        batchLines = registry.makeValueHistogram(descriptor: Self.name("batch", "lines", "Lines per batch."), buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
        batchTokens = registry.makeValueHistogram(descriptor: Self.name("batch_source", "tokens", "Source tokens per batch."),
                                                  buckets: [16, 64, 256, 1024, 2048, 4096, 8192, 16384])
        batchSeconds = registry.makeDurationHistogram(descriptor: Self.name("batch_duration", "seconds", "Time to translate one batch."), buckets: Self.latencyBuckets)
    }

    /// Requests the routes began to handle, and those they produced a response for (the server
    /// logs both when it stops: equal when every accepted request was answered).
    public var requestCounts: (received: Int, answered: Int) {
        (received.load(ordering: .acquiring), answered.load(ordering: .acquiring))
    }

    func requestStarted() { received.add(1, ordering: .releasing) }

    /// One finished request: its route, status and time from receipt to response.
    func request(route: String, status: Int, duration: Duration) {
        answered.add(1, ordering: .releasing)
        registry.makeCounter(descriptor: Self.name("requests", "total", "HTTP requests by route and status."), labels: [("route", route), ("status", String(status))]).increment()
        if status >= 400 {
            registry.makeCounter(descriptor: Self.name("errors", "total", "HTTP requests answered with an error, by route and status."), labels: [("route", route), ("status", String(status))]).increment()
        }
        registry.makeDurationHistogram(descriptor: Self.name("request_duration", "seconds", "Latency from request to response, by route."), labels: [("route", route)],
                                       buckets: Self.latencyBuckets)
            .record(duration)
    }

    func batch(lines count: Int, sourceTokens source: Int, targetTokens target: Int, duration: Duration) {
        batches.increment()
        lines.increment(by: Int64(count))
        sourceTokens.increment(by: Int64(source))
        targetTokens.increment(by: Int64(target))
        batchLines.record(Double(count))
        batchTokens.record(Double(source))
        batchSeconds.record(duration)
    }

    func queue(lines count: Int) { queueLines.set(Double(count)) }
    func rejected() { rejectedRequests.increment() }
    func translationFailed() { failures.increment() }

    /// The exposition text.
    public func text() -> String { registry.emitToString() }
}
