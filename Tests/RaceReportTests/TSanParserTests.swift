import Testing

@testable import RaceReport

@Suite struct TSanParserTests {
  @Test func parsesARealSwiftAccessRace() throws {
    let result = try Resources.log("counter")
    #expect(result.reports.count == 1)
    #expect(result.announcedWarnings == 1)
    let report = result.reports[0]
    #expect(report.kind == "Swift access race")
    #expect(report.pid == 17069)
    #expect(
      report.blocks.map(\.title) == [
        "Modifying access of Swift variable at 0x555b3fb8be80 by thread T2",
        "Previous write of size 1 at 0x555b3fb8be80 by thread T1",
        "Location is global '$s4racy7counterSivp' of size 8 at 0x555b3fb8be80 (racy-demo+0x14c7e80)",
        "Thread T2 'bumper-1' (tid=17072, running) created by main thread at",
        "Thread T1 'bumper-0' (tid=17071, finished) created by main thread at",
      ])
    #expect(
      report.blocks[1].frames[0]
        == Frame(
          symbol: "$s4racy4bumpyyF", file: "/work/wt-race/fixtures/race/Sources/racy/Racy.swift",
          line: 10, column: 11, module: "racy-demo"))
    #expect(report.summary?.hasPrefix("Swift access race /work/wt-race/") == true)
  }

  @Test func parsesFrameLineVariants() {
    let cases: [(String, Frame)] = [
      (
        "$s4racy4bumpyyF /src/Racy.swift (racy-demo+0x1016d3) (BuildId: 35a6)",
        Frame(symbol: "$s4racy4bumpyyF", file: "/src/Racy.swift", module: "racy-demo")
      ),
      (
        "$s8Dispatch0A5QueueC17concurrentPerform10iterations7executeySi_ySiXEtFZ <null> (libswiftDispatch.so+0x1df20)",
        Frame(
          symbol: "$s8Dispatch0A5QueueC17concurrentPerform10iterations7executeySi_ySiXEtFZ",
          module: "libswiftDispatch.so")
      ),
      (
        "swift::runJobInEstablishedExecutorContext(swift::Job*) crtstuff.c (libswift_Concurrency.so+0x71e5f)",
        Frame(
          symbol: "swift::runJobInEstablishedExecutorContext(swift::Job*)", file: "crtstuff.c",
          module: "libswift_Concurrency.so")
      ),
      (
        "operator new(unsigned long) /src/new.cpp:12 (app+0x10)",
        Frame(symbol: "operator new(unsigned long)", file: "/src/new.cpp", line: 12, module: "app")
      ),
      ("<null> <null> (<unknown module>)", Frame(symbol: nil, module: "<unknown module>")),
      ("0x7f0000001234", Frame(symbol: "0x7f0000001234")),
    ]
    for (text, frame) in cases {
      #expect(FrameLine.parse(text[...]) == frame, "\(text)")
    }
  }

  @Test func keepsReportsWhenProgramOutputInterleaves() throws {
    var lines = try Resources.text("tsan/counter.log").split(
      separator: "\n", omittingEmptySubsequences: false)
    lines.insert("program says hello", at: 8)  // inside the first stack
    lines[1] = "partial line from the program" + lines[1]  // glued to the separator
    let result = TSanParser.parse(lines.joined(separator: "\n"))
    let clean = try Resources.log("counter")
    #expect(result.reports == clean.reports)
    #expect(result.foreignLines == clean.foreignLines + 1)
  }

  @Test func readsTheSameFromAnyChunking() throws {
    let bytes = Array(try Resources.text("tsan/property.log").utf8)
    var parser = TSanParser()
    for start in stride(from: 0, to: bytes.count, by: 7) {
      parser.feed(Array(bytes[start..<min(start + 7, bytes.count)]))
    }
    #expect(parser.finish() == (try Resources.log("property")))
  }

  @Test func collectsUnknownKindsAndCutOffReports() {
    let result = TSanParser.parse(
      """
      ==================
      WARNING: ThreadSanitizer: something new (pid=7)
          #0 $s4racy4bumpyyF /src/Racy.swift:3:1 (racy+0x1)

      SUMMARY: ThreadSanitizer: something new
      ==================
      ==================
      WARNING: ThreadSanitizer: data race (pid=7)
        Write of size 8 at 0x1 by thread T1:
          #0 $s4racy4bumpyyF /src/Racy.swift:3:1 (racy+0x1)
      """)
    #expect(result.reports.map(\.kind) == ["something new", "data race"])
    #expect(
      result.reports[0].blocks == [
        Block(
          title: "",
          frames: [
            Frame(
              symbol: "$s4racy4bumpyyF", file: "/src/Racy.swift", line: 3, column: 1, module: "racy"
            )
          ])
      ])
    #expect(result.reports[1].blocks[0].frames.count == 1)
  }

  @Test func joinsAHeaderContinuedOnTheNextLine() {
    let result = TSanParser.parse(
      """
      WARNING: ThreadSanitizer: data race (pid=7)
        Previous write of size 4 at 0x10 by thread T1
                          (mutexes: write M1, write M2):
          #0 Thread1 /src/a.c:14 (a.out+0x1)
      """)
    #expect(
      result.reports[0].blocks[0].title
        == "Previous write of size 4 at 0x10 by thread T1 (mutexes: write M1, write M2)")
  }

  @Test func parsesOtherReportKinds() throws {
    #expect(try Resources.log("leak").reports.map(\.kind) == ["thread leak"])
    let inversion = try Resources.log("lock-order-inversion").reports[0]
    #expect(inversion.kind == "lock-order-inversion (potential deadlock)")
    #expect(
      inversion.mainBlocks.map(\.title) == [
        "Mutex M1 acquired here while holding mutex M0 in thread T1",
        "Mutex M0 acquired here while holding mutex M1 in thread T2",
      ])
    let signal = try Resources.log("signal-unsafe").reports[0]
    #expect(signal.kind == "signal-unsafe call inside of a signal")
    #expect(signal.mainBlocks.map(\.frames.count) == [3])
  }
}
