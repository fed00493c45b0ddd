import Foundation
import Synchronization
import Testing
@testable import NMTText

@Suite struct SentenceSplitterTests {
    static let inputs = [
        "",
        " ",
        " \t\n  ",
        "No final punctuation",
        "One sentence.",
        "Hello world.  How are you?\nFine! ",
        "   Leading and trailing.   Spaces.   ",
        "Windows\r\nline endings.\r\nHere.",
        "今日は晴れです。明日は雨でしょう！本当？はい",
        "中文句子。第二句。 第三句",
        "I love 🍕. Do you? 👍🏽 Yes! 👨‍👩‍👧 is a family. 🇫🇷 is a flag.",
        "Cafe\u{301} is nice. Nai\u{308}ve e\u{301}. \u{301}Odd start. Done",
        "x\u{3000}y。 z\u{00A0}.\u{00A0}w.",
        "\"Quoted.\" Then (parenthesised.) And 'single!' ok?",
        "Ellipsis... and more... End...",
        "Mr. Smith went to Washington. He arrived at 3 p.m. today.",
        "a.\u{2029}b.\u{2028}c",
    ]

    @Test(arguments: inputs)
    func coversTheInputExactly(_ input: String) throws {
        for splitter in [SentenceSplitter(), SentenceSplitter(suppressesAbbreviations: false), SentenceSplitter(locale: "ja")] {
            expectWellFormed(try splitter.split(input))
        }
    }

    @Test func emptyAndWhitespaceOnly() throws {
        #expect(try SentenceSplitter().split("").segments.isEmpty)
        let blank = try SentenceSplitter().split(" \t\n ")
        #expect(blank.segments.map(\.kind) == [.separator])
        #expect(blank.texts.isEmpty)
    }

    @Test func ordinarySentencesSplitAtPeriodsExclamationsQuestionsAndQuotes() throws {
        let line = try SentenceSplitter().split("It rained. Did it?  Yes!\nHe said \"Stop!\" Then he left. Done")
        #expect(line.pieces == [
            "It rained.", " ", "Did it?", "  ", "Yes!", "\n", "He said \"Stop!\"", " ", "Then he left.", " ", "Done",
        ])
        #expect(line.segments.map(\.kind) == [.text, .separator, .text, .separator, .text, .separator, .text,
                                              .separator, .text, .separator, .text])
    }

    @Test func leadingAndTrailingWhitespaceAreSeparators() throws {
        let line = try SentenceSplitter().split("  One.  Two.  ")
        #expect(line.pieces == ["  ", "One.", "  ", "Two.", "  "])
    }

    /// What ICU 72 decides, checked by running it: its plain rules end a sentence after "Mr." when a
    /// capital follows and keep "p.m. today" together (a lowercase word follows); its English
    /// suppression list keeps "Mr." going but not "Dr.".
    @Test func abbreviationsAsICUDecides() throws {
        let text = "Mr. Smith went to Washington. He arrived at 3 p.m. today."
        let plain = SentenceSplitter(suppressesAbbreviations: false)
        #expect(try plain.split(text).texts == ["Mr.", "Smith went to Washington.", "He arrived at 3 p.m. today."])
        #expect(try SentenceSplitter().split(text).texts == ["Mr. Smith went to Washington.", "He arrived at 3 p.m. today."])

        let capital = "He arrived at 3 p.m. Today he left."
        #expect(try SentenceSplitter().split(capital).texts == ["He arrived at 3 p.m.", "Today he left."])
        #expect(try SentenceSplitter().split("Dr. Jones went home.").texts == ["Dr.", "Jones went home."])
        #expect(try SentenceSplitter().split("Mrs. Smith and Prof. Lee met. They talked.").texts
                    == ["Mrs. Smith and Prof. Lee met.", "They talked."])
        #expect(try plain.split("Mrs. Smith and Prof. Lee met. They talked.").texts
                    == ["Mrs.", "Smith and Prof.", "Lee met.", "They talked."])
        // A period inside a number or before a lowercase word ends nothing.
        #expect(try plain.split("Version 3.14 is out. e.g. this one. OK").texts
                    == ["Version 3.14 is out. e.g. this one.", "OK"])
    }

    @Test func chineseAndJapaneseFullStops() throws {
        #expect(try SentenceSplitter(locale: "ja").split("今日は晴れです。明日は雨でしょう！本当？はい").pieces
                    == ["今日は晴れです。", "明日は雨でしょう！", "本当？", "はい"])
        #expect(try SentenceSplitter(locale: "zh").split("中文句子。第二句。 第三句").pieces
                    == ["中文句子。", "第二句。", " ", "第三句"])
    }

    /// ICU counts in UTF-16 and a pizza or a family emoji takes two or more code units (and several
    /// scalars): the offsets must map back onto the right String indices.
    @Test func offsetsAcrossEmojiAndCombiningCharacters() throws {
        let line = try SentenceSplitter().split("🍕 A. 👨‍👩‍👧 B. E\u{301}! C")
        #expect(line.pieces == ["🍕 A.", " ", "👨‍👩‍👧 B.", " ", "E\u{301}!", " ", "C"])
        #expect(line.segments.map(\.utf16Range) == [0..<5, 5..<6, 6..<17, 17..<18, 18..<21, 21..<22, 22..<23])
    }

    @Test func reassemblesTranslationsWithTheSourceSeparators() throws {
        let line = try SentenceSplitter().split(" One.\n\nTwo?  Three ")
        #expect(line.reassembled { $0.uppercased() + "#" } == " ONE.#\n\nTWO?#  THREE# ")
        enum Failure: Error { case refused }
        #expect(throws: Failure.self) { try line.reassembled { (_: Substring) throws(Failure) -> String in throw .refused } }
    }

    /// Each thread caches its ICU iterators and closes them when it exits (a server's dispatch
    /// threads come and go): 64 threads that split with two locales agree with this one, and once
    /// they have been joined their iterators are closed. (Other tests' threads may open a few
    /// meanwhile, hence the slack; a leak leaves one per thread, 64.)
    @Test func shortLivedThreadsSplitAlikeAndCloseTheirIterators() throws {
        let expected = try Self.threadSplitters.map { try $0.split(Self.threadText).pieces }
        _ = expected  // this thread's iterators are open before the count is taken
        let before = icuIteratorsOpen
        var threads: [pthread_t] = []
        for _ in 0..<64 {
            var thread = pthread_t()
            #expect(pthread_create(&thread, nil, { _ in
                let pieces = SentenceSplitterTests.threadSplitters.map { (try? $0.split(SentenceSplitterTests.threadText).pieces) ?? [] }
                SentenceSplitterTests.threadResults.withLock { $0.append(pieces) }
                return nil
            }, nil) == 0)
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
        let results = Self.threadResults.withLock { $0 }
        #expect(results.count == 64)
        #expect(results.allSatisfy { $0 == expected })
        #expect(icuIteratorsOpen - before < 32, "\(icuIteratorsOpen - before) iterators left open by exited threads")
    }

    static let threadText = "Mr. Smith went to Washington. He arrived at 3 p.m. today. 今日は晴れです。明日は雨"
    static let threadSplitters = [SentenceSplitter(), SentenceSplitter(locale: "ja")]
    static let threadResults = Mutex<[[[String]]]>([])
}
