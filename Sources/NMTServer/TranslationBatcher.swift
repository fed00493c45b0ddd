import NMT
import ServiceLifecycle

/// Collects the lines of concurrent requests and translates them together: one `Translator` call
/// per batch, run on a thread of its own (never on an event loop), then each request resumed with
/// its own lines' results. A translation does not depend on the batch it was in (the library
/// guarantees it), so every line gets what the `translate` command would give it.
///
/// One batch runs at a time, across all models: a call already uses every core it is given, and
/// lines that arrive meanwhile wait and form the next batch. A batch holds one model's lines, and
/// either only requests that asked for attention or none: recording it costs the whole batch
/// time (~16% on tiny.bin), which the other requests should not pay. The queue is bounded (`queueLimit`
/// lines); a request that would overflow it is refused with 429 at once.
///
/// As a `Service` it runs until graceful shutdown and then until its queue is empty, so requests
/// the HTTP server accepted before shutting down are answered.
public actor TranslationBatcher: Service {
    private struct Job {
        var model: Int
        var lines: [String]
        var tokens: Int
        var nBest: Int
        var attention: Bool
        var arrival: ContinuousClock.Instant
        var continuation: CheckedContinuation<Result<[Translation], APIError>, Never>

        /// Same model, and the same need for attention.
        func batchesWith(_ other: Job) -> Bool { model == other.model && attention == other.attention }
    }

    private let models: [ServedModel]
    private let decoding: DecodingOptions
    private let batching: ServerBatching
    private let queueLimit: Int
    private let metrics: ServerMetrics?
    private var pending: [Job] = []
    private var queuedLines = 0
    /// Lines waiting (for tests and metrics).
    var queued: Int { queuedLines }
    private var wake: CheckedContinuation<Void, Never>?
    /// The loop while it waits out a collection window, and which window that is (a timer
    /// that fires late must not end a later window).
    private var windowWait: (continuation: CheckedContinuation<Void, Never>, window: Int)?
    private var windows = 0
    private var stopping = false
    /// Requests in the last batch, plus those that waited while it ran: the clients active
    /// lately, whom a collection window waits for.
    private var recentRequests = 0
    private var lastBatchEnded = ContinuousClock.now
    private var running = false
    /// The idle release (`ServerBatching.releaseMemoryAfter`): whether a batch runs now, and
    /// whether a timer is set (one at most, however many batches end with an empty queue; only the
    /// end of a batch sets one, so a timer that fires always has a batch's memory to release).
    private var batchRunning = false
    private var idleTimerSet = false
    /// Times the kept memory was freed after an idle period (for tests).
    private(set) var memoryReleases = 0

    /// decoding: the server's options; `nBest` is set per request (`alternatives`).
    public init(models: [ServedModel], decoding: DecodingOptions, batching: ServerBatching, queueLimit: Int,
                metrics: ServerMetrics? = nil) {
        self.models = models
        self.decoding = decoding
        self.batching = batching
        self.queueLimit = queueLimit
        self.metrics = metrics
    }

    /// Translates `lines` with model `model`, `nBest` hypotheses each (at most the beam size), in
    /// the next batch that has room; with `attention`, the best hypotheses carry their attention. Throws 429 when the queue is full, 503 after shutdown, 500 if
    /// the translator fails.
    public func translate(_ lines: [String], model: Int, nBest: Int, attention: Bool = false) async throws(APIError) -> [Translation] {
        guard !lines.isEmpty else { return [] }
        guard !stopping else { throw APIError(.serviceUnavailable, "The server is shutting down", retryAfter: 1) }
        // An empty queue takes any request (its size is bounded by the character limit).
        guard queuedLines == 0 || queuedLines + lines.count <= queueLimit else {
            metrics?.rejected()
            throw APIError(.tooManyRequests, "Slowdown: the translation queue is full (\(queueLimit) lines); retry later",
                           retryAfter: 1)
        }
        let tokens = Self.tokenCount(lines, models[model].translator)
        queuedLines += lines.count
        metrics?.queue(lines: queuedLines)
        let result = await withCheckedContinuation { continuation in
            pending.append(Job(model: model, lines: lines, tokens: tokens, nBest: max(1, min(nBest, decoding.beamSize)),
                               attention: attention, arrival: .now, continuation: continuation))
            wake?.resume()
            wake = nil
            if let window = windowWait?.window, !windowIsWorthWaiting() { endWindow(window) }
        }
        return try result.get()
    }

    /// Source tokens of the lines (with `</s>`), as the batch budget counts them.
    private static func tokenCount(_ lines: [String], _ translator: Translator) -> Int {
        lines.reduce(0) { total, line in total + ((try? translator.tokenizer.encode(line).count) ?? line.utf8.count) }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.loop()
        } onGracefulShutdown: {
            Task { await self.stop() }
        }
    }

    /// Lets the loop end once the queue is empty.
    public func stop() {
        stopping = true
        wake?.resume()
        wake = nil
    }

    private func loop() async {
        guard !running else { return }
        running = true
        defer { running = false }
        while true {
            guard let first = pending.first else {
                if stopping { return }
                await withCheckedContinuation { wake = $0 }
                continue
            }
            if windowIsWorthWaiting() {
                // From the later of the oldest arrival and the end of the last batch: requests that
                // arrived during a batch have waited already, but the clients of that batch only
                // start coming back when it ends (otherwise two groups alternate in half batches).
                let deadline = max(first.arrival, lastBatchEnded).advanced(by: batching.window)
                if deadline > .now { await waitOutWindow(until: deadline) }
            }
            let batch = takeBatch()
            queuedLines -= batch.reduce(0) { $0 + $1.lines.count }
            metrics?.queue(lines: queuedLines)
            batchRunning = true
            let results = await run(batch)
            batchRunning = false
            recentRequests = batch.count + pending.count
            lastBatchEnded = .now
            for (job, result) in zip(batch, results) { job.continuation.resume(returning: result) }
            if pending.isEmpty { setIdleTimer() }
        }
    }

    /// Wakes `releaseMemoryAfter` after the last batch ended, unless a timer is set already (it
    /// sets itself again for the later deadline).
    private func setIdleTimer() {
        guard let delay = batching.releaseMemoryAfter, !idleTimerSet else { return }
        idleTimerSet = true
        let deadline = lastBatchEnded.advanced(by: delay)
        Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            self.idleTimerFired()  // the task runs on this actor
        }
    }

    /// Frees the translators' kept buffers and hands the free memory back to the system, once
    /// `releaseMemoryAfter` has passed since the last batch with nothing queued or running.
    private func idleTimerFired() {
        idleTimerSet = false
        guard !batchRunning, pending.isEmpty, let delay = batching.releaseMemoryAfter else { return }
        guard ContinuousClock.now >= lastBatchEnded.advanced(by: delay) else { return setIdleTimer() }
        memoryReleases += 1
        let translators = models.map(\.translator)
        Task.detached {
            for translator in translators { translator.releaseKeptBuffers() }
            Allocator.returnFreeMemory()
        }
    }

    /// Whether more requests may join the oldest job's batch if the loop waits: not when the
    /// token budget is already full, and not once as many requests wait as were active lately
    /// (the last batch's, and those that arrived while it ran): then its clients are back. A lone
    /// client never pays the window as latency, and 32 clients do not wait for a 33rd, nor split
    /// into two groups that alternate in half-size batches.
    private func windowIsWorthWaiting() -> Bool {
        guard batching.enabled, batching.window > .zero, let first = pending.first else { return false }
        let alike = pending.filter { $0.batchesWith(first) }
        return alike.count < recentRequests && alike.reduce(0, { $0 + $1.tokens }) < batching.maxTokens
    }

    /// Sleeps until `deadline`, or until a request arrives that makes waiting pointless.
    private func waitOutWindow(until deadline: ContinuousClock.Instant) async {
        windows += 1
        let window = windows
        await withCheckedContinuation { continuation in
            windowWait = (continuation, window)
            Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                self.endWindow(window)  // the task runs on this actor
            }
        }
    }

    private func endWindow(_ window: Int) {
        guard let wait = windowWait, wait.window == window else { return }
        windowWait = nil
        wait.continuation.resume()
    }

    /// The oldest job and, when batching, the jobs after it that batch with it (`batchesWith`)
    /// and fit the token budget, in arrival order.
    private func takeBatch() -> [Job] {
        let first = pending[0]
        var taken = [0], tokens = first.tokens
        if batching.enabled {
            for i in pending.indices.dropFirst() where pending[i].batchesWith(first) {
                if tokens + pending[i].tokens > batching.maxTokens { break }
                taken.append(i)
                tokens += pending[i].tokens
            }
        }
        let batch = taken.map { pending[$0] }
        for i in taken.reversed() { pending.remove(at: i) }
        return batch
    }

    /// One translator call for the batch; each job gets its lines' results with its own n-best.
    private func run(_ batch: [Job]) async -> [Result<[Translation], APIError>] {
        let served = models[batch[0].model]
        var options = decoding
        options.nBest = batch.map(\.nBest).max()!
        options.attention = batch[0].attention  // the same for every job of the batch
        options.scores = false  // the API returns none
        let lines = batch.flatMap(\.lines)
        let started = ContinuousClock.now
        let results: [Translation]
        do {
            results = try await served.translator.translate(lines, options: options, split: .sentences,
                                                            batching: Batching(maxSentences: batching.maxSentences))
        } catch {
            metrics?.translationFailed()
            let failure = APIError(.internalServerError, "Translation failed: \(error)")
            return batch.map { _ in .failure(failure) }
        }
        metrics?.batch(lines: lines.count, sourceTokens: batch.reduce(0) { $0 + $1.tokens },
                       targetTokens: results.reduce(0) { $0 + ($1.hypotheses.first?.ids.count ?? 0) },
                       duration: ContinuousClock.now - started)
        var start = 0
        return batch.map { job in
            defer { start += job.lines.count }
            return .success(results[start..<(start + job.lines.count)].map { translation in
                var trimmed = translation
                trimmed.hypotheses = Array(translation.hypotheses.prefix(job.nBest))
                return trimmed
            })
        }
    }
}
