import Foundation
import ProfTestSupport
import XCTest

/// --follow-children and --merge. fixtures/hardening/children.c forks a child
/// (child_spin), forks one that execs the fixture again (exec_spin) and starts one
/// with posix_spawn (spawn_spin), then spins itself (parent_spin) beside a thread
/// (thread_spin) that was busy at every fork; it prints the children's pids, and
/// the spawned child the LD_PRELOAD it inherited.
final class FollowChildrenEndToEndTests: OutputDirectoryTestCase {
  private static let childSpins = ["child_spin", "exec_spin", "spawn_spin"]

  /// prof cpu on the fixture, or on a shell wrapper that execs it; the children's
  /// pids in the order of childSpins.
  private func cpu(_ options: [String], file: String, wrapped: Bool = false) throws -> (pids: [String], stderr: String) {
    let fixture = try ProfHarness.cFixture("hardening", "children", into: directory)
    let command = (wrapped ? ["/bin/sh", "-c", "exec \"$0\""] : []) + [fixture]
    let run = try ProfHarness.prof(["cpu", "--hz", "1000", "-o", file] + options + ["--"] + command)
    XCTAssertEqual(run.status, 0, run.stderr)
    let pids = run.stdout.split(separator: "\n").map(String.init)
    XCTAssertEqual(pids.count, 3, run.stdout)
    return (pids, run.stderr)
  }

  private func spawnedChildPreloadsTheAgent(_ stderr: String) throws -> Bool {
    try XCTUnwrap(stderr.split(separator: "\n").first { $0.hasPrefix("spawned child: ") }, stderr).contains("libProfAgent.so")
  }

  /// Cumulative milliseconds (or counts) per function of `go tool pprof -top`.
  private func cumulative(_ file: String, _ options: [String] = []) throws -> [String: Double] {
    Dictionary(try ProfHarness.top(file, options).rows.map { ($0.name, $0.cum) }) { first, _ in first }
  }

