import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NMT

/// The HTTP server: LibreTranslate's API (`POST /translate`, `GET /languages`, `POST /detect`),
/// `GET /health`, `GET /metrics` (Prometheus), `GET /spec` (docs/openapi.yaml) and the web page at
/// `/`, over a `TranslationService`.
///
/// ```swift
/// let model = try ServedModel.load(path: "models/tiny.bin")
/// let app = try TranslationServer.application(models: [model], configuration: ServerConfiguration())
/// try await app.runService()  // until SIGTERM or SIGINT: stops accepting, answers what it has, returns
/// ```
public enum TranslationServer {
    /// Routes counted by name in the metrics.
    static let routes: Set<String> = ["/", "/translate", "/languages", "/detect", "/health", "/metrics", "/spec",
                                      "/frontend/settings"]

    /// The application: its HTTP server and the batcher, run together as services. Graceful
    /// shutdown stops the HTTP server first (no new connections; requests in flight are answered),
    /// then the batcher once its queue is empty.
    public static func application(models: [ServedModel], configuration: ServerConfiguration,
                                   metrics: ServerMetrics = ServerMetrics(),
                                   logger: Logger = Logger(label: "translate-server")) throws(ServerSetupError) -> some ApplicationProtocol {
        guard !models.isEmpty else { throw .invalidLanguages("no model to serve") }
        let batcher = TranslationBatcher(models: models, decoding: configuration.decoding, batching: configuration.batching,
                                         queueLimit: configuration.limits.queueLimit, metrics: metrics)
        let service = try TranslationService(models: models, batcher: batcher, limits: configuration.limits,
                                             apiKeys: configuration.apiKeys, beamSize: configuration.decoding.beamSize)
        let router = self.router(service: service, metrics: metrics)
        return Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1000)))),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: configuration.serverName,
                availableConnectionsDelegate: configuration.maxConnections.map { MaximumAvailableConnections($0) }),
            services: [batcher],
            logger: logger)
    }

    static func router(service: TranslationService, metrics: ServerMetrics) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: APIMiddleware(metrics: metrics, routes: routes))
        // Browser extensions and pages on other origins call LibreTranslate servers directly.
        router.add(middleware: CORSMiddleware(allowOrigin: .all, allowHeaders: [.contentType, .authorization],
                                              allowMethods: [.get, .post, .options]))
        let limits = service.limits

        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: EmbeddedAssets.indexHTML)))
        }
        router.get("/health") { _, _ in
            JSONBody.response(["status": "ok"])
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        router.get("/spec") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: EmbeddedAssets.openAPI)))
        }
        router.get("/languages") { _, _ in
            JSONBody.response(service.languages())
        }
        router.get("/frontend/settings") { _, _ in
            JSONBody.response(FrontendSettings(service: service))
        }
        router.post("/translate") { request, _ in
            let fields = try RequestFields(body: try await RequestBodyReader.read(request, limits: limits),
                                           contentType: request.headers[.contentType])
            let key = try fields.string("api_key")  // a string even when no key is required
            try service.apiKeys?.check(key)
            let translate = try TranslateRequest(fields, limits: limits)
            return JSONBody.response(try await service.translate(translate))
        }
        router.post("/detect") { request, _ in
            let fields = try RequestFields(body: try await RequestBodyReader.read(request, limits: limits),
                                           contentType: request.headers[.contentType])
            let key = try fields.string("api_key")  // a string even when no key is required
            try service.apiKeys?.check(key)
            return JSONBody.response(service.detect(try DetectRequest(fields, limits: limits)))
        }
        return router
    }
}

/// `GET /frontend/settings`, which LibreTranslate's own web page and some clients read.
struct FrontendSettings: Encodable {
    struct Language: Encodable {
        var code: String
        var name: String
    }
    struct Languages: Encodable {
        var source: Language
        var target: Language
    }
    var charLimit: Int
    var keyRequired: Bool
    var apiKeys: Bool
    var suggestions = false
    var filesTranslation = false
    var supportedFilesFormat: [String] = []
    var language: Languages

    init(service: TranslationService) {
        charLimit = service.limits.charLimit ?? -1
        keyRequired = service.apiKeys != nil
        apiKeys = service.apiKeys != nil
        let first = service.models[0]
        language = Languages(source: Language(code: first.source, name: LanguageNames.name(first.source)),
                             target: Language(code: first.target, name: LanguageNames.name(first.target)))
    }
}
