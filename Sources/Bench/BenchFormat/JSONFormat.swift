import Foundation

/// The machine-readable form of a benchmark file: the same model as the text
/// format, every sample kept, encoded as JSON with sorted keys.
public enum JSONFormat {
  public static func encode(_ file: BenchmarkFile) -> Data {
    encode(value: file)
  }

  /// Pretty, stably ordered JSON of any plain value tree (also used for
  /// `prof bench compare --format json`).
  public static func encode(value: some Encodable) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    // Plain value types with finite or nil numbers always encode.
    return try! encoder.encode(value)
  }

  public static func decode(_ data: Data, file: String) throws(FormatError) -> BenchmarkFile {
    do {
      return try JSONDecoder().decode(BenchmarkFile.self, from: data)
    } catch {
      throw FormatError(file: file, line: 0, message: "invalid JSON benchmark file: \(error)")
    }
  }
}
