import Foundation

/// The machine-readable form of a benchmark file: the same model as the text
/// format, every sample kept, encoded as JSON with sorted keys.
public enum JSONFormat {
  public static func encode(_ file: BenchmarkFile) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    // Encoding a tree of plain value types cannot fail.
    return try! encoder.encode(file)
  }

  public static func decode(_ data: Data, file: String) throws(FormatError) -> BenchmarkFile {
    do {
      return try JSONDecoder().decode(BenchmarkFile.self, from: data)
    } catch {
      throw FormatError(file: file, line: 0, message: "invalid JSON benchmark file: \(error)")
    }
  }
}