  /// The files the run wrote beside `output(name)`.
  private func written(beside name: String) throws -> Set<String> {
    let stem = name.dropLast(".pb.gz".count)
    return Set(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(stem + ".") })
  }

  /// The values of one label in `go tool pprof -tags`: its section's lines end with ": VALUE".
  private func tagValues(_ key: String, _ file: String) throws -> Set<String> {
    let tags = try ProfHarness.pprof(["-tags", file]).stdout
    let section = try XCTUnwrap(tags.components(separatedBy: "\n\n").first {
      $0.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("\(key): ")
    }, tags)
    return Set(section.split(separator: "\n").dropFirst().compactMap { $0.components(separatedBy: ": ").last })
  }

  func testWithoutTheFlagOnlyTheProgramIsProfiled() throws {
    let run = try cpu([], file: output("plain.pb.gz"))
    XCTAssertFalse(try spawnedChildPreloadsTheAgent(run.stderr), "children do not even load the agent")
    XCTAssertEqual(try written(beside: "plain.pb.gz"), ["plain.pb.gz"])
    let functions = try cumulative(output("plain.pb.gz"))
    XCTAssertEqual(try XCTUnwrap(functions["parent_spin"], "\(functions)"), 500, accuracy: 150)
    for spin in Self.childSpins { XCTAssertNil(functions[spin], "\(spin) is not profiled: \(functions)") }
  }

  /// Wrapped: the program goes on with prof's stream after the exec, and its
  /// children still start files of their own.
  func testEachChildIsProfiledIntoAFileNamedAfterItsPid() throws {
    let (pids, stderr) = try cpu(["--follow-children"], file: output("f.pb.gz"), wrapped: true)
    XCTAssertTrue(try spawnedChildPreloadsTheAgent(stderr))
    XCTAssertEqual(try written(beside: "f.pb.gz"), Set(["f.pb.gz"] + pids.map { "f.\($0).pb.gz" }))
    let parent = try cumulative(output("f.pb.gz"))
    XCTAssertEqual(try XCTUnwrap(parent["parent_spin"], "\(parent)"), 500, accuracy: 150)
    for (pid, spin) in zip(pids, Self.childSpins) {
      let child = try cumulative(output("f.\(pid).pb.gz"))
      XCTAssertEqual(try XCTUnwrap(child[spin], "child \(pid): \(child)"), 500, accuracy: 150)
      for other in ["parent_spin", "thread_spin"] {
        XCTAssertNil(child[other], "child \(pid) has the parent's samples, in flight at the fork: \(child)")
      }
      XCTAssertNil(parent[spin], "the parent's profile has \(spin)")
    }
  }

  func testMergeLabelsEverySampleWithItsProcess() throws {
    let pids = try cpu(["--follow-children", "--merge"], file: output("m.pb.gz")).pids
    let merged = output("m.merged.pb.gz")
    let functions = try cumulative(merged)
    for spin in ["parent_spin", "thread_spin"] + Self.childSpins {
      XCTAssertEqual(try XCTUnwrap(functions[spin], "\(functions)"), 500, accuracy: 150, spin)
    }
    let processes = try tagValues("pid", merged)
    XCTAssertEqual(processes.count, 4, "the parent and its three children: \(processes)")
    XCTAssertTrue(processes.isSuperset(of: pids), "\(processes) \(pids)")
    XCTAssertEqual(try tagValues("process", merged), ["children"])
    for (pid, spin) in zip(pids, Self.childSpins) {
      let focused = try cumulative(merged, ["-tagfocus=pid=\(pid)"])
      XCTAssertEqual(try XCTUnwrap(focused[spin], "pid \(pid): \(focused)"), 500, accuracy: 150)
      XCTAssertNil(focused["parent_spin"], "pid \(pid): \(focused)")
    }
  }

  func testHeapMergeCountsEveryProcessExactly() throws {
    let fixture = try ProfHarness.cFixture("heap", "follow", into: directory)
    let run = try ProfHarness.prof(["heap", "--sample-rate", "1", "--follow-children", "--merge",
                                    "-o", output("h.pb.gz"), "--", fixture])
    XCTAssertEqual(run.status, 0, run.stderr)
    let pids = run.stdout.split(separator: "\n").map(String.init)
    let merged = output("h.merged.pb.gz")
    let leaks = try cumulative(merged, ["-sample_index=inuse_objects"])
    XCTAssertEqual(leaks["parent_leak"], 20, "\(leaks)")
    XCTAssertEqual(leaks["child_leak"], 30, "\(leaks)")
    XCTAssertEqual(leaks["exec_leak"], 40, "\(leaks)")
    XCTAssertTrue(try tagValues("pid", merged).isSuperset(of: pids))
    let execd = try cumulative(merged, ["-sample_index=inuse_objects", "-tagfocus=pid=\(pids[1])"])
    XCTAssertEqual(execd["exec_leak"], 40, "the image a child exec'd keeps the child's pid: \(execd)")
    XCTAssertNil(execd["child_leak"])
  }

  func testAChildsSignalConflictIsReportedAsItsOwn() throws {
    let ownHandler = try ProfHarness.cFixture("hardening", "own_handler", into: directory)
    let run = try ProfHarness.prof(["cpu", "--follow-children", "-o", output("sh.pb.gz"), "--",
                                    "/bin/sh", "-c", "\"$0\" sigaction; true", ownHandler])
    XCTAssertEqual(run.status, 0, run.stderr)
    let lines = run.stderr.split(separator: "\n")
    XCTAssertTrue(lines.contains { $0.hasPrefix("prof: child ") && $0.contains("the program installed its own SIGPROF handler") },
                  run.stderr)
    XCTAssertFalse(lines.contains { !$0.hasPrefix("prof: child ") && $0.contains("installed its own") },
                   "the shell itself installed none: \(run.stderr)")
  }

  func testMergeWithoutFollowingChildrenIsRefused() throws {
    for command in ["cpu", "heap"] {
      let run = try ProfHarness.prof([command, "--merge", "-o", output("x.pb.gz"), "--", "/bin/true"])
      XCTAssertNotEqual(run.status, 0, command)
      XCTAssertTrue(run.stderr.contains("--merge combines the profiles --follow-children writes"), run.stderr)
    }
  }
}
