import AgentStream
import Foundation
import XCTest

/// Runs a tool to completion; fails the test when it exits non-zero.
@discardableResult
func command(_ executable: String, _ arguments: [String]) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  let output = Pipe()
  process.standardOutput = output
  try process.run()
  let data = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  XCTAssertEqual(process.terminationStatus, 0, "\(executable) \(arguments)")
  return String(decoding: data, as: UTF8.self)
}

/// fixtures/symbols/NAME, for programs compiled at test time.
func symbolsFixture(_ name: String) -> String {
  URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("fixtures/symbols/\(name)").path
}

/// A directory for one test's files, removed by the caller.
func temporaryDirectory() throws -> URL {
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prof-symbols-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  return directory
}

/// An executable segment loaded at `start`, file address 0 there.
func module(_ path: String, at start: UInt64, size: UInt64 = 0x10000) -> LoadedModule {
  LoadedModule(start: start, limit: start + size, fileOffset: 0, loadBias: start, buildID: [], path: path)
}
