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
  /// `asyncChains[index]`: stacks[index]'s awaiting callers, as in pprof output.
  public static func resolve(_ stacks: [[UInt64]], asyncChains: [[AsyncChain]] = [], modules: [LoadedModule],
                             symbolizer: Symbolizer?) -> (frames: [[TraceFrame]], warnings: [String])
  {
    var symbolizing = StackSymbolizer(modules: modules, hiddenModule: StackSymbolizer.isAgent)
    let added = stacks.enumerated().map { index, stack in
      symbolizing.add(stack, asyncChains: asyncChains.indices.contains(index) ? asyncChains[index] : [])
    }
    let (locations, warnings) = symbolizing.resolve(symbolizer: symbolizer)
    var kinds: [String: AsyncStacks.SymbolKind] = [:]
    let stackLocations = added.map { indices, pending in
      pending.map { AsyncStacks.withCallers(indices, $0, locations: locations, kinds: &kinds) } ?? indices
    }
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
