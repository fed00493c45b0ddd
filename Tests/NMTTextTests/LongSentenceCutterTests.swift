import Testing
import NMTText

@Suite struct LongSentenceCutterTests {
    static func words(_ text: Substring) -> Int { text.split(separator: " ").count }
    static func atMost(_ limit: Int) -> (Substring) -> Bool { { words($0) <= limit } }

    func cut(_ text: String, _ fits: (Substring) -> Bool, cutter: LongSentenceCutter = LongSentenceCutter()) throws -> SegmentedText {
        let line = try cutter.cut(text, fits: fits)
        expectWellFormed(line)
        return line
    }

    @Test func textThatFitsStaysWhole() throws {
        #expect(try cut("  one two, three  ", Self.atMost(3)).pieces == ["  ", "one two, three", "  "])
        #expect(try cut("", Self.atMost(3)).segments.isEmpty)
        #expect(try cut(" \n ", Self.atMost(3)).pieces == [" \n "])
        var calls = 0
        _ = try cut("a sentence that fits", { _ in calls += 1; return true })
        #expect(calls == 1)
    }

    @Test func clausePunctuationIsPreferredToALongerCutAtAWord() throws {
        let line = try cut("one two three, four five six seven eight", Self.atMost(5))
        #expect(line.pieces == ["one two three,", " ", "four five six seven eight"])
        // Semicolon, colon, em dash (no spaces round it) and en dash.
        #expect(try cut("alpha beta; gamma delta epsilon zeta", Self.atMost(4)).texts
                    == ["alpha beta;", "gamma delta epsilon zeta"])
        #expect(try cut("alpha beta: gamma delta epsilon zeta", Self.atMost(4)).texts
                    == ["alpha beta:", "gamma delta epsilon zeta"])
        #expect(try cut("alpha beta—gamma delta epsilon zeta", { $0.count <= 16 }).pieces
                    == ["alpha beta—", "gamma delta", " ", "epsilon zeta"])
        #expect(try cut("alpha beta – gamma delta epsilon zeta", Self.atMost(4)).texts
                    == ["alpha beta –", "gamma delta epsilon zeta"])
        // Through a closing quote.
        #expect(try cut("\"Yes,\" he said to her and then left", Self.atMost(5)).texts
                    == ["\"Yes,\"", "he said to her and", "then left"])
    }

    @Test func theLongestFittingClauseWins() throws {
        #expect(try cut("a, b, c, d e f g h", Self.atMost(5)).texts == ["a, b, c,", "d e f g h"])
    }

    @Test func aCommaInsideANumberIsNotAClauseBoundary() throws {
        #expect(try cut("we paid 3,000 dollars for it today", Self.atMost(4)).texts
                    == ["we paid 3,000 dollars", "for it today"])
        #expect(try cut("see x,y and then z,w now", Self.atMost(3)).texts == ["see x,y and", "then z,w now"])
    }

    @Test func fullWidthPunctuationAndIdeographs() throws {
        let cutter = LongSentenceCutter(locale: "ja")
        // Japanese has no spaces: clause cuts at 、 and ， then ICU's line breaks between characters.
        let japanese = try cut("今日は、晴れです，明日は雨でしょう", { $0.count <= 6 }, cutter: cutter)
        // ICU's Japanese line breaking (by default) allows a break before a small kana like ょ.
        #expect(japanese.pieces == ["今日は、", "晴れです，", "明日は雨でし", "ょう"])
        #expect(try cut("甲乙丙；丁戊己：庚辛壬癸", { $0.count <= 5 }, cutter: cutter).pieces
                    == ["甲乙丙；", "丁戊己：", "庚辛壬癸"])
    }

    @Test func aRunWithoutWhitespaceIsCutAtCharacters() throws {
        let run = String(repeating: "x", count: 120)
        let line = try cut("start " + run + " end", { $0.count <= 50 })
        // A word boundary beats characters ("start" alone), and the last part keeps its space.
        #expect(line.texts.map(\.count) == [5, 50, 50, 24])
        #expect(line.pieces[1] == " " && line.texts.last!.hasSuffix("x end"))
    }

    @Test func emojiAreCutBetweenCharactersNeverInside() throws {
        let text = String(repeating: "👨‍👩‍👧🇫🇷e\u{301}", count: 10)
        let line = try cut(text, { $0.count <= 7 })
        #expect(line.texts.map(\.count) == [7, 7, 7, 7, 2])
        #expect(line.texts.allSatisfy { $0.count <= 7 })
    }

    @Test func aCharacterThatFitsNowhereStandsAloneAndCuttingEnds() throws {
        #expect(try cut("abc", { _ in false }).pieces == ["a", "b", "c"])
        #expect(try cut("ab  c", { _ in false }).pieces == ["a", "b", "  ", "c"])
        #expect(try cut("🇫🇷x", { $0.unicodeScalars.count < 2 }).pieces == ["🇫🇷", "x"])
    }

    @Test func cuttingOnlyTheSentencesThatDoNotFit() throws {
        let line = try SentenceSplitter().split("Short one.  This one is too long, so it is cut. End.")
            .cuttingLongTexts(fits: Self.atMost(5))
        expectWellFormed(line)
        #expect(line.pieces == ["Short one.", "  ", "This one is too long,", " ", "so it is cut.", " ", "End."])
    }

    static let vocabulary = ["the", "model", "translates", "a", "sentence", "into", "German", "while", "keeping",
                             "every", "word", "of", "its", "source", "and", "longer", "lines", "are", "cut",
                             "Zürich", "naïve", "🍕", "日本"]

    /// A line of `count` words drawn from a fixed list; `punctuation` words are followed by one
    /// of the given marks, one time in `every`.
    static func randomLine(words count: Int, seed: UInt64, punctuation: [String], every: Int) -> String {
        var random = SplitMix64(state: seed)
        var words: [String] = []
        for _ in 0..<count {
            var word = vocabulary.randomElement(using: &random)!
            if !punctuation.isEmpty, Int.random(in: 0..<every, using: &random) == 0 {
                word += punctuation.randomElement(using: &random)!
            }
            words.append(word)
        }
        return words.joined(separator: " ")
    }

    @Test func fiveThousandWordsWithoutPunctuationInPartsOfExactlyFifty() throws {
        let text = Self.randomLine(words: 5000, seed: 1, punctuation: [], every: 1)
        var calls = 0
        let line = try SentenceSplitter().split(text).cuttingLongTexts(fits: { calls += 1; return Self.words($0) <= 50 })
        expectWellFormed(line)
        #expect(line.reassembled { String($0) } == text)
        // Greedy and longest: every part but the last has exactly the limit.
        #expect(line.texts.map(Self.words) == Array(repeating: 50, count: 100))
        #expect(line.pieces.filter { $0 == " " }.count == 99)
        // About 2·log₂(50) calls per part, far from one per character (~300 per part).
        #expect(calls <= 100 * 16, "fits called \(calls) times for 100 parts")
    }

    @Test(arguments: [
        (2 as UInt64, [",", ";", ":"], 7),  // clauses, no sentence ends: one 5,000-word sentence
        (3, [",", ".", "!", "?", ";"], 12),  // sentences, some longer than the limit
        (4, [" —", "—", ",", "\""], 30),  // sparse clauses, dashes with and without spaces
    ])
    func fiveThousandWordsWithPunctuation(seed: UInt64, punctuation: [String], every: Int) throws {
        let text = Self.randomLine(words: 5000, seed: seed, punctuation: punctuation, every: every)
        let fits = Self.atMost(50)
        let sentences = try SentenceSplitter().split(text)
        let line = try sentences.cuttingLongTexts(fits: fits)
        expectWellFormed(line)
        #expect(line.reassembled { String($0) } == text)
        #expect(line.texts.allSatisfy { fits($0) })
        #expect(line.texts.count > sentences.texts.count || punctuation.contains("."))

        // A part that is followed by another part of the same sentence was cut at the best boundary:
        // if it does not end a clause, no clause boundary was inside it (it would have fitted).
        let clauseEnds = [",", ";", ":", "—", ",\"", ";\"", ":\"", "—\""]
        for part in line.texts where !sentences.texts.contains(where: { $0.endIndex == part.endIndex }) {
            if !clauseEnds.contains(where: part.hasSuffix) {
                #expect(!clauseEnds.contains(where: { part.contains($0 + " ") }), "\(part)")
            }
        }
    }
}
