import Foundation
import XCTest

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The prof executable that `swift test` built next to the test bundle.
let profExecutable = URL(fileURLWithPath: CommandLine.arguments[0])
  .deletingLastPathComponent().appendingPathComponent("prof").path

struct Output {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs a command found on PATH and collects its output.
func runCommand(_ command: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Output {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = command
  process.currentDirectoryURL = directory
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  // Read stderr concurrently so a chatty child cannot fill its pipe and block.
  nonisolated(unsafe) var errData = Data()
  let errReader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
  errReader.start()
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  while !errReader.isFinished { usleep(1000) }
  return Output(
    status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}

/// The path of `tool` on PATH. Missing tools skip a local run but fail in CI,
/// where .ci/run installs them.
func requireTool(_ tool: String, package: String) throws -> String {
  let which = try runCommand(["which", tool])
  if which.status == 0 { return which.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
  if ProcessInfo.processInfo.environment["CI"] != nil {
    XCTFail("\(tool) is missing: apt-get install \(package)")
  }
  throw XCTSkip("\(tool) is missing: apt-get install \(package)")
}

func temporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("prof-bench-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}
