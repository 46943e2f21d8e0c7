import Foundation
import Pprof
import ProfTestSupport
import XCTest

/// Valid profiles that are extreme in value, depth or size, read by every report
/// command as a user runs them: no trap, no crash, no abort.
final class HostileProfileTests: OutputDirectoryTestCase {
  private let reports: [[String]] = [["top"], ["list", "."], ["diff"], ["convert", "--to", "folded"],
                                     ["convert", "--to", "speedscope"]]

  private func assertEveryReportReads(_ file: String, line: UInt = #line) throws {
    for command in reports {
      let arguments = command == ["diff"] ? ["diff", file, file] : command + [file]
      let run = try ProfHarness.prof(arguments)
      XCTAssertEqual(run.status, 0, "\(arguments): \(run.stderr)", line: line)
      XCTAssertFalse(run.stdout.isEmpty, "\(arguments)", line: line)
    }
    let flame = try ProfHarness.prof(["flame", file, "-o", output("flame.svg")])
    XCTAssertEqual(flame.status, 0, flame.stderr, line: line)
  }

  func testSumsPastInt64Saturate() throws {
    let folded = output("x.folded"), file = output("x.pb.gz")
    try "a 9223372036854775807\nb 1\n".write(toFile: folded, atomically: true, encoding: .utf8)
    XCTAssertEqual(try ProfHarness.prof(["convert", "--to", "pprof", folded, "-o", file]).status, 0)
    XCTAssertTrue(try ProfHarness.pprof(["-raw", file]).stdout.contains("9223372036854775807"))
    try assertEveryReportReads(file)
    let top = try ProfHarness.prof(["top", file]).stdout
    XCTAssertTrue(top.contains("of 9223372036854775808 total\n"), "the total saturates at Int64.max:\n\(top)")
    let folded2 = try ProfHarness.prof(["convert", "--to", "folded", file]).stdout
    XCTAssertEqual(folded2, "a 9223372036854775807\nb 1\n")
  }

  /// One stack `f0;f1;...;f(depth-1)`, written as a pprof file.
  private func deepStack(_ depth: Int) throws -> String {
    let profile = ProfileFixtures.cpu([((0..<depth).map { "f\($0)" }, 1)])
    let file = output("deep-\(depth).pb.gz")
    try Data(profile.gzipped()).write(to: URL(fileURLWithPath: file))
    return file
  }

  func testAMillionFrameStackConvertsToFoldedAndSpeedscope() throws {
    // Both crashed at 100,000 frames (a recursive walk of the call tree).
    let depth = 1_000_000, file = try deepStack(depth)
    let folded = try ProfHarness.prof(["convert", "--to", "folded", file])
    XCTAssertEqual(folded.status, 0, folded.stderr)
    XCTAssertEqual(folded.stdout, (0..<depth).map { "f\($0)" }.joined(separator: ";") + " 1\n")
    let speedscope = try ProfHarness.prof(["convert", "--to", "speedscope", file])
    XCTAssertEqual(speedscope.status, 0, speedscope.stderr)
    let json = try JSONSerialization.jsonObject(with: Data(speedscope.stdout.utf8)) as? [String: Any]
    let samples = (json?["profiles"] as? [[String: Any]])?.first?["samples"] as? [[Int]]
    XCTAssertEqual(samples?.first?.count, depth)
  }

  func testAHundredThousandFrameStackIsReadByEveryReport() throws {
    // flame crashed from 20,000 frames; a million frames draw too (250 MB of SVG), too slow for the suite.
    let depth = 100_000, file = try deepStack(depth), svg = output("deep.svg")
    let run = try ProfHarness.prof(["flame", file, "-o", svg])
    XCTAssertEqual(run.status, 0, run.stderr)
    let text = try String(contentsOfFile: svg, encoding: .utf8)
    XCTAssertEqual(text.components(separatedBy: "<g class=\"f\"").count - 1, depth + 1, "every frame and the root")
    XCTAssertTrue(text.contains("data-name=\"f99999\""))
    let top = try ProfHarness.prof(["top", "-n", "2", "--sample-index", "samples", file])
    XCTAssertEqual(top.status, 0, top.stderr)
    XCTAssertTrue(top.stdout.hasSuffix("         1   100%   100%          1   100%  f99999\n"
      + "         0     0%   100%          1   100%  f0\n"), top.stdout)
    let list = try ProfHarness.prof(["list", "^f9999.$", file])
    XCTAssertEqual(list.status, 0, list.stderr)
    XCTAssertEqual(list.stdout.components(separatedBy: "ROUTINE").count - 1, 10)
    XCTAssertEqual(try ProfHarness.prof(["diff", file, file]).status, 0)
  }

