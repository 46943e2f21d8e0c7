import ArgumentParser
import BenchFormat
import Foundation
import OutputFile
import TargetLaunch

extension Bench {
  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Build a benchmark executable in release mode, run it and save its output.",
      discussion: """
        Equivalent to:
          swift build -c release --product PRODUCT
          $(swift build -c release --show-bin-path)/PRODUCT ARGS... | tee OUTPUT
        Example: prof bench run MyBenchmarks -o main.txt -- --count 10
        """
    )

    @Argument(help: "The benchmark executable product of the package.")
    var product: String

    @Option(name: [.short, .long], help: "Where to save the results.")
    var output = "bench.txt"

    @Option(help: "The package directory.")
    var packagePath = "."

    @Argument(parsing: .postTerminator, help: "Arguments for the benchmark executable.")
    var arguments: [String] = []

    func run() throws {
      let outputFile = try AtomicOutputFile(path: output)
      let swiftBuild = ["swift", "build", "-c", "release", "--package-path", packagePath]
      // Build output goes to stderr so that stdout carries only results.
      try run(swiftBuild + ["--product", product], output: .standardError)
      let binPath = String(decoding: try run(swiftBuild + ["--show-bin-path"], output: .capture), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
      let executable = URL(fileURLWithPath: binPath).appendingPathComponent(product).path
      let benchmark = try launch([executable] + arguments, output: .tee)
      // Stopped by a signal sent to prof (and forwarded): the results printed so far
      // are saved, and prof ends as the benchmark did, as prof cpu does.
      let stopped = benchmark.process.receivedSignal != nil
      if !stopped { try require(benchmark.process, [executable] + arguments) }
      // A line cut by the signal is left out.
      let results = !stopped ? benchmark.output : benchmark.output.lastIndex(of: UInt8(ascii: "\n")).map { benchmark.output[...$0] } ?? Data()
      do {
        _ = try GoFormatParser.parse(String(decoding: results, as: UTF8.self), file: output)
      } catch {
        throw benchFailure("\(product) printed malformed results: \(error)")
      }
      try outputFile.commit([UInt8](results))
      StandardStream.say(stopped ? "saved \(output): the results printed before the benchmark was stopped" : "saved \(output)")
      if stopped, let status = benchmark.process.status { try status.passThrough() }
    }

    /// Runs a command found on PATH that must succeed; returns its standard
    /// output unless that went to stderr.
    @discardableResult
    private func run(_ command: [String], output: ChildOutput) throws -> Data {
      let ran = try launch(command, output: output)
      try require(ran.process, command)
      return ran.output
    }

    /// Runs a command found on PATH to its end; returns the ended process and its
    /// standard output unless that went to stderr.
    private func launch(_ command: [String], output: ChildOutput) throws -> (process: TargetProcess, output: Data) {
      let process = try TargetProcess(command: ResolvedCommand(command, preloading: false),
                                      environment: ProcessInfo.processInfo.environment,
                                      pipe: output == .standardError ? .none : .standardOutput,
                                      outputToStandardError: output == .standardError)
      var collected = Data()
      var teeFailure: StandardStream.Failure?
      _ = process.waitForExit { bytes in
        if output == .tee, teeFailure == nil {
          do throws(StandardStream.Failure) { try StandardStream.output.write(bytes) } catch { teeFailure = error }
        }
        collected.append(contentsOf: bytes)
      }
      if let teeFailure { throw teeFailure }
      return (process, collected)
    }

    /// A command that failed fails the run.
    private func require(_ process: TargetProcess, _ command: [String]) throws {
      guard let status = process.status, status.shellStatus != 0 else { return }
      let failure = benchFailure("\(command.joined(separator: " ")) exited with status \(status.shellStatus)")
      // Killed by a signal (one sent to prof, forwarded): prof ends as the program did.
      if case .signaled = status { throw ExitCode(status.shellStatus) }
      throw failure
    }
  }
}

/// Where a child's standard output goes.
private enum ChildOutput {
  /// Our stderr, so that our stdout carries only results.
  case standardError
  /// Returned to the caller only.
  case capture
  /// Returned and copied to our stdout as it arrives.
  case tee
}
