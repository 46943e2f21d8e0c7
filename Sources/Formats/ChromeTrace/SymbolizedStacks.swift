import AgentStream
import Symbolization

/// A function on a timeline, with the source line where it was first seen.
public struct TraceFrame: Equatable, Sendable {
  public var name: String
  public var location: String  // "file:line", or "" when unknown

  public init(name: String, location: String = "") {
    self.name = name
    self.location = location
  }
}

/// Raw stacks turned into function frames, root first, with inlined calls expanded.
/// The same `StackSymbolizer` names the frames of pprof output, so a trace and a
/// profile of one run name every frame alike.
public enum SymbolizedStacks {
  public static func resolve(_ stacks: [[UInt64]], modules: [LoadedModule], symbolizer: Symbolizer?)
    -> (frames: [[TraceFrame]], warnings: [String])
  {
    var symbolizing = StackSymbolizer(modules: modules, hiddenModule: StackSymbolizer.isAgent)
    let stackLocations = stacks.map { symbolizing.add($0) }
    let (locations, warnings) = symbolizing.resolve(symbolizer: symbolizer)
    let frames = stackLocations.map { indices in
      indices.reversed().flatMap { index -> [TraceFrame] in
        let location = locations[index]
        guard !location.frames.isEmpty else { return [TraceFrame(name: "0x" + String(location.address, radix: 16))] }
        return location.frames.reversed().map { frame in
          TraceFrame(name: frame.name, location: frame.file.isEmpty ? "" : "\(frame.file):\(frame.line)")
        }
      }
    }
    return (frames, warnings)
  }
}