  /// A profile of `samples` one-frame samples: the same frame in each, or else each its own
  /// location id. Written by Python: building 80 MB of protobuf takes a minute in a debug build.
  private func minimalSamples(_ samples: Int, distinct: Bool) throws -> String {
    let file = output("minimal-\(samples)-\(distinct).pb.gz")
    let script = """
      import gzip, sys
      def varint(n):
          out = bytearray()
          while n >= 0x80: out.append(n & 0x7f | 0x80); n >>= 7
          return bytes(out + bytes([n]))
      def field(n, body): return varint(n << 3 | 2) + varint(len(body)) + body
      def scalar(n, v): return varint(n << 3) + varint(v)
      def sample(location): return field(2, field(1, varint(location)) + field(2, varint(1)))
      samples, distinct = int(sys.argv[2]), sys.argv[3] == "1"
      body = field(1, scalar(1, 1) + scalar(2, 2)) + field(5, scalar(1, 1) + scalar(2, 3)) + field(4, scalar(1, 1) + field(4, scalar(1, 1)))
      body += b"".join(sample(n + 1) for n in range(samples)) if distinct else sample(1) * samples
      body += b"".join(field(6, s) for s in [b"", b"samples", b"count", b"main"])
      open(sys.argv[1], "wb").write(gzip.compress(body, 1))
      """
    let run = try ProfHarness.run("/usr/bin/env", ["python3", "-c", script, file, String(samples), distinct ? "1" : "0"])
    guard run.status == 0 else { throw HarnessError("python3 failed: \(run.stderr)") }
    return file
  }

  func testTenMillionSamplesAreReadInUnderAGigabyte() throws {
    // 117 KB of gzip; before aggregation, prof top took 1.3 GB and aborted under this limit.
    let file = try minimalSamples(10_000_000, distinct: false)
    let prof: String = ProfHarness.prof
    let run = try ProfHarness.run("/bin/sh", ["-c", "ulimit -v 1048576 && exec \"$0\" top \"$1\"", prof, file])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.hasSuffix("  10000000   100%   100%   10000000   100%  main\n"), run.stdout)
  }

  func testAProfileBeyondTheMemoryBudgetIsOneLine() throws {
    // 4 million distinct stacks in 6 MB of gzip (their locations are missing too, but the budget is hit first).
    let file = try minimalSamples(4_000_000, distinct: true)
    let run = try ProfHarness.prof(["top", file])
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.stderr, "Error: \(file): profile too large: holding it would take more than 1024 MiB, prof's limit for one profile\n")
  }

  /// A pprof file from folded stacks, written by prof.
  private func profile(folded text: String, _ name: String) throws -> String {
    let folded = output(name + ".folded"), file = output(name + ".pb.gz")
    try text.write(toFile: folded, atomically: true, encoding: .utf8)
    let run = try ProfHarness.prof(["convert", "--to", "pprof", folded, "-o", file])
    XCTAssertEqual(run.status, 0, run.stderr)
    return file
  }

  func testCatastrophicFocusRegexIsLinear() throws {
    // Swift's backtracking Regex took minutes on this name; RE2, go's engine, is linear.
    let file = try profile(folded: "main;\(String(repeating: "a", count: 40))b 1\nmain;aaaa 2\n", "focus")
    for pattern in ["^(a+)+$", "^(a|aa)+$", "(a*)*b$"] {
      let ours = try ProfHarness.prof(["top", "--focus", pattern, file])
      XCTAssertEqual(ours.status, 0, ours.stderr)
      XCTAssertEqual(ours.stdout, try ProfHarness.pprof(["-top", "-focus=" + pattern, file]).stdout, pattern)
    }
    let bad = try ProfHarness.prof(["top", "--focus", "(?=a)", file])
    XCTAssertEqual(bad.stderr, "Error: invalid regular expression \"(?=a)\": invalid or unsupported Perl syntax: (?=\n")
  }

  func testConcatenatedGzipMembersAreRead() throws {
    let file = try profile(folded: "main;work 3\nmain 1\n", "members"), joined = output("joined.pb.gz")
    let split = try ProfHarness.run("/bin/sh", ["-c", "cd \"$2\" && gzip -dc \"$0\" > raw && head -c 20 raw | gzip > a && tail -c +21 raw | gzip > b && cat a b > \"$1\"",
                                                file, joined, directory.path])
    XCTAssertEqual(split.status, 0, split.stderr)
    let ours = try ProfHarness.prof(["top", joined])
    XCTAssertEqual(ours.status, 0, ours.stderr)
    XCTAssertEqual(ours.stdout, try ProfHarness.pprof(["-top", joined]).stdout)
  }
}

