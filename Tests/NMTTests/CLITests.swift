import CKernels
import Foundation
import Synchronization
import Testing

/// The `translate` executable end to end: line alignment, formats, errors and exit codes.
@Suite struct CLITests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [Substring] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast() }
    }

    static var executable: URL {
        // The test bundle's resources sit beside the built products.
        Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("translate")
    }

    static let model = Fixtures.url("marian-shared.bin").path

    /// environment: variables added to this process's for the run.
    static func run(_ arguments: [String], input: [UInt8] = [], environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                   stderr: String(decoding: err, as: UTF8.self))
    }

    @Test func oneOutputLinePerInputLine() throws {
        var input = Array("Two dogs play in the snow.\n\n   \nA man.\r\nnul\u{0}byte and \u{7}bell\n".utf8)
        input += [0x41, 0xFF, 0xFE, 0x42, 0x0A]  // invalid UTF-8
        input += Array((String(repeating: "a dog runs and ", count: 40) + "\n").utf8)  // > 64 positions
        input += Array("last line without newline".utf8)
        for split in ["sentences", "long", "none"] {
            let run = try Self.run(["--model", Self.model, "--beam-size", "2", "--max-length", "6", "--split", split],
                                   input: input)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.lines.count == 8)
            // Only `none` truncates; the other modes cut the long line into parts that fit.
            #expect(run.stderr.contains("line 7: longer than the model's 64 positions") == (split == "none"))
            #expect(run.lines[1].isEmpty && run.lines[2].isEmpty)
            #expect(!run.lines[0].isEmpty && !run.lines[3].isEmpty && !run.lines[6].isEmpty && !run.lines[7].isEmpty)
            #expect(run.stderr.contains("line 6: invalid UTF-8"))
        }
    }

    /// The command line prints what transformers generated for the fixture's sentences, and reads a
    /// file given as an argument like standard input.
    @Test func translatesAsTransformersDoes() throws {
        let reference = try Fixtures.reference("marian-shared")
        let input = Array((reference.sentences.joined(separator: "\n") + "\n").utf8)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("input-\(UUID()).txt")
        try Data(input).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        for search in reference.searches where search.min_length == 0 {
            let options = ["--model", Self.model, "--beam-size", "\(search.beam_size)", "--max-length",
                           "\(search.max_length)", "--length-penalty", "\(search.length_penalty)"]
            let run = try Self.run(options, input: input)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.lines.map(String.init) == search.texts, "\(options)")
            #expect(try Self.run(options + [path.path]).stdout == run.stdout)
        }
    }

    @Test func nBestInTextIsMarianFormat() throws {
        let run = try Self.run(["--model", Self.model, "--beam-size", "3", "--n-best", "2", "--max-length", "6"],
                               input: Array("Two dogs.\nA man.\n".utf8))
        #expect(run.status == 0)
        #expect(run.lines.count == 4)
        for (i, line) in run.lines.enumerated() {
            let fields = line.components(separatedBy: " ||| ")
            #expect(fields.count == 3 && fields[0] == "\(i / 2)" && Float(fields[2]) != nil, "\(line)")
        }
    }

    @Test func versionIsPrinted() throws {
        let run = try Self.run(["--version"])
        #expect(run.status == 0 && !run.stdout.isEmpty)
    }

    @Test func manyLinesStreamThrough() throws {
        let input = Array(String(repeating: "A dog.\nTwo men sit.\n", count: 600).utf8)
        let run = try Self.run(["--model", Self.model, "--beam-size", "1", "--max-length", "3", "--batch-size", "64"],
                               input: input)
        #expect(run.status == 0)
        #expect(run.lines.count == 1200)
    }

    /// On a CPU with AVX-512, the AVX2 kernels (`NMT_ISA=avx2`, as on a CPU without AVX-512) give
    /// the same bytes: translations, scores, n-best lists and every attention weight of tiny.bin.
    @Test func sameBytesWithAVX2AndAVX512() throws {
        guard nmt_cpu_supports(NMT_AVX512) != 0 else {
            print("CLI: AVX2 against AVX-512 skipped, this CPU lacks AVX-512")
            return
        }
        let input = Array(("Two young, White males are outside near many bushes.\n" +
                           "A man in an orange hat starring at something. Several men in hard hats are operating a giant pulley system.\n" +
                           "A little girl climbing into a wooden playhouse.\n").utf8)
        for options in [["--beam-size", "4", "--n-best", "2", "--attention", "--attention-heads", "all"], ["--beam-size", "1"],
                        ["--beam-size", "4", "--compute-type", "i8"]] {
            let arguments = ["--model", TinyModelTests.modelPath, "--output-format", "json"] + options
            let wide = try Self.run(arguments, input: input, environment: ["NMT_ISA": "avx512"])
            let narrow = try Self.run(arguments, input: input, environment: ["NMT_ISA": "avx2"])
            #expect(wide.status == 0 && narrow.status == 0, "\(wide.stderr)\(narrow.stderr)")
            #expect(wide.lines.count == 3 && wide.stdout == narrow.stdout, "\(options)")
        }
    }

    @Test func jsonOutput() throws {
        let run = try Self.run(["--model", Self.model, "--output-format", "json", "--beam-size", "3", "--n-best", "2",
                                "--max-length", "6"], input: Array("Two dogs.\n\n".utf8))
        #expect(run.status == 0)
        #expect(run.lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(run.lines[0].utf8)) as! [String: Any]
        #expect((first["nbest"] as! [Any]).count == 2)
        #expect(first["translation"] is String && first["score"] is Double && first["tokens"] is [String])
        let segments = first["segments"] as! [[String: Any]]
        #expect(segments.count == 1 && segments[0]["utf16_start"] as? Int == 0 && segments[0]["utf16_end"] as? Int == 9)
        let empty = try JSONSerialization.jsonObject(with: Data(run.lines[1].utf8)) as! [String: Any]
        #expect(empty["translation"] as? String == "")
    }

    /// --alignment (text and JSON), --attention and --attention-map on a line of two sentences.
    @Test func alignmentAndAttention() throws {
        let input = "Two dogs play in the snow. A man is walking.\nPeople are walking down the street!\n"
        let text = try Self.run(["--model", Self.model, "--alignment", "--max-length", "8"], input: Array(input.utf8))
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.lines.count == 2)
        let sources = input.split(separator: "\n")
        var textPairs: [[[Int]]] = []
        for (line, source) in zip(text.lines, sources) {
            let parts = line.components(separatedBy: " ||| ")
            #expect(parts.count == 2, "\(line)")
            let pairs = parts[1].split(separator: " ").map { $0.split(separator: "-").map { Int($0)! } }
            #expect(!pairs.isEmpty)
            for pair in pairs {
                #expect(pair.count == 2 && (0..<source.split(separator: " ").count).contains(pair[0]))
                #expect((0..<parts[0].split(separator: " ").count).contains(pair[1]), "\(line)")
            }
            textPairs.append(pairs)
        }
        let mapDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("attention-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: mapDirectory) }
        let json = try Self.run(["--model", Self.model, "--alignment", "--attention", "--max-length", "8",
                                 "--output-format", "json", "--attention-map", mapDirectory], input: Array(input.utf8))
        #expect(json.status == 0, "\(json.stderr)")
        for (number, line) in json.lines.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(object["alignment"] as? [[Int]] == textPairs[number], "the same pairs as in text")
            let attention = object["attention"] as! [[String: Any]]
            #expect(attention.count == (number == 0 ? 2 : 1), "one entry per sentence")
            for entry in attention {
                let weights = entry["weights"] as! [[Double]]
                let source = entry["source_pieces"] as! [String], target = entry["target_pieces"] as! [String]
                #expect(source.last == "</s>" && weights.count == target.count)
                for row in weights {
                    #expect(row.count == source.count && abs(row.reduce(0, +) - 1) < 1e-4)
                }
            }
            let page = try String(contentsOfFile: "\(mapDirectory)/line-00000\(number + 1).html", encoding: .utf8)
            #expect(page.contains("<svg") && page.contains("dogs") == (number == 0))
        }
        let heads = try Self.run(["--model", Self.model, "--attention", "--attention-heads", "all", "--attention-layer", "0",
                                  "--max-length", "4", "--output-format", "json"], input: Array("Two dogs.\n".utf8))
        let object = try JSONSerialization.jsonObject(with: Data(heads.lines[0].utf8)) as! [String: Any]
        let entry = (object["attention"] as! [[String: Any]])[0]
        #expect((entry["heads"] as! [[[Double]]]).count == 4 && entry["layer"] as? Int == 0 && entry["weights"] == nil)
    }

    @Test(arguments: [["--beam-size", "0"], ["--batch-size", "0"], ["--threads", "0"], ["--max-length", "-1"],
                      ["--min-length", "-2"], ["--output-format", "xml"], ["--n-best", "5", "--beam-size", "2"],
                      ["--no-such-option"], ["--attention"], ["--alignment", "--n-best", "2"],
                      ["--alignment", "--attention-layer", "2"], ["--alignment", "--attention-heads", "some"]])
    func badOptionsExitWithStatus2(arguments: [String]) throws {
        let run = try Self.run(["--model", Self.model] + arguments)
        #expect(run.status == 2, "\(arguments): \(run.stderr)")
        #expect(run.stderr.hasPrefix("error: "))
    }

    @Test func missingOrDamagedModelIsOneLineAndNonZero() throws {
        let missing = try Self.run(["--model", "/nonexistent/model.bin"], input: Array("Hi\n".utf8))
        #expect(missing.status == 1)
        #expect(missing.stderr == "error: cannot open model file '/nonexistent/model.bin': No such file or directory\n")
        let damaged = FileManager.default.temporaryDirectory.appendingPathComponent("damaged-\(UUID()).bin")
        try Data(try Fixtures.bytes("marian-shared.bin").prefix(5000)).write(to: damaged)
        defer { try? FileManager.default.removeItem(at: damaged) }
        let run = try Self.run(["--model", damaged.path], input: Array("Hi\n".utf8))
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("error: ") && run.stderr.filter { $0 == "\n" }.count == 1, "\(run.stderr)")
    }

    /// An input that cannot be read (here a directory: read(2) fails with EISDIR) is an error
    /// with exit status 1, not an empty translation.
    @Test func unreadableInputIsAnError() throws {
        let run = try Self.run(["--model", Self.model, FileManager.default.temporaryDirectory.path])
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.hasPrefix("error: cannot read the input after line 0") && run.stderr.hasSuffix("Is a directory\n"),
                "\(run.stderr)")
    }

    @Test func closedPipeEndsQuietly() throws {
        let input = String(repeating: "A dog runs.\n", count: 3000)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lines-\(UUID()).txt")
        try input.write(to: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: path) }
        let run = try Self.run(["-c", "'\(Self.executable.path)' --model '\(Self.model)' --beam-size 1 --max-length 3 " +
                                      "--batch-size 8 --input '\(path.path)' | head -1; echo \"status ${PIPESTATUS[0]}\""],
                               shell: true)
        #expect(run.lines.count == 2)
        #expect(run.stderr.isEmpty, "\(run.stderr)")
        #expect(run.lines[1] == "status 0" || run.lines[1] == "status 141")
    }

    /// Fed line by line through a pipe, each translation comes out while the input is still open
    /// (the read-ahead window does not wait to fill), and the run ends normally at the end.
    @Test func aPipeFedLineByLineGetsEachTranslationAtOnce() throws {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["--model", Self.model, "--beam-size", "1", "--max-length", "4"]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // Everything the process writes, collected by a reader thread until the pipe closes.
        final class Output: Sendable {
            let data = Mutex(Data())
            var lines: Int { data.withLock { $0.filter { $0 == 0x0A }.count } }
        }
        let output = Output()
        let handle = stdout.fileHandleForReading
        Thread {
            while case let data = handle.availableData, !data.isEmpty { output.data.withLock { $0 += data } }
        }.start()
        func waitForLines(_ lines: Int) -> Bool {
            let deadline = Date().addingTimeInterval(60)
            while output.lines < lines && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            return output.lines >= lines
        }
        for (n, line) in ["A dog runs.\n", "Two men are talking.\n", "\n"].enumerated() {
            stdin.fileHandleForWriting.write(Data(line.utf8))
            #expect(waitForLines(n + 1), "no output for line \(n + 1) while the input stayed open")
        }
        try stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(waitForLines(3) && output.lines == 3)
    }

    @Test func helpExplainsTheOptions() throws {
        let run = try Self.run(["--help"])
        #expect(run.status == 0)
        for option in ["--model", "--beam-size", "--n-best", "--length-penalty", "--max-length", "--min-length",
                       "--batch-size", "--batch-tokens", "--read-ahead", "--split", "--threads", "--output-format",
                       "--input", "--output", "--verbose", "--version", "completion"] {
            #expect(run.stdout.contains(option), "\(option)")
        }
    }
}

extension CLITests {
    static func run(_ arguments: [String], shell: Bool) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = arguments
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                   stderr: String(decoding: err, as: UTF8.self))
    }
}
