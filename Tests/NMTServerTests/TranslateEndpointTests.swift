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

    /// attention: each sentence's words and weights, the same as the library's `WordAttention`
    /// for the same line; the translation unchanged; refused with html.
    @Test func attentionGivesEachSentencesWordWeights() async throws {
        let text = "Two men are talking. A woman sings.\nA dog runs on the beach."
        var options = Support.decoding
        options.attention = true
        let lines = ["Two men are talking. A woman sings.", "A dog runs on the beach."]
        let expected = try await Support.tiny.translator.translate(lines, options: options)
        let words = expected.flatMap { $0.segments.compactMap { WordAttention($0) } }
        #expect(words.count == 3)
        try await Support.app().test(.router) { client in
            let response = try await client.postJSON("/translate", ["q": text, "source": "en", "target": "de", "attention": true])
            #expect(response.status == .ok)
            let object = Support.object(response)
            #expect(object?["translatedText"] as? String == expected[0].text + "\n" + expected[1].text)
            let sentences = try #require(object?["attention"] as? [[String: Any]])
            #expect(sentences.count == words.count)
            for (sentence, want) in zip(sentences, words) {
                #expect(sentence["source"] as? [String] == want.sourceWords)
                #expect(sentence["target"] as? [String] == want.targetWords)
                let weights = try #require(sentence["weights"] as? [[Double]])
                #expect(weights.count == want.targetWords.count)
                for (row, wantRow) in zip(weights, want.weights) {
                    #expect(row.count == want.sourceWords.count)
                    for (got, w) in zip(row, wantRow) { #expect(abs(got - Double(w)) <= 0.0006) }
                    #expect(row.reduce(0, +) <= 1.01)
                }
            }
            #expect(sentences[0]["source"] as? [String] == ["Two", "men", "are", "talking."])
            // Each sentence says where it is: its line, and its UTF-16 range in the whole text.
            let units = Array(text.utf16)
            #expect(sentences.map { $0["line"] as? Int } == [0, 0, 1])
            #expect(sentences.map { s -> String? in
                guard let start = s["start"] as? Int, let end = s["end"] as? Int else { return nil }
                return String(decoding: units[start..<end], as: UTF16.self)
            } == ["Two men are talking.", "A woman sings.", "A dog runs on the beach."])
            let crlf = try await client.postJSON("/translate", ["q": "A dog.\r\nTwo men.", "source": "en", "target": "de", "attention": true])
            let crlfSentences = try #require(Support.object(crlf)?["attention"] as? [[String: Any]])
            #expect(crlfSentences.map { [$0["line"] as? Int, $0["start"] as? Int, $0["end"] as? Int] } == [[0, 0, 6], [1, 8, 16]])
            // Offsets count UTF-16 units (an emoji is two) and restart in each text of an array q.
            let texts = ["👍 A dog runs. Two men talk.", "\n  A woman sings."]
            let arrayOfTexts = try await client.postJSON("/translate", ["q": texts, "source": "en", "target": "de", "attention": true])
            let perText = try #require(Support.object(arrayOfTexts)?["attention"] as? [[[String: Any]]])
            let places = zip(texts, perText).map { text, sentences in
                sentences.map { s -> String in
                    let units = Array(text.utf16)
                    guard let line = s["line"] as? Int, let start = s["start"] as? Int, let end = s["end"] as? Int,
                          0 <= start, start <= end, end <= units.count else { return "bad \(s)" }
                    return "\(line):" + String(decoding: units[start..<end], as: UTF16.self)
                }
            }
            #expect(places == [["0:👍 A dog runs.", "0:Two men talk."], ["1:A woman sings."]])
            // CRLF ends a line as LF does (lines without final punctuation stay apart) and is kept.
            let crlfLines = try Support.expected(["A dog", "Two men"])
            let unpunctuated = try await client.postJSON("/translate", ["q": "A dog\r\nTwo men", "source": "en", "target": "de"])
            #expect(Support.object(unpunctuated)?["translatedText"] as? String == crlfLines[0].text + "\r\n" + crlfLines[1].text)
            // An array q gets an array per text; a form's "true" counts; without it, no field.
            let array = try await client.postForm("/translate", "q=A+woman+sings.&q=Two+men+are+talking.&source=en&target=de&attention=true")
            #expect((Support.object(array)?["attention"] as? [[[String: Any]]])?.map(\.count) == [1, 1])
            let plain = try await client.postJSON("/translate", ["q": text, "source": "en", "target": "de"])
            #expect(Support.object(plain)?["attention"] == nil)
            let html = try await client.postJSON("/translate", ["q": "<b>A dog.</b>", "source": "en", "target": "de",
                                                                "format": "html", "attention": true])
            #expect(html.status == .badRequest)
            let wrong = try await client.postJSON("/translate", ["q": text, "source": "en", "target": "de", "attention": "yes"])
            #expect(wrong.status == .badRequest)
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
