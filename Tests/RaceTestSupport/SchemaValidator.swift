import Foundation

/// Validates SARIF with Python's jsonschema against the OASIS SARIF 2.1.0 schema kept
/// beside this file (see Tests/RaceReportTests/Resources/README.md for its origin).
public enum SchemaValidator {
  public struct Invalid: Error, CustomStringConvertible {
    public var description: String
  }

  static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("sarif-schema-2.1.0.json")

  public static func validateSARIF(_ document: Data) throws {
    let file = FileManager.default.temporaryDirectory
      .appendingPathComponent("prof-race-\(UUID().uuidString).sarif")
    try document.write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let python = Process()
    python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    python.arguments = [
      "python3", "-c",
      "import json, sys, jsonschema; "
        + "jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))",
      schema.path, file.path,
    ]
    let errors = Pipe()
    python.standardError = errors
    try python.run()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    python.waitUntilExit()
    guard python.terminationStatus == 0 else {
      throw Invalid(description: String(decoding: message, as: UTF8.self))
    }
  }
}
