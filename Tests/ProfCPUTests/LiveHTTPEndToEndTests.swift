import Foundation
import Glibc
import ProfTestSupport
import XCTest

/// `prof run --http`: Go's /debug/pprof endpoints over real HTTP on loopback, read
/// by go tool pprof and curl, for fixtures/live/service.c (a "spinner" thread in
/// hot_loop, 100 × 64 KiB leaked from leak_memory, exit status 7).
final class LiveHTTPEndToEndTests: OutputDirectoryTestCase {
  override func setUpWithError() throws {
    try super.setUpWithError()
    setenv("PPROF_TMPDIR", directory.path, 1)  // where go tool pprof keeps what it fetched
  }

  /// `prof run [options] --http 127.0.0.1:0 -- service TENTHS`, once it serves.
  private final class Served {
    let process = Process()
    let stdout: URL
    let stderr: URL
    private(set) var base = ""
    private(set) var pid: Int32 = 0

    convenience init(_ options: [String], tenths: Int, in directory: URL) throws {
      try self.init(options, command: [try ProfHarness.cFixture("live", "service", into: directory), String(tenths)], ready: "ready", in: directory)
    }

    /// `ready`: what the program prints once it runs (nil: serving is enough).
    init(_ options: [String], command: [String], ready: String?, in directory: URL) throws {
      stdout = directory.appendingPathComponent("run.out")
      stderr = directory.appendingPathComponent("run.err")
      for file in [stdout, stderr] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
      process.executableURL = URL(fileURLWithPath: ProfHarness.prof)
      process.arguments = ["run"] + options + ["--http", "127.0.0.1:0", "--"] + command
      process.environment = ProcessInfo.processInfo.environment.merging(["XDG_CACHE_HOME": ProfHarness.cacheHome.path]) { $1 }
      process.standardOutput = try FileHandle(forWritingTo: stdout)
      process.standardError = try FileHandle(forWritingTo: stderr)
      try process.run()
      for _ in 0..<500 where base.isEmpty || pid == 0 || !(ready.map { output.contains($0) } ?? true) {
        let said = errors
        if let start = said.range(of: "serving http://")?.upperBound, let end = said[start...].firstIndex(of: "/") {
          base = "http://" + said[start..<end]
        }
        if let at = said.range(of: " as pid ")?.upperBound { pid = Int32(said[at...].prefix { $0.isNumber }) ?? 0 }
        usleep(20_000)
      }
      guard !base.isEmpty, pid > 0 else { throw HarnessError("prof run --http did not start: \(errors)") }
      usleep(100_000)  // main printed ready after the agent's constructor bound its socket
    }

    var output: String { (try? String(contentsOf: stdout, encoding: .utf8)) ?? "" }
    var errors: String { (try? String(contentsOf: stderr, encoding: .utf8)) ?? "" }
    func url(_ path: String) -> String { base + "/debug/pprof/" + path }

    /// Waits for prof run; its status as a shell reports it.
    func finish() -> Int32 {
      process.waitUntilExit()
      return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }
  }

  /// (HTTP status, body) of a GET, or of a POST of `data`.
  private func fetch(_ url: String, post data: String? = nil, timeout: Int? = nil) throws -> (status: Int, body: String) {
    var arguments = ["-s", "-w", "\n%{http_code}"] + (timeout.map { ["--max-time", String($0)] } ?? [])
    if let data { arguments += ["--data-binary", data] }
    let run = try ProfHarness.run("/usr/bin/env", ["curl"] + arguments + [url])
    let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
  }

