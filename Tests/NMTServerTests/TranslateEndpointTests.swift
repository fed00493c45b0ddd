import Foundation
import Hummingbird
import HummingbirdTesting
import NMT
import Testing
@testable import NMTServer

/// POST /translate and GET /languages give what LibreTranslate's clients expect, and each line
/// the same translation as the library (the translate command) with the same options.
@Suite struct TranslateEndpointTests {
    @Test func languagesListEnglishToGerman() async throws {
        try await Support.app().test(.router) { client in
            let response = try await client.execute(uri: "/languages", method: .get)
            #expect(response.status == .ok)
            let languages = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [[String: Any]]
            let english = languages?.first { $0["code"] as? String == "en" }
            #expect(english?["name"] as? String == "English")
            #expect(english?["targets"] as? [String] == ["de"])
            #expect(languages?.contains { $0["code"] as? String == "de" } == true)
        }
    }

    @Test func translatesJSONAndFormBodiesAsTheLibrary() async throws {
        let line = "Two children are playing in the sand at the beach."
        let expected = try Support.expected([line])[0].text
        try await Support.app().test(.router) { client in
            let json = try await client.postJSON("/translate", ["q": line, "source": "en", "target": "de"])
            #expect(json.status == .ok)
            #expect(Support.object(json)?["translatedText"] as? String == expected)
            #expect(Support.object(json)?["alternatives"] == nil)
            let form = try await client.postForm("/translate", "q=Two+children+are+playing+in+the+sand+at+the+beach.&source=en&target=de")
            #expect(Support.object(form)?["translatedText"] as? String == expected)
        }
    }

    @Test func arraysLinesAlternativesAndAutoDetection() async throws {
        let texts = ["A dog runs on the beach.", "", "Two men are talking.\nA woman sings."]
        let lines = ["A dog runs on the beach.", "", "Two men are talking.", "A woman sings."]
        let expected = try Support.expected(lines, nBest: 2)
        try await Support.app().test(.router) { client in
            let response = try await client.postJSON("/translate", ["q": texts, "source": "auto", "target": "de", "alternatives": 1])
            #expect(response.status == .ok)
            let object = Support.object(response)
            #expect(object?["translatedText"] as? [String] ==
                    [expected[0].text, "", expected[2].text + "\n" + expected[3].text])
            let alternatives = object?["alternatives"] as? [[String]]
            #expect(alternatives?.count == 3)
            #expect(alternatives?[0] == [expected[0].hypotheses[1].text])
            #expect(alternatives?[1] == [])
            let detected = object?["detectedLanguage"] as? [[String: Any]]
            #expect(detected?.count == 3 && detected?[0]["language"] as? String == "en")
        }
    }

    @Test func htmlKeepsTheMarkup() async throws {
        let html = "<p class=\"x\">A dog runs.</p>\n<!-- a comment --><script>var a = \"<b>\";</script><b>Two men &amp; a woman.</b>"
        let expected = try Support.expected(["A dog runs.", "Two men & a woman."])
        try await Support.app().test(.router) { client in
            let response = try await client.postJSON("/translate", ["q": html, "source": "en", "target": "de", "format": "html"])
            #expect(response.status == .ok)
            let translated = Support.object(response)?["translatedText"] as? String
            #expect(translated == "<p class=\"x\">\(HTMLText.escape(expected[0].text))</p>\n<!-- a comment -->" +
                    "<script>var a = \"<b>\";</script><b>\(HTMLText.escape(expected[1].text))</b>")
        }
    }

    /// Requests sent together are batched, and each still gets exactly its own translations.
    @Test func concurrentRequestsGetTheirOwnTranslations() async throws {
        let lines = (0..<12).map { "Person number \($0) walks down the street." }
        let expected = try Support.expected(lines).map(\.text)
        let metrics = ServerMetrics()
        let batching = ServerBatching(window: .milliseconds(50))
        try await Support.app(Support.configuration(batching: batching), metrics: metrics).test(.router) { client in
            let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for (i, line) in lines.enumerated() {
                    group.addTask {
                        let r = try await client.postJSON("/translate", ["q": line, "source": "en", "target": "de"])
                        return (i, Support.object(r)?["translatedText"] as? String)
                    }
                }
                var answers = [String?](repeating: nil, count: lines.count)
                for try await (i, text) in group { answers[i] = text }
                return answers
            }
            #expect(answers == expected)
        }
        // Fewer translator calls than requests: lines of different requests shared a batch.
        let text = metrics.text()
        let batches = text.split(separator: "\n").first { $0.hasPrefix("nmt_batches_total ") }
        let count = batches.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        #expect(count >= 1 && count < lines.count, "\(batches ?? "no nmt_batches_total")")
    }

    @Test func withoutBatchingEachRequestIsAlone() async throws {
        let metrics = ServerMetrics()
        let lines = ["A dog runs.", "A cat sleeps.", "A man walks."]
        let expected = try Support.expected(lines).map(\.text)
        try await Support.app(Support.configuration(batching: ServerBatching(enabled: false)), metrics: metrics).test(.router) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (line, translation) in zip(lines, expected) {
                    group.addTask {
                        let r = try await client.postJSON("/translate", ["q": line, "source": "en", "target": "de"])
                        #expect(Support.object(r)?["translatedText"] as? String == translation)
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(metrics.text().contains("nmt_batches_total 3"))
    }
}
