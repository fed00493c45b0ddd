import Foundation
import Hummingbird
import HummingbirdTesting
import NMT
import Testing
@testable import NMTServer

/// /, /spec, /metrics, /health, /detect and the HTML and form parsers.
@Suite struct ServiceEndpointTests {
    @Test func servesThePageAndTheSpecAsCommitted() async throws {
        let page = try String(contentsOfFile: Support.path("Sources/NMTServer/Assets/index.html"), encoding: .utf8)
        let spec = try String(contentsOfFile: Support.path("docs/openapi.yaml"), encoding: .utf8)
        try await Support.app().test(.router) { client in
            let served = try await client.execute(uri: "/", method: .get)
            #expect(served.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(String(buffer: served.body) == page, "run tools/embed_assets.py after editing index.html")
            let servedSpec = try await client.execute(uri: "/spec", method: .get)
            #expect(String(buffer: servedSpec.body) == spec, "run tools/embed_assets.py after editing docs/openapi.yaml")
            // The page asks for attention and has its view (tools/page_check.py hovers it in Chromium).
            #expect(page.contains("attention: $(\"show-attention\").checked") && page.contains("<div id=\"attention\">"))
        }
    }

    @Test func healthMetricsDetectAndSettings() async throws {
        try await Support.app().test(.router) { client in
            #expect(Support.object(try await client.execute(uri: "/health", method: .get))?["status"] as? String == "ok")
            _ = try await client.postJSON("/translate", ["q": "A dog.", "source": "en", "target": "de"])
            _ = try await client.postJSON("/translate", ["q": 1])
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            for name in ["nmt_requests_total{route=\"/translate\",status=\"200\"} 1", "nmt_errors_total{route=\"/translate\",status=\"400\"} 1",
                         "nmt_source_tokens_total", "nmt_target_tokens_total", "nmt_batch_lines_bucket", "nmt_queue_lines",
                         "nmt_request_duration_seconds_bucket"] {
                #expect(metrics.contains(name), "\(name)")
            }
            let detect = try await client.postForm("/detect", "q=A+dog+runs+on+the+beach.")
            let guesses = try JSONSerialization.jsonObject(with: Data(buffer: detect.body)) as? [[String: Any]]
            #expect(guesses?.first?["language"] as? String == "en")
            #expect((guesses?.first?["confidence"] as? Double).map { $0 > 50 && $0 <= 100 } == true)
            let settings = Support.object(try await client.execute(uri: "/frontend/settings", method: .get))
            #expect(settings?["charLimit"] as? Int == 5000)
        }
    }

    @Test func htmlParts() {
        let html = HTMLText("<div title='a>b'> Hello &amp; <i>good</i> bye&#33; </div><style>p { x: '<a>' }</style>&nbsp;")
        #expect(html.texts == ["Hello &", "good", "bye!"])
        #expect(html.assemble(["H<", "g", "b"]) == "<div title='a>b'> H&lt; <i>g</i> b </div><style>p { x: '<a>' }</style>&nbsp;")
        #expect(HTMLText("no markup at all").texts == ["no markup at all"])
        #expect(HTMLText("a < b and c > d").texts == ["a < b and c > d"])
        #expect(HTMLText("<p>unclosed <!-- comment").assemble(["x"]) == "<p>x <!-- comment")
    }

    @Test func formFields() throws {
        let fields = try RequestFields(body: Array("q=a+b%21&q=c&source=en&alternatives=2&empty=".utf8),
                                       contentType: "application/x-www-form-urlencoded; charset=utf-8")
        #expect(fields["q"] == .strings(["a b!", "c"]))
        #expect(try fields.string("source") == "en")
        #expect(try fields.integer("alternatives") == 2)
        #expect(try fields.string("empty") == "")
        // No content type: JSON when it looks like JSON, else a form.
        #expect(try RequestFields(body: Array(" {\"q\": true}".utf8), contentType: nil)["q"] == .bool(true))
        #expect(try RequestFields(body: Array("q=x".utf8), contentType: nil)["q"] == .string("x"))
    }
}
