import ArgumentParser
import BenchFormat
import CAllocCounter
import Foundation
import OutputFile

/// The entry point of a benchmark executable. Call `BenchmarkMain.run()`
/// after creating the benchmarks; it parses the command line
/// (`--benchtime`, `--count`, `--filter`, `--json`, `--list`), runs the
/// selected benchmarks and prints Go's benchmark format on standard output.
/// Exits 0, or 1 when a benchmark throws.
public enum BenchmarkMain {
  public static func run(arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
    BenchmarkCommand.main(arguments)
    exit(0)
  }
}

extension BenchTime: ExpressibleByArgument {
  public init?(argument: String) {
    self.init(argument)
  }
}

struct BenchmarkCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the benchmarks of this executable; prints Go's benchmark format.",
    discussion: """
      Allocation counts (B/op, allocs/op) include every thread of the process \
      while a benchmark's timer runs.
      """)

  @Option(help: "Run each benchmark for this long (1s, 500ms) or this many iterations (100x).")
  var benchtime = BenchTime.nanoseconds(1_000_000_000)

  @Option(help: "Run each benchmark this many times; each run is one sample.")
  var count = 1

  @Option(help: "Run only benchmarks whose name matches this regular expression.")
  var filter = "."

  @Option(help: "Also write every sample as JSON to this file.")
  var json: String?

  @Option(help: "The pkg: configuration value (default: the executable's name).")
  var pkg: String?

  @Flag(help: "List the benchmark names and exit.")
  var list = false

  func validate() throws {
    guard count > 0 else { throw ValidationError("--count must be positive") }
    _ = try selectionRegex()
  }

  func run() throws {
    let selected = try BenchmarkRegistry.shared.all.filter {
      try $0.name.contains(selectionRegex())
    }
    if list {
      selected.forEach { emit($0.name) }
      return
    }
    if prof_alloc_counter_is_active() == 0 {
      warn("malloc interposition is not active: B/op and allocs/op will read 0")
    }
    var file = BenchmarkFile(config: configuration())
    file.config.forEach { emit(GoFormatWriter.configLine($0)) }
    let procs = ProcessInfo.processInfo.activeProcessorCount
    let runner = Runner(benchTime: benchtime, procs: procs)
    let width = selected.map { "Benchmark\($0.name)-\(procs)".count }.max() ?? 0
    var failed = false
    for benchmark in selected {
      for _ in 0..<count {
        do {
          let result = try runner.sample(benchmark)
          file.results.append(result)
          emit(GoFormatWriter.resultLine(result, nameWidth: width))
        } catch {
          warn("--- FAIL: Benchmark\(benchmark.name)-\(procs)\n    \(error)")
          failed = true
          break
        }
      }
    }
    if let json { try writeJSON(file, to: json) }
    if failed { throw ExitCode.failure }
  }

  private func selectionRegex() throws -> Regex<AnyRegexOutput> {
    do {
      return try Regex(filter)
    } catch {
      throw ValidationError("invalid --filter regular expression \(filter): \(error)")
    }
  }

  private func configuration() -> [ConfigEntry] {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).lastPathComponent
    var config = [
      ConfigEntry("goos", "linux"),
      ConfigEntry("goarch", goarch),
      ConfigEntry("pkg", pkg ?? executable),
    ]
    if let cpu = cpuModel() { config.append(ConfigEntry("cpu", cpu)) }
    return config
  }

  private func writeJSON(_ file: BenchmarkFile, to path: String) throws {
    do {
      try JSONFormat.encode(file).write(to: URL(fileURLWithPath: path))
    } catch {
      warn("cannot write \(path): \(error)")
      throw ExitCode.failure
    }
  }
}

/// Go's GOARCH spelling of this machine's architecture.
private var goarch: String {
  #if arch(x86_64)
    "amd64"
  #elseif arch(arm64)
    "arm64"
  #else
    "unknown"
  #endif
}

/// The "model name" of /proc/cpuinfo, as Go prints in its cpu: line.
private func cpuModel() -> String? {
  guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
  let line = info.split(separator: "\n").first { $0.hasPrefix("model name") }
  return line?.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
}

/// Writes one line of output unbuffered, so `tee` and CI logs see progress.
/// Results that cannot be written end the run (exit 1): a run whose results were
/// lost must not look like one that passed.
private func emit(_ line: String) {
  do {
    try StandardStream.output.write(line + "\n")
  } catch {
    StandardStream.say("\(error)")
    exit(1)
  }
}

private func warn(_ message: String) {
  StandardStream.say(message)
}