/// Inputs that are not profiles, or that would take more memory than prof may hold:
/// one line naming the file and exit 1, in bounded memory and time.
final class HostileInputTests: OutputDirectoryTestCase {
  func testEndlessRandomBytesEndAtOnceWithOneLine() throws {
    for arguments in [["top", "/dev/urandom"], ["list", ".", "/dev/urandom"], ["convert", "--to", "folded", "/dev/urandom"],
                      ["diff", "/dev/urandom", "/dev/urandom"], ["flame", "/dev/urandom", "-o", output("u.svg")],
                      ["bench", "compare", "/dev/urandom", "/dev/urandom"]] {
      let run = try ProfHarness.prof(arguments)
      XCTAssertEqual(run.status, 1, "\(arguments): \(run.stderr)")
      XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, "\(arguments): \(run.stderr)")
      XCTAssertTrue(run.stderr.contains("/dev/urandom: "), "\(arguments): \(run.stderr)")
    }
  }

  /// prof under `ulimit -v` (RLIMIT_AS) of 300,000 KiB: its budget is half of that.
  private func profUnderAddressSpaceLimit(_ arguments: [String]) throws -> ProfHarness.Run {
    let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
    return try ProfHarness.command(["/bin/sh", "-c", "ulimit -v 300000; exec '\(ProfHarness.prof)' \(quoted)"])
  }

  func testAGzipBombUnderAnAddressSpaceLimitIsOneLine() throws {
    // 256 MiB of zeros: aborted in an allocation ("failed to allocate", 134) under the limit.
    let file = output("bomb.pb.gz")
    try Data(Gzip.compress([UInt8](repeating: 0, count: 256 << 20), level: 9)).write(to: URL(fileURLWithPath: file))
    let run = try profUnderAddressSpaceLimit(["top", file])
    XCTAssertEqual(run.status, 1, run.stderr)
    XCTAssertEqual(run.stderr, "Error: \(file): profile too large: expands beyond 146 MiB, prof's limit for one profile\n")
  }

  func testAnEndlessGzipStreamIsRefusedAtTheInputLimit() throws {
    // Looks like gzip, so only the size limit can end it (146 MiB under this ulimit).
    let run = try ProfHarness.command(["/bin/sh", "-c",
      "(printf '\\037\\213'; cat /dev/zero 2>/dev/null) | (ulimit -v 300000; exec '\(ProfHarness.prof)' top /dev/stdin)"])
    XCTAssertEqual(run.status, 1, run.stderr)
    XCTAssertEqual(run.stderr, "Error: /dev/stdin: larger than 146 MiB, prof's limit for one input file\n")
  }
}

/// --focus and --ignore that match nothing, or are empty, as go tool pprof takes them.
final class UnmatchedFilterTests: OutputDirectoryTestCase {
  func testUnmatchedAndEmptyFiltersAreToldAsGoTellsThem() throws {
    let file = output("c.pb.gz")
    try Data(ProfileFixtures.cpu([(["main", "work"], 3), (["main", "idle"], 1)]).gzipped()).write(to: URL(fileURLWithPath: file))
    for filters in [["-focus=zzz"], ["-ignore=zzz"], ["-focus=zzz", "-ignore=yyy"], ["-focus=work", "-ignore=work"],
                    ["-focus="], ["-ignore="], ["-focus=work"]] {
      let go = try ProfHarness.pprof(["-top"] + filters + [file])
      let prof = try ProfHarness.prof(["top"] + filters.flatMap { $0.dropFirst().split(separator: "=", omittingEmptySubsequences: false)
        .enumerated().map { $0 == 0 ? "--" + $1 : String($1) } } + [file])
      XCTAssertEqual(prof.status, 0, prof.stderr)
      XCTAssertEqual(prof.stderr, go.stderr.split(separator: "\n").filter { $0.hasSuffix("matched no samples") }.map { $0 + "\n" }.joined(),
                     "\(filters)")
      let activeFilters = { (text: String) in text.split(separator: "\n").filter { $0.hasPrefix("Active filters") || $0.hasPrefix("   ") } }
      XCTAssertEqual(activeFilters(prof.stdout), activeFilters(go.stdout), "\(filters)")
    }
    let diff = try ProfHarness.prof(["diff", "--focus", "zzz", file, file])
    XCTAssertEqual(diff.stderr, "Focus expression matched no samples\n", "once for both profiles")
  }
}
