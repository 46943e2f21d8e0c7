import Foundation
import ProfileReports

/// speedscope's file format (https://www.speedscope.app/file-format-schema.json):
/// shared frames, then one "sampled" profile per track, each stack root first
/// with its weight.
public enum Speedscope {
  public struct File: Codable, Equatable {
    public var schema = "https://www.speedscope.app/file-format-schema.json"
    public var shared: Shared
    public var profiles: [SampledProfile]
    public var name: String
    public var exporter = "prof"

    enum CodingKeys: String, CodingKey {
      case schema = "$schema"
      case shared, profiles, name, exporter
    }
  }

  public struct Shared: Codable, Equatable {
    public var frames: [Frame]
  }

  public struct Frame: Codable, Equatable {
    public var name: String
    public var file: String?
  }

  public struct SampledProfile: Codable, Equatable {
    public var type = "sampled"
    public var name: String
    public var unit: String
    public var startValue: Int64 = 0
    public var endValue: Int64
    public var samples: [[Int]]
    public var weights: [Int64]
  }

  /// One speedscope profile per (label, tree); frames are the trees' shared functions.
  public static func file(name: String, unit: String, functions: [CallStacks.FunctionInfo],
                          tracks: [(label: String, tree: CallTree)]) -> File {
    let frames = functions.map { Frame(name: $0.name, file: $0.file.isEmpty ? nil : $0.file) }
    let profiles = tracks.map { track in
      var samples: [[Int]] = []
      var weights: [Int64] = []
      track.tree.walk { path, node in
        guard node.selfValue != 0 else { return }
        samples.append(path.map { Int(track.tree.nodes[$0].function) })
        weights.append(node.selfValue)
      }
      return SampledProfile(name: track.label, unit: speedscopeUnit(unit), endValue: track.tree.root.total,
                            samples: samples, weights: weights)
    }
    return File(shared: Shared(frames: frames), profiles: profiles, name: name)
  }

  public static func json(_ file: File) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(file)
  }

  /// speedscope knows nanoseconds, bytes and the like; anything else is "none".
  private static func speedscopeUnit(_ unit: String) -> String {
    switch unit {
    case "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes": unit
    default: "none"
    }
  }
}
