import Foundation
import Glibc
import ProfTestSupport
import XCTest

/// Attaching to a running program whose agent is dormant (LD_PRELOAD=$(prof agent)):
/// prof cpu --pid, prof threads --pid, and every way an attach can fail.
final class LiveAttachEndToEndTests: OutputDirectoryTestCase {
  /// fixtures/live/service.c started with the dormant agent, once it printed "ready".
  private func startService(tenths: Int = 60) throws -> (process: Process, stdout: URL) {
    let agent = try ProfHarness.prof(["agent"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    XCTAssertTrue(agent.hasPrefix("/") && FileManager.default.fileExists(atPath: agent), agent)
    let service = try ProfHarness.cFixture("live", "service", into: directory)
    let stdout = directory.appendingPathComponent("service.out")
    _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: service)
    process.arguments = [String(tenths)]
    process.environment = ProcessInfo.processInfo.environment.merging(["LD_PRELOAD": agent]) { $1 }
    process.standardOutput = try FileHandle(forWritingTo: stdout)
    try process.run()
    for _ in 0..<200 where !((try? String(contentsOf: stdout, encoding: .utf8)) ?? "").contains("ready") { usleep(10_000) }
    usleep(100_000)  // the agent's constructor ran before main printed; its socket is bound
    return (process, stdout)
  }

  /// Whether the process has a handler of its own for `signal` (SigCgt in /proc).
  private func catches(_ pid: Int32, _ signal: Int32) throws -> Bool {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("SigCgt:") })
    let mask = try XCTUnwrap(UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16))
    return (mask >> UInt64(signal - 1)) & 1 == 1
  }

  private func threadCount(_ pid: Int32) throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count
  }

  func testCPUByPidProfilesTheRunningProgramAndLeavesItAsItWas() throws {
    let (service, stdout) = try startService()
    let pid = service.processIdentifier
    XCTAssertFalse(try catches(pid, SIGPROF), "a dormant agent installs no handler")
    XCTAssertEqual(try threadCount(pid), 3, "main, spinner and the agent's one control thread")
    let file = output("live.pb.gz")
    for window in 1...2 {  // a second window works as the first did
      let run = try ProfHarness.prof(["cpu", "--pid", String(pid), "--duration", "1", "--unwind", "fp", "-o", file])
      XCTAssertEqual(run.status, 0, run.stderr)
      let rows = try ProfHarness.top(file).rows
      XCTAssertEqual(rows.max { $0.flat < $1.flat }?.name, "hot_loop", "window \(window): \(rows)")
      XCTAssertFalse(try catches(pid, SIGPROF), "after the window SIGPROF is the program's again")
      XCTAssertEqual(try threadCount(pid), 3, "no thread of the window stays")
    }
    service.waitUntilExit()
    XCTAssertEqual(service.terminationReason, .exit)
    XCTAssertEqual(service.terminationStatus, 7)
    XCTAssertEqual(try String(contentsOf: stdout, encoding: .utf8), "ready\ndone\n")
  }

  func testThreadsByPidNamesEveryThreadWithItsStack() throws {
    let (service, _) = try startService()
    defer { service.terminate() }
    let run = try ProfHarness.prof(["threads", "--pid", String(service.processIdentifier)])
    XCTAssertEqual(run.status, 0, run.stderr)
    let headers = run.stdout.split(separator: "\n").filter { $0.hasPrefix("thread ") }
    XCTAssertEqual(headers.count, 2, run.stdout)
    XCTAssertTrue(headers.contains { $0.contains("\"spinner\" [running]") }, run.stdout)
    XCTAssertTrue(headers.contains { $0.contains("\"service\"") }, run.stdout)
    XCTAssertTrue(run.stdout.contains("hot_loop\n\t") && run.stdout.contains("service.c:"), run.stdout)
    XCTAssertFalse(run.stdout.contains("prof-control"), "the agent's own thread is not the program's")
  }

  func testTraceByPidWritesTheWindowsTimeline() throws {
    let (service, _) = try startService()
    defer { service.terminate() }
    let file = output("live.json")
    let run = try ProfHarness.prof(["trace", "--pid", String(service.processIdentifier), "--duration", "1", "-o", file])
    XCTAssertEqual(run.status, 0, run.stderr)
    let trace = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any]
    let events = try XCTUnwrap(trace?["traceEvents"] as? [[String: Any]])
    let names = Set(events.compactMap { $0["name"] as? String })
    XCTAssertTrue(names.contains("hot_loop"), "\(names)")
    let threadNames = events.filter { $0["name"] as? String == "thread_name" }.compactMap { ($0["args"] as? [String: Any])?["name"] as? String }
    XCTAssertTrue(threadNames.contains("spinner"), "\(threadNames)")
    XCTAssertFalse(try catches(service.processIdentifier, SIGPROF))
  }

  /// A window starts on the agent's control thread, which blocks every signal: a CPU
  /// timer aimed at it would leave a SIGPROF pending there for good, and with it the
  /// agent's handler after the window. Every timer of a window aims at a program thread.
  func testNoTimerOfAWindowAimsAtTheAgentsControlThread() throws {
    let (service, _) = try startService()
    defer { service.terminate() }
    let pid = service.processIdentifier
    let control = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").first {
      (try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8))?.hasPrefix("prof-control") == true
    })
    let window = Process()
    window.executableURL = URL(fileURLWithPath: ProfHarness.prof)
    window.arguments = ["trace", "--pid", String(pid), "--duration", "2", "-o", output("timers.json")]
    window.standardError = FileHandle.nullDevice
    try window.run()
    var timers = ""
    for _ in 0..<100 where !timers.contains("notify:") {  // until the window armed its timers
      usleep(20_000)
      timers = (try? String(contentsOfFile: "/proc/\(pid)/timers", encoding: .utf8)) ?? ""
    }
    window.waitUntilExit()
    XCTAssertTrue(timers.contains("notify:"), "the window armed no timer")
    let targets = timers.split(separator: "\n").filter { $0.hasPrefix("notify:") }.map { $0.split(separator: "/").last.map(String.init) }
    XCTAssertFalse(targets.contains(control), "a timer aims at prof-control (\(control)):\n\(timers)")
    XCTAssertFalse(try catches(pid, SIGPROF))
  }

  func testAProcessThatExitsDuringTheWindowKeepsItsSamples() throws {
    let (service, stdout) = try startService(tenths: 10)
    let file = output("cut.pb.gz")
    let run = try ProfHarness.prof(["cpu", "--pid", String(service.processIdentifier), "--duration", "20", "-o", file])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stderr.contains("exited during the window"), run.stderr)
    XCTAssertNotNil(try ProfHarness.top(file).rows.first { $0.name == "hot_loop" })
    service.waitUntilExit()
    XCTAssertEqual(service.terminationStatus, 7)
    XCTAssertEqual(try String(contentsOf: stdout, encoding: .utf8), "ready\ndone\n")
  }

  func testASecondAttachIsToldTheAgentIsBusy() throws {
    let (service, _) = try startService()
    defer { service.terminate() }
    let pid = String(service.processIdentifier)
    var second: ProfHarness.Run?
    let first = try ProfHarness.prof(["cpu", "--pid", pid, "--duration", "2", "-o", output("first.pb.gz")]) { _ in
      usleep(500_000)
      second = try? ProfHarness.prof(["cpu", "--pid", pid, "--duration", "1", "-o", self.output("second.pb.gz")])
    }
    XCTAssertEqual(first.status, 0, first.stderr)
    let refused = try XCTUnwrap(second)
    XCTAssertEqual(refused.status, 1)
    XCTAssertTrue(refused.stderr.contains("busy"), refused.stderr)
    XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: output("second.pb.gz")))
  }

  func testBadPidsGetOneLineEach() throws {
    let sleeper = Process()
    sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
    sleeper.arguments = ["30"]
    try sleeper.run()
    defer { sleeper.terminate() }
    let pid = sleeper.processIdentifier
    let noAgent = try ProfHarness.prof(["cpu", "--pid", String(pid), "--duration", "1", "-o", output("x.pb.gz")])
    XCTAssertEqual(noAgent.status, 1)
    XCTAssertTrue(noAgent.stderr.contains("has no prof agent listening") && noAgent.stderr.contains("prof run"), noAgent.stderr)

    // A socket left by an earlier process of the same pid: nothing listens on it.
    let path = "/tmp/prof-\(geteuid())/\(pid).sock"
    let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, byte) in path.utf8.enumerated() { raw[i] = byte } }
    mkdir("/tmp/prof-\(geteuid())", 0o700)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    XCTAssertEqual(bound, 0)
    close(stale)
    defer { unlink(path) }
    let staleRun = try ProfHarness.prof(["threads", "--pid", String(pid)])
    XCTAssertEqual(staleRun.status, 1)
    XCTAssertTrue(staleRun.stderr.contains("is stale"), staleRun.stderr)

    let gone = try ProfHarness.prof(["cpu", "--pid", "999999999", "-o", output("y.pb.gz")])
    XCTAssertEqual(gone.status, 1)
    XCTAssertEqual(gone.stderr, "Error: no process 999999999 is running\n")
    for run in [noAgent, staleRun] { XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr) }
  }

  /// The pid of `prof run`'s program: prof's only child.
  private func childPid(of prof: Int32) throws -> Int32 {
    for _ in 0..<200 {
      if let children = try? String(contentsOfFile: "/proc/\(prof)/task/\(prof)/children", encoding: .utf8),
         let pid = Int32(children.trimmingCharacters(in: .whitespacesAndNewlines)) { return pid }
      usleep(10_000)
    }
    throw HarnessError("prof run started no program")
  }

  func testProfRunKeepsTheProgramsOutputAndStatusAndIsAttachable() throws {
    let service = try ProfHarness.cFixture("live", "service", into: directory)
    var attached: ProfHarness.Run?
    let run = try ProfHarness.prof(["run", "--", service, "30"]) { prof in
      guard let pid = try? self.childPid(of: prof.processIdentifier) else { return }
      usleep(300_000)
      // prof links the agent (to have it built beside it) but does not preload it: no channel of its own.
      XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/prof-\(geteuid())/\(prof.processIdentifier).sock"))
      XCTAssertTrue(FileManager.default.fileExists(atPath: "/tmp/prof-\(geteuid())/\(pid).sock"))
      attached = try? ProfHarness.prof(["cpu", "--pid", String(pid), "--duration", "1", "-o", self.output("run.pb.gz")])
    }
    XCTAssertEqual(run.status, 7, run.stderr)
    XCTAssertEqual(run.stdout, "ready\ndone\n")
    XCTAssertEqual(try XCTUnwrap(attached).status, 0, attached?.stderr ?? "")
    let rows = try ProfHarness.top(output("run.pb.gz")).rows
    XCTAssertEqual(rows.max { $0.flat < $1.flat }?.name, "hot_loop", "\(rows)")
  }

  func testAKilledProgramGivesProfRun128Plus9() throws {
    let service = try ProfHarness.cFixture("live", "service", into: directory)
    let run = try ProfHarness.prof(["run", "--", service, "600"]) { prof in
      guard let pid = try? self.childPid(of: prof.processIdentifier) else { return }
      usleep(200_000)
      kill(pid, SIGKILL)
    }
    XCTAssertEqual(run.status, 128 + 9, run.stderr)
  }

  func testHeapByPidShowsTheLeakOfAProgramRunWithHeap() throws {
    let service = try ProfHarness.cFixture("live", "service", into: directory)
    var snapshots: [ProfHarness.Run] = []
    let run = try ProfHarness.prof(["run", "--heap", "--heap-rate", "4096", "--", service, "60"]) { prof in
      guard let pid = try? self.childPid(of: prof.processIdentifier) else { return }
      usleep(300_000)
      for index in 1...2 {  // a second snapshot is whole too: every stack is sent again
        if let snapshot = try? ProfHarness.prof(["heap", "--pid", String(pid), "-o", self.output("heap\(index).pb.gz")]) {
          snapshots.append(snapshot)
        }
      }
    }
    XCTAssertEqual(run.status, 7, run.stderr)
    XCTAssertEqual(run.stdout, "ready\ndone\n")
    XCTAssertEqual(snapshots.count, 2)
    for (index, snapshot) in snapshots.enumerated() {
      XCTAssertEqual(snapshot.status, 0, snapshot.stderr)
      let rows = try ProfHarness.pprof(["-top", "-sample_index=inuse_space", "-unit=kb", output("heap\(index + 1).pb.gz")]).stdout
      let leak = try XCTUnwrap(rows.split(separator: "\n").first { $0.hasSuffix(" leak_memory") }, rows)
      let kilobytes = try XCTUnwrap(Double(leak.split(separator: " ").first?.dropLast(2) ?? ""), String(leak))
      XCTAssertEqual(kilobytes, 6400, accuracy: 1600, "100 blocks of 64 KiB, estimated from samples: \(rows)")
      XCTAssertTrue(snapshot.stderr.contains("in use now ") && snapshot.stderr.contains("top leaking stacks (in use now)"), snapshot.stderr)
      XCTAssertFalse(snapshot.stderr.contains("at exit"), "the program runs on: \(snapshot.stderr)")
    }
  }

  func testHeapByPidWithoutHeapTrackingSaysHowToStartIt() throws {
    let (service, _) = try startService()
    defer { service.terminate() }
    let run = try ProfHarness.prof(["heap", "--pid", String(service.processIdentifier), "-o", output("none.pb.gz")])
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(run.stderr.contains("prof run --heap"), run.stderr)
    XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
  }

  /// Its own SIGPROF handler: --pid cannot take --signal (nor can prof run), so the
  /// advice is to profile the program from its start with --signal.
  func testAProgramsOwnSIGPROFHandlerUnderPidGetsAdviceThatWorksWithPid() throws {
    let ownHandler = try ProfHarness.cFixture("hardening", "own_handler", into: directory)
    let commands = ["cpu", "trace", "cpu"]  // every window says it, not only the first
    var attached: [ProfHarness.Run] = []
    let run = try ProfHarness.prof(["run", "--", ownHandler, "sigaction", "60"]) { prof in
      guard let pid = try? self.childPid(of: prof.processIdentifier) else { return }
      for _ in 0..<200 where !FileManager.default.fileExists(atPath: "/tmp/prof-\(geteuid())/\(pid).sock") { usleep(10_000) }
      for (index, command) in commands.enumerated() {
        if let window = try? ProfHarness.prof([command, "--pid", String(pid), "--duration", "1", "-o", self.output("own\(index)")]) {
          attached.append(window)
        }
      }
      kill(pid, SIGTERM)
    }
    XCTAssertEqual(run.status, 128 + SIGTERM, run.stderr)
    XCTAssertEqual(attached.count, commands.count)
    for (window, command) in zip(attached, commands) {
      XCTAssertEqual(window.status, 0, window.stderr)
      XCTAssertTrue(window.stderr.contains("the program installed its own SIGPROF handler"), "\(command): \(window.stderr)")
      XCTAssertTrue(window.stderr.contains("profile it from its start with prof \(command) --signal SIGRTMIN+3 -- COMMAND"), window.stderr)
      XCTAssertFalse(window.stderr.contains("run prof with --signal"), "--signal is refused with --pid: \(window.stderr)")
    }
  }

  func testAZombieIsSaidToHaveExited() throws {
    // sh forks a sleep that ends at once, then becomes a sleep that never reaps it.
    let parent = Process()
    parent.executableURL = URL(fileURLWithPath: "/bin/sh")
    parent.arguments = ["-c", "sleep 0 & echo $!; exec sleep 30"]
    let pipe = Pipe()
    parent.standardOutput = pipe
    try parent.run()
    defer { parent.terminate() }
    let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
    let zombie = try XCTUnwrap(Int32(line.trimmingCharacters(in: .whitespacesAndNewlines)), line)
    func state() -> String? {
      guard let stat = try? String(contentsOfFile: "/proc/\(zombie)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")") else { return nil }
      return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
    }
    for _ in 0..<500 where state() != "Z" { usleep(10_000) }
    XCTAssertEqual(state(), "Z")
    let run = try ProfHarness.prof(["cpu", "--pid", String(zombie), "--duration", "1", "-o", output("z.pb.gz")])
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.stderr, "Error: process \(zombie) has exited (a zombie its parent has not reaped yet): there is nothing left to attach to\n")
  }

  /// Any signal that would end prof (a closed terminal's SIGHUP, kill -USR2, ...)
  /// ends the window as SIGINT does: the profile is written and the target runs on.
  func testEveryTerminatingSignalEndsTheWindowAndKeepsTheProfile() throws {
    let (service, _) = try startService(tenths: 600)
    defer { service.terminate() }
    let pid = service.processIdentifier
    for (command, signal) in [("cpu", SIGHUP), ("cpu", SIGUSR2), ("cpu", SIGALRM), ("trace", SIGHUP)] {
      let file = output("signalled-\(command)-\(signal)")
      let run = try ProfHarness.prof([command, "--pid", String(pid), "--duration", "60", "-o", file]) { prof in
        for _ in 0..<500 where !((try? String(contentsOfFile: "/proc/\(pid)/timers", encoding: .utf8)) ?? "").contains("notify:") {
          usleep(10_000)  // until the window armed its timers
        }
        kill(prof.processIdentifier, signal)
      }
      XCTAssertEqual(run.status, 0, "prof \(command) and signal \(signal): \(run.stderr)")
      XCTAssertTrue(FileManager.default.fileExists(atPath: file), "prof \(command) and signal \(signal) wrote nothing")
      XCTAssertFalse(try catches(pid, SIGPROF), "after the window SIGPROF is the program's again")
    }
    XCTAssertTrue(service.isRunning)
  }
}
