import Foundation

/// Symbolizes with llvm-symbolizer (ELF symbol tables, DWARF line tables and
/// inlined frames), which ships with every Swift toolchain. Demangling is left to
/// `Demangler`: llvm-symbolizer knows no Swift.
public struct LLVMSymbolizer: Symbolizer {
  public let executable: String

  /// Addresses per invocation, passed as arguments to stay clear of ARG_MAX.
  private static let batchSize = 4000

  public init(executable: String) { self.executable = executable }

  /// The toolchain's llvm-symbolizer (beside `swift`), else the first on PATH.
  public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> LLVMSymbolizer? {
    if let explicit = environment["PROF_LLVM_SYMBOLIZER"] { return LLVMSymbolizer(executable: explicit) }
    let path = (environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
    let files = FileManager.default
    var candidates: [String] = []
    for directory in path where files.isExecutableFile(atPath: directory + "/swift") {
      let swift = URL(fileURLWithPath: directory + "/swift").resolvingSymlinksInPath()
      candidates.append(swift.deletingLastPathComponent().appendingPathComponent("llvm-symbolizer").path)
    }
    candidates += path.map { $0 + "/llvm-symbolizer" }
    return candidates.first(where: files.isExecutableFile(atPath:)).map(LLVMSymbolizer.init(executable:))
  }

  /// Names this build of llvm-symbolizer, so that a toolchain upgraded in place
  /// does not reuse the old one's cached answers.
  public var identity: String {
    var info = stat()
    guard stat(executable, &info) == 0 else { return executable }
    return "llvm-symbolizer \(executable) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
  }

  public func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    let path = VirtualDSO.fileHolding(path)
    var frames: [[SourceFrame]] = []
    frames.reserveCapacity(addresses.count)
    for start in stride(from: 0, to: addresses.count, by: Self.batchSize) {
      let batch = addresses[start..<min(start + Self.batchSize, addresses.count)]
      let results = try run(path, Array(batch))
      guard results.count == batch.count else {
        throw SymbolizerError("llvm-symbolizer answered \(results.count) of \(batch.count) addresses for \(path)")
      }
      frames += results.map(\.frames)
    }
    return frames
  }

  private func run(_ path: String, _ addresses: [UInt64]) throws -> [Result] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["--obj=" + path, "--output-style=JSON", "--no-demangle", "--inlines"]
      + addresses.map { "0x" + String($0, radix: 16) }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw SymbolizerError("cannot run \(executable): \(error.localizedDescription)")
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw SymbolizerError("\(executable) failed on \(path) (status \(process.terminationStatus))")
    }
    do {
      return try JSONDecoder().decode([Result].self, from: data)
    } catch {
      throw SymbolizerError("unreadable llvm-symbolizer output for \(path): \(error)")
    }
  }

  /// llvm-symbolizer's JSON for one address.
  private struct Result: Decodable {
    struct Entry: Decodable {
      var functionName: String?
      var fileName: String?
      var line: Int64?
      var column: Int64?
      var startFileName: String?
      var startLine: Int64?

      enum CodingKeys: String, CodingKey {
        case functionName = "FunctionName", fileName = "FileName", line = "Line", column = "Column"
        case startFileName = "StartFileName", startLine = "StartLine"
      }
    }

    var symbol: [Entry]?

    enum CodingKeys: String, CodingKey { case symbol = "Symbol" }

    var frames: [SourceFrame] {
      (symbol ?? []).compactMap { entry in
        guard let name = entry.functionName, !name.isEmpty, name != "??" else { return nil }
        return SourceFrame(symbol: name, file: entry.fileName ?? "", line: entry.line ?? 0,
                           column: entry.column ?? 0, startFile: entry.startFileName ?? "",
                           startLine: entry.startLine ?? 0)
      }
    }
  }
}
