import Foundation

extension Profile {
  /// One frame of a sample as text reports print it: the location's address, the
  /// function's name (the address when there is none) and "file:line".
  public struct PrintedFrame: Sendable, Equatable {
    public var address: UInt64
    public var function: String
    public var place: String
  }

  /// A profile's samples' frames, leaf first, with inlined functions as frames of their own.
  public struct FramePrinter {
    private let functions: [UInt64: Function]
    private let locations: [UInt64: Location]

    public init(_ profile: Profile) {
      functions = Dictionary(profile.functions.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
      locations = Dictionary(profile.locations.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func frames(of locationIDs: [UInt64]) -> [PrintedFrame] {
      locationIDs.flatMap { id -> [PrintedFrame] in
        guard let location = locations[id] else { return [] }
        if location.lines.isEmpty { return [PrintedFrame(address: location.address, function: String(format: "0x%llx", location.address), place: "?:0")] }
        return location.lines.map { line in
          let function = functions[line.functionID]
          let file = function.map { $0.filename.isEmpty ? "?" : $0.filename } ?? "?"
          return PrintedFrame(address: location.address, function: function?.name ?? "?", place: "\(file):\(line.line)")
        }
      }
    }
  }
}