  /// What the server sends on one connection after `request` is written in one go, until it
  /// closes the connection; nil if it keeps it open for 10 s (the test then fails, not hangs).
  private func exchange(_ base: String, _ request: String) throws -> [UInt8]? {
    let port = try XCTUnwrap(UInt16(base.split(separator: ":").last ?? ""))
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: port.bigEndian,
                              sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw HarnessError("cannot connect to \(base): errno \(errno)") }
    var patience = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &patience, socklen_t(MemoryLayout<timeval>.size))
    let bytes = Array(request.utf8)
    XCTAssertEqual(send(socket, bytes, bytes.count, Int32(MSG_NOSIGNAL)), bytes.count)
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = recv(socket, &chunk, chunk.count, 0)
      if count == 0 { return received }
      if count < 0 { return nil }
      received += chunk[0..<count]
    }
  }

  /// HTTP/1.1 responses one after another: (status, headers, body) each, by Content-Length.
  private func responses(_ bytes: [UInt8]) -> [(status: Int, headers: String, body: [UInt8])] {
    var answers: [(status: Int, headers: String, body: [UInt8])] = []
    var rest = bytes[...]
    let separator = Array("\r\n\r\n".utf8)
    while let end = rest.indices.first(where: { rest[$0...].starts(with: separator) }) {
      let head = String(decoding: rest[..<end], as: UTF8.self)
      let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
      let bodyStart = end + separator.count
      let body = Array(rest[bodyStart..<min(bodyStart + length, rest.endIndex)])
      answers.append((Int(head.split(separator: " ")[1]) ?? 0, head, body))
      rest = rest[min(bodyStart + length, rest.endIndex)...]
    }
    return answers
  }

  /// Go's server answers pipelined requests in order, a long one first included, and
  /// closes the connection after a response that says `Connection: close`.
  func testPipelinedRequestsAreAnsweredInOrderAndAMalformedOneClosesTheConnection() throws {
    let served = try Served([], tenths: 600, in: directory)
    defer { served.process.terminate() }
    let get = { (path: String, last: Bool) in
      "GET /debug/pprof/\(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(last ? "Connection: close\r\n" : "")\r\n"
    }
    let three = try XCTUnwrap(try exchange(served.base, get("profile?seconds=1", false) + get("nosuch", false) + get("cmdline", true)),
                              "the connection stayed open")
    let answers = responses(three)
    XCTAssertEqual(answers.map(\.status), [200, 404, 200], String(decoding: three.prefix(2000), as: UTF8.self))
    XCTAssertEqual(answers.first?.body.prefix(2), [0x1f, 0x8b], "a gzip profile first")
    XCTAssertEqual(answers.dropFirst().first.map { String(decoding: $0.body, as: UTF8.self) }, "Unknown profile: nosuch\n")
    XCTAssertTrue(answers.last.map { String(decoding: $0.body, as: UTF8.self).hasSuffix("/service\u{0}600") } ?? false)
    // A request NIO cannot parse: 400 with Connection: close, and the connection closed.
    for malformed in ["GARBAGE\r\n\r\n", get("cmdline", false) + "GARBAGE\r\n\r\n"] {
      let answer = try XCTUnwrap(try exchange(served.base, malformed), "the connection stayed open after: \(malformed)")
      let statuses = responses(answer)
      XCTAssertEqual(statuses.last?.status, 400, String(decoding: answer, as: UTF8.self))
      XCTAssertTrue(statuses.last?.headers.contains("Connection: close") ?? false, statuses.last?.headers ?? "")
    }
  }

  /// Requests waiting behind a CPU window when the program exits are told that it exited,
  /// and how: 503, whose body go tool pprof prints.
  func testARequestQueuedWhenTheProgramExitsIsToldItExitedWithItsStatus() throws {
    let served = try Served([], tenths: 40, in: directory)
    var queued: (status: Int, body: String)?
    let pprof = Process()
    let pprofErrors = directory.appendingPathComponent("pprof.err")
    _ = FileManager.default.createFile(atPath: pprofErrors.path, contents: nil)
    pprof.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    pprof.arguments = ["go", "tool", "pprof", "-top", served.url("goroutine")]
    pprof.standardError = try FileHandle(forWritingTo: pprofErrors)
    pprof.standardOutput = FileHandle.nullDevice
    let window = try ProfHarness.run("/usr/bin/env", ["curl", "-s", "-o", output("cut.pb.gz"), "-w", "%{http_code}",
                                                      served.url("profile?seconds=60")]) { _ in
      usleep(700_000)
      try? pprof.run()
      queued = try? self.fetch(served.url("goroutine?debug=1"))
      pprof.waitUntilExit()
    }
    XCTAssertEqual(window.stdout, "200", "the window the exit cut short keeps its samples")
    XCTAssertEqual(queued?.status, 503, "\(String(describing: queued))")
    XCTAssertEqual(queued?.body, "the program exited (status 7); no more profiles\n")
    let said = (try? String(contentsOf: pprofErrors, encoding: .utf8)) ?? ""
    XCTAssertNotEqual(pprof.terminationStatus, 0, said)
    XCTAssertTrue(said.contains("the program exited (status 7); no more profiles"), said)
    XCTAssertEqual(served.finish(), 7, served.errors)
  }

  func testGoToolPprofReadsEveryEndpointAndTheProgramRunsAsAlone() throws {
    let served = try Served(["--heap", "--heap-rate", "4096"], tenths: 120, in: directory)
    let cpu = try ProfHarness.top(served.url("profile?seconds=2"))
    XCTAssertEqual(cpu.rows.max { $0.flat < $1.flat }?.name, "hot_loop", "\(cpu.rows)")
    let heap = try ProfHarness.pprof(["-top", "-sample_index=inuse_space", served.url("heap")]).stdout
    XCTAssertTrue(heap.split(separator: "\n").contains { $0.hasSuffix(" leak_memory") }, heap)
    let allocs = try ProfHarness.pprof(["-raw", served.url("allocs")]).stdout
    XCTAssertTrue(allocs.contains("alloc_space"), allocs)
    let dump = try fetch(served.url("goroutine?debug=2"))
    XCTAssertEqual(dump.status, 200)
    let headers = dump.body.split(separator: "\n").filter { $0.hasPrefix("thread ") }
    XCTAssertEqual(headers.count, 2, dump.body)
    XCTAssertTrue(headers.contains { $0.contains("\"spinner\" [running]") }, dump.body)
    XCTAssertTrue(dump.body.contains("hot_loop\n\t") && dump.body.contains("service.c:"), dump.body)
    let grouped = try fetch(served.url("goroutine?debug=1")).body
    XCTAssertTrue(grouped.hasPrefix("goroutine profile: total 2\n"), grouped)
    // /symbol names an address as Go's does, from a POST of 0xADDR+0xADDR.
    let hot = try XCTUnwrap(grouped.split(separator: "\n").first { $0.contains("\thot_loop\t") })
    let address = String(hot.split(separator: "\t")[1])
    XCTAssertEqual(try fetch(served.url("symbol"), post: address + "+0x1").body, "num_symbols: 1\n\(address) hot_loop\n")
    XCTAssertNotNil(try ProfHarness.top(served.url("goroutine")).rows.first { $0.name == "hot_loop" })
    let created = try ProfHarness.top(served.url("threadcreate")).rows
    XCTAssertNotNil(created.first { $0.name == "spin" }, "\(created)")
    XCTAssertTrue(try fetch(served.url("heap?debug=1")).body.hasPrefix("heap profile: "))
    let delta = try ProfHarness.pprof(["-raw", served.url("heap?seconds=1")]).stdout
    XCTAssertTrue(delta.contains("inuse_space"), delta)
    let trace = try fetch(served.url("trace?seconds=1"))
    XCTAssertTrue(trace.body.contains("\"traceEvents\"") && trace.body.contains("hot_loop"), String(trace.body.prefix(300)))
    let commandLine = try fetch(served.url("cmdline")).body
    XCTAssertTrue(commandLine.hasSuffix("/service\u{0}120"), commandLine)
    XCTAssertTrue(try fetch(served.url("")).body.contains("Perfetto"))
    XCTAssertEqual(try fetch(served.url("symbol")).body, "num_symbols: 1\n")
    XCTAssertEqual(served.finish(), 7, served.errors)
    XCTAssertEqual(served.output, "ready\ndone\n")
  }

  func testBadRequestsGetGosStatusesWithAReason() throws {
    let served = try Served([], tenths: 60, in: directory)
    defer { served.process.terminate() }
    let cases: [(path: String, status: Int, says: String)] = [
      ("nonsense", 404, "Unknown profile"),
      ("heap", 404, "prof run --heap"),
      ("block", 404, "prof run --block"),
      ("mutex?seconds=1", 404, "prof run --mutex"),
      ("profile?seconds=abc", 400, "seconds"),
      ("profile?seconds=100000", 400, "maximum"),
      ("goroutine?debug=-1", 200, "goroutine profile: total 2"),  // any integer, as Go's Atoi
      ("allocs?seconds=1&debug=1", 404, "prof run --heap"),
    ]
    for (path, status, says) in cases {
      let answer = try fetch(served.url(path))
      XCTAssertEqual(answer.status, status, path)
      XCTAssertTrue(answer.body.contains(says), "\(path): \(answer.body)")
    }
    XCTAssertEqual(try fetch(served.base + "/elsewhere").status, 404)
    // A second CPU profile while one runs is refused as Go refuses it; a thread dump waits its turn.
    var second: (status: Int, body: String)?
    var dump: (status: Int, body: String)?
    let first = try ProfHarness.run("/usr/bin/env", ["curl", "-s", "-o", output("first.pb.gz"), "-w", "%{http_code}",
                                                     served.url("profile?seconds=2")]) { _ in
      usleep(700_000)
      second = try? self.fetch(served.url("profile?seconds=1"))
      dump = try? self.fetch(served.url("goroutine?debug=1"))
    }
    XCTAssertEqual(first.stdout, "200")
    XCTAssertEqual(dump?.status, 200, "\(String(describing: dump))")
    XCTAssertEqual(second?.status, 500)
    XCTAssertTrue(second?.body.contains("cpu profiling already in use") ?? false, "\(String(describing: second))")
  }

  func testAClientThatLeavesStopsTheWindowAndAnExitMidWindowKeepsTheSamples() throws {
    let served = try Served([], tenths: 50, in: directory)
    XCTAssertEqual(try fetch(served.url("profile?seconds=30"), timeout: 1).status, 0, "curl gave up")
    // The abandoned window ends within a poll or two; the next one is then served.
    var next = try fetch(served.url("goroutine?debug=1"))
    for _ in 0..<50 where next.status == 500 {
      usleep(100_000)
      next = try fetch(served.url("goroutine?debug=1"))
    }
    XCTAssertEqual(next.status, 200, next.body)
    // The program exits after 5 s, well inside this window: what was sampled comes back.
    let cut = try ProfHarness.top(served.url("profile?seconds=60"))
    XCTAssertNotNil(cut.rows.first { $0.name == "hot_loop" }, "\(cut.rows)")
    XCTAssertEqual(served.finish(), 7, served.errors)
    XCTAssertEqual(served.output, "ready\ndone\n")
  }

  func testBlockAndMutexShowTheWaiterAndTheHolder() throws {
    let program = try ProfHarness.cFixture("contention", "mutex_contention", into: directory)
    let served = try Served(["--block", "--mutex"], command: [program, "4", "200", "5"], ready: nil, in: directory)
    usleep(300_000)  // block and mutex count from the program's start: a few waits first
    let block = try ProfHarness.pprof(["-top", "-sample_index=delay", served.url("block")]).stdout
    XCTAssertTrue(block.split(separator: "\n").contains { $0.hasSuffix(" wait_for_lock") }, block)
    let mutex = try ProfHarness.pprof(["-top", "-sample_index=delay", served.url("mutex?seconds=1")]).stdout
    XCTAssertTrue(mutex.split(separator: "\n").contains { $0.hasSuffix(" release_lock") }, mutex)
    XCTAssertTrue(try fetch(served.url("mutex?debug=1")).body.hasPrefix("--- mutex:\ncycles/second=1000000000\n"))
    let attached = try ProfHarness.prof(["block", "--pid", String(served.pid), "-o", output("block.pb.gz")])
    XCTAssertEqual(attached.status, 0, attached.stderr)
    let rows = try ProfHarness.pprof(["-top", "-sample_index=delay", output("block.pb.gz")]).stdout
    XCTAssertTrue(rows.split(separator: "\n").contains { $0.hasSuffix(" wait_for_lock") }, rows)
    XCTAssertEqual(served.finish(), 0, served.errors)
    XCTAssertTrue(served.output.contains("waited_ns"), served.output)
  }

  func testAKilledProgramGivesProfRun137AndCtrlCReachesTheProgram() throws {
    let killed = try Served([], tenths: 300, in: directory)
    // A port in use: one line, and the program is not started.
    let taken = try ProfHarness.prof(["run", "--http", String(killed.base.dropFirst("http://".count)), "--",
                                      try ProfHarness.cFixture("live", "service", into: directory), "10"])
    XCTAssertEqual(taken.status, 1)
    XCTAssertTrue(taken.stderr.hasPrefix("Error: cannot serve on 127.0.0.1:") && !taken.stdout.contains("ready"), taken.stderr + taken.stdout)
    XCTAssertTrue(taken.stderr.hasSuffix(": Address already in use\n"), taken.stderr)
    // An IPv6 address is shown as a URL gives it.
    let wildcard = try ProfHarness.prof(["run", "--http", "[::]:0", "--", "true"])
    XCTAssertTrue(wildcard.stderr.contains("--http [::]:0 is not a loopback address"), wildcard.stderr)
    kill(killed.pid, SIGKILL)
    XCTAssertEqual(killed.finish(), 128 + 9)
    let interrupted = try Served([], tenths: 300, in: directory)
    kill(interrupted.process.processIdentifier, SIGINT)  // to prof: forwarded to the program, not taken by a server thread
    XCTAssertEqual(interrupted.finish(), 128 + 2, interrupted.errors)
  }

  func testPidRefusesCheckpointsAndChildrenAndHTTPNeedsAnAddress() throws {
    for arguments in [["cpu", "--pid", "1", "--checkpoint-every", "5"], ["heap", "--pid", "1", "--follow-children"],
                      ["trace", "--pid", "1", "--follow-children"], ["run", "--http", "6060", "--", "true"]] {
      let run = try ProfHarness.prof(arguments)
      XCTAssertNotEqual(run.status, 0, "\(arguments)")
      XCTAssertEqual(run.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count, 1, run.stderr)
    }
  }

  /// The program gets what prof inherited (here the shell's fd 3, and whatever the
  /// test runner left open), never prof's own descriptors: the HTTP server's listening
  /// socket and event loop stay prof's, so that the port closes with prof.
  func testTheProgramGetsProfsInheritedDescriptorsButNotItsServer() throws {
    let script = "exec 3</dev/null; ls /proc/$$/fd; echo ---; exec \"$0\" run --http 127.0.0.1:0 -- /bin/sh -c 'ls -l /proc/$$/fd'"
    let run = try ProfHarness.run("/bin/sh", ["-c", script, ProfHarness.prof])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stderr.contains("serving http://"), run.stderr)
    let parts = run.stdout.components(separatedBy: "---\n")
    XCTAssertEqual(parts.count, 2, run.stdout)
    let inherited = Set(parts[0].split(separator: "\n").compactMap { Int32($0) })
    XCTAssertTrue(inherited.contains(3), run.stdout)
    let program = parts.last!.split(separator: "\n").filter { $0.contains(" -> ") }
    XCTAssertTrue(program.contains { $0.hasSuffix(" 3 -> /dev/null") }, run.stdout)
    // Besides what prof inherited, the program has only its preloaded agent's control socket.
    let added = program.filter { line in
      !inherited.contains(Int32(line.split(separator: " ").reversed().dropFirst(2).first ?? "") ?? -1)
    }
    XCTAssertEqual(added.count, 1, "prof's own descriptors reached the program:\n\(run.stdout)")
    XCTAssertTrue(added.allSatisfy { $0.contains("socket:") }, run.stdout)
  }
}
