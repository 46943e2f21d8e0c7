import Foundation
import Pprof
import ProfTestSupport
import XCTest

/// Records real programs with `prof trace` and checks every trace with TraceValidator.
final class TraceEndToEndTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws { directory = try ProfHarness.temporaryDirectory() }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private func output(_ name: String) -> String { directory.appendingPathComponent(name).path }

  private func trace(_ arguments: [String], file: String) throws -> [[String: Any]] {
    let run = try ProfHarness.prof(["trace", "-o", file] + arguments)
    XCTAssertEqual(run.status, 0, run.stderr)
    var data = try Data(contentsOf: URL(fileURLWithPath: file))
    if file.hasSuffix(".gz") { data = Data(try Gzip.decompress(Array(data))) }
    return try TraceValidator.validate(data)
  }

  private func threadNames(_ events: [[String: Any]]) -> [Int: String] {
    var names: [Int: String] = [:]
    for event in events where event["name"] as? String == "thread_name" {
      names[event["tid"] as! Int] = (event["args"] as! [String: Any])["name"] as? String
    }
    return names
  }

  func testCPUTraceShowsEachThreadsWorkAsSlices() throws {
    let events = try trace(["--pprof", output("run.pb.gz"), "--", ProfHarness.workload("two-threads"), "100000000"],
                           file: output("cpu.json"))
    let names = threadNames(events)
    let slices = events.filter { $0["ph"] as? String == "X" }
    for (thread, function) in [("alpha", "two_threads.alphaWork(Swift.Int)"), ("beta", "two_threads.betaWork(Swift.Int)")] {
      let tid = try XCTUnwrap(names.first { $0.value == thread }?.key, "\(names)")
      let work = slices.filter { $0["tid"] as? Int == tid && $0["name"] as? String == function }
      XCTAssertFalse(work.isEmpty, "no \(function) slice on \(thread)")
      let location = try XCTUnwrap((work[0]["args"] as? [String: Any])?["location"] as? String)
      XCTAssertTrue(location.contains("two-threads/main.swift:"), location)
    }
    XCTAssertTrue(events.contains { $0["name"] as? String == "RSS" && $0["ph"] as? String == "C" })
    XCTAssertEqual(try ProfHarness.run("/usr/bin/env", ["go", "tool", "pprof", "-raw", output("run.pb.gz")]).status, 0)
  }

  /// Main truly blocks (it waits for its threads); beta computes. A busy machine
  /// keeps beta off a CPU for much of its run, rightly shown Off-CPU, so states are
  /// judged by the CPU time each thread did get, which its state track must hold.
  func testWallTraceMarksBlockedThreadsOffCPU() throws {
    let file = output("wall.json.gz")
    let run = try ProfHarness.prof(["trace", "-o", file, "--mode", "wall", "--hz", "200", "--",
                                    ProfHarness.workload("two-threads"), "100000000"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let events = try TraceValidator.validate(Data(try Gzip.decompress(Array(Data(contentsOf: URL(fileURLWithPath: file))))))
    let names = threadNames(events)
    /// Wall and CPU time (µs) in each state of `thread`; every slice's state agrees with its CPU share.
    func states(of thread: String) throws -> (wall: [String: Double], cpu: [String: Double]) {
      let track = try XCTUnwrap(names.first { $0.value == thread + " state" }?.key, "\(names)")
      var wall: [String: Double] = [:], cpu: [String: Double] = [:], misjudged: [String] = []
      for event in events where event["tid"] as? Int == track && event["ph"] as? String == "X" {
        let state = event["name"] as! String, duration = (event["dur"] as! NSNumber).doubleValue
        let percent = try XCTUnwrap(((event["args"] as? [String: Any])?["cpu %"] as? NSNumber)?.doubleValue, "\(event)")
        if state != (percent >= 50 ? "Running" : "Off-CPU") { misjudged.append("\(state) at \(percent)% CPU") }
        wall[state, default: 0] += duration
        cpu[state, default: 0] += duration * percent / 100
      }
      XCTAssertEqual(misjudged, [], "\(thread): slices whose state is not where its CPU share puts it")
      return (wall, cpu)
    }
    let beta = try states(of: "beta"), main = try states(of: "two-threads")
    let used = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.hasPrefix("beta_cpu_ms=") }
      .flatMap { Double($0.dropFirst("beta_cpu_ms=".count)) }, run.stdout) * 1000
    XCTAssertEqual(beta.cpu.values.reduce(0, +), used, accuracy: 0.1 * used, "beta's state track holds the CPU time it used: \(beta)")
    XCTAssertGreaterThan(main.wall["Off-CPU", default: 0], 0.95 * main.wall.values.reduce(0, +), "main only waits: \(main)")
    XCTAssertLessThan(main.cpu.values.reduce(0, +), 0.02 * used, "main only waits: \(main)")
  }

  /// fixtures/hardening/blocked_threads.c: "blocker" (0.6 s CPU) and "holder" (0.4 s,
  /// then it pauses) block SIGPROF: no sample reaches them, yet their CPU time shows.
  /// In cpu mode, which has no idle ticks to place it by, their state track holds it over the run.
  func testTracesShowThreadsThatBlockTheSignalAsUnsampled() throws {
    let program = try ProfHarness.cFixture("hardening", "blocked_threads", into: directory)
    for mode in ["wall", "cpu"] { try assertUnsampledThreadsShown(program, mode: mode) }
  }

  private func assertUnsampledThreadsShown(_ program: String, mode: String) throws {
    let file = output("blocked-\(mode).json"), profile = output("blocked-\(mode).pb.gz")
    let events = try trace(["--mode", mode, "--pprof", profile, "--", program], file: file)
    let names = threadNames(events)
    for (thread, cpuMilliseconds) in [("blocker", 600.0), ("holder", 400.0)] {
      let track = try XCTUnwrap(names.first { $0.value == thread + " state" }?.key, "\(thread) has a state track: \(names)")
      var cpu: [String: Double] = [:]  // milliseconds of CPU time each state stands for
      for event in events where event["tid"] as? Int == track && event["ph"] as? String == "X" {
        let percent = try XCTUnwrap(((event["args"] as? [String: Any])?["cpu %"] as? NSNumber)?.doubleValue)
        cpu[event["name"] as! String, default: 0] += (event["dur"] as! NSNumber).doubleValue / 1000 * percent / 100
      }
      XCTAssertEqual(cpu["Unsampled", default: 0], cpuMilliseconds, accuracy: 0.25 * cpuMilliseconds, "\(mode) \(thread): \(cpu)")
      XCTAssertLessThan(cpu["Off-CPU", default: 0] + cpu["Running", default: 0], 20, "\(mode) \(thread): \(cpu)")
    }
    let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
    let note = try XCTUnwrap((root["metadata"] as? [String: String])?["prof-unsampled"], "\(root["metadata"] ?? "")")
    XCTAssertTrue(note.contains("blocker (pid ") && note.contains("holder (pid ") && note.contains("blocks SIGPROF"), note)
    let rows = try ProfHarness.top(profile).rows
    XCTAssertNotNil(rows.first { $0.name == "[not sampled: thread blocks SIGPROF]" }, "the --pprof profile too: \(rows)")
  }

  func testWallModeDoesNotWakeABlockedThread() throws {
    // A thread asleep for the whole run counts how often a signal interrupted it.
    let source = output("sleeper.c"), program = output("sleeper")
    try """
      #include <errno.h>
      #include <pthread.h>
      #include <stdio.h>
      #include <time.h>
      static int wakeups;
      static void *sleeper(void *unused) {
        struct timespec left = {1, 500000000};
        while (nanosleep(&left, &left) == -1 && errno == EINTR) wakeups++;
        return NULL;
      }
      int main(void) {
        pthread_t thread;
        pthread_create(&thread, NULL, sleeper, NULL);
        pthread_join(thread, NULL);
        printf("wakeups=%d\\n", wakeups);
        return 0;
      }
      """.write(toFile: source, atomically: true, encoding: .utf8)
    XCTAssertEqual(try ProfHarness.run("/usr/bin/env", ["cc", "-O1", "-o", program, source, "-lpthread"]).status, 0)
    let run = try ProfHarness.prof(["trace", "--mode", "wall", "--hz", "200", "-o", output("sleeper.json"), "--", program])
    XCTAssertEqual(run.status, 0, run.stderr)
    // At most the one signal that finds where it sleeps; then idle ticks only.
    let wakeups = try XCTUnwrap(Int(run.stdout.split(separator: "=").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
    XCTAssertLessThanOrEqual(wakeups, 1, "300 ticks must not wake a sleeping thread")
    _ = try TraceValidator.validate(Data(contentsOf: URL(fileURLWithPath: output("sleeper.json"))))
  }

  func testUserSpansFlowsAndCountersReachTheTrace() throws {
    let events = try trace(["--", ProfHarness.workload("trace-spans")], file: output("spans.json"))
    let names = threadNames(events)
    func count(_ phase: String, _ name: String, on thread: String? = nil) -> Int {
      events.filter { event in
        event["ph"] as? String == phase && event["name"] as? String == name
          && (thread == nil || names[event["tid"] as? Int ?? -1] == thread! + " spans")
      }.count
    }
    XCTAssertEqual(count("B", "produce", on: "producer"), 20)
    XCTAssertEqual(count("B", "consume", on: "consumer"), 20)
    XCTAssertEqual(count("B", "inner", on: "consumer"), 20)
    XCTAssertEqual(count("s", "item", on: "producer"), 20)
    XCTAssertEqual(count("f", "item", on: "consumer"), 20)
    XCTAssertEqual(count("i", "producer done", on: "producer"), 1)
    XCTAssertEqual(count("b", "async work"), 1)
    XCTAssertEqual(count("e", "async work"), 1)
    XCTAssertEqual(count("C", "queue depth"), 40)
  }

  /// fixtures/hardening/children.c forks (child_spin), forks and execs (exec_spin)
  /// and spawns (spawn_spin), printing the three pids, while it spins itself.
  func testFollowedChildrenAreProcessesOfTheSameTrace() throws {
    let fixture = try ProfHarness.cFixture("hardening", "children", into: directory)
    let file = output("children.json")
    let run = try ProfHarness.prof(["trace", "--follow-children", "-o", file, "--", fixture])
    XCTAssertEqual(run.status, 0, run.stderr)
    let events = try TraceValidator.validate(Data(contentsOf: URL(fileURLWithPath: file)))
    let pids = run.stdout.split(separator: "\n").compactMap { Int($0) }
    XCTAssertEqual(pids.count, 3, run.stdout)
    let processNames = Dictionary(events.filter { $0["name"] as? String == "process_name" }.map {
      ($0["pid"] as! Int, (($0["args"] as! [String: Any])["name"] as! String))
    }) { $1 }
    XCTAssertEqual(processNames.count, 4, "the program and its three children: \(processNames)")
    for (pid, function) in zip(pids, ["child_spin", "exec_spin", "spawn_spin"]) {
      XCTAssertEqual(processNames[pid], "children (child \(pid))")
      let slices = events.filter { $0["ph"] as? String == "X" && $0["pid"] as? Int == pid }.compactMap { $0["name"] as? String }
      XCTAssertTrue(slices.contains(function), "\(function) runs in \(pid): \(Set(slices))")
      XCTAssertFalse(slices.contains("parent_spin"), "the parent's work stays in the parent")
    }
    XCTAssertTrue(run.stderr.contains("(and 3 child processes)"), run.stderr)
  }

  func testHeapFlagAddsAHeapInUseCounter() throws {
    let events = try trace(["--heap", "--", ProfHarness.workload("demo"), "100"], file: output("heap.json"))
    let heap = events.filter { $0["ph"] as? String == "C" && $0["name"] as? String == "heap in use" }
    XCTAssertGreaterThan(heap.count, 2)
    let bytes = heap.compactMap { ($0["args"] as? [String: Any])?["bytes"] as? Int }
    XCTAssertTrue(bytes.contains { $0 > 100_000 }, "the demo keeps hundreds of KiB of records alive: \(bytes)")
  }

  func testMaxSizeCutsTheTraceAndSaysSo() throws {
    for size in [1024, 4096] {
      let file = output("capped-\(size).json")
      let run = try ProfHarness.prof(["trace", "--max-size", String(size), "-o", file, "--", ProfHarness.workload("trace-spans")])
      XCTAssertEqual(run.status, 0, run.stderr)
      let data = try Data(contentsOf: URL(fileURLWithPath: file))
      XCTAssertLessThanOrEqual(data.count, size, "the whole file, metadata and note included")
      _ = try TraceValidator.validate(data)
      XCTAssertTrue(run.stderr.contains("to stay under --max-size \(size) bytes"), run.stderr)
    }
  }

  func testDisabledSpansDoNothingOutsideProf() throws {
    let run = try ProfHarness.run(ProfHarness.workload("trace-spans"), ["cost", "1000000"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.hasPrefix("disabled_span_ns="), run.stdout)
  }
}
