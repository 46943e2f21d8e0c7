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
      let results = try run([executable] + arguments, output: .tee)
      do {
        _ = try GoFormatParser.parse(String(decoding: results, as: UTF8.self), file: output)
      } catch {
        throw benchFailure("\(product) printed malformed results: \(error)")
      }
      try outputFile.commit([UInt8](results))
      StandardStream.say("saved \(output)")
    }

    /// Runs a command found on PATH that must succeed; returns its standard
    /// output unless that went to stderr.
    @discardableResult
    private func run(_ command: [String], output: ChildOutput) throws -> Data {
      let process = try TargetProcess(command: ResolvedCommand(command, preloading: false),
                                      environment: ProcessInfo.processInfo.environment,
                                      pipe: output == .standardError ? .none : .standardOutput,
                                      outputToStandardError: output == .standardError)
      var collected = Data()
      var teeFailure: StandardStream.Failure?
      let status = process.waitForExit { bytes in
        if output == .tee, teeFailure == nil {
          do throws(StandardStream.Failure) { try StandardStream.output.write(bytes) } catch { teeFailure = error }
        }
        collected.append(contentsOf: bytes)
      }
      if let teeFailure { throw teeFailure }
      guard status.shellStatus == 0 else {
        let failure = benchFailure("\(command.joined(separator: " ")) exited with status \(status.shellStatus)")
        // Killed by a signal (one sent to prof, forwarded): prof ends as the program did.
        if case .signaled = status { throw ExitCode(status.shellStatus) }
        throw failure
      }
      return collected
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
