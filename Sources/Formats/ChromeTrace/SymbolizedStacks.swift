import AgentStream
import Pprof
import ProfileBuilder
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
/// Symbolization goes through the same builder as pprof output, so a trace and a
/// profile of one run name every frame alike.
public enum SymbolizedStacks {
  /// `asyncChains[index]`: stacks[index]'s awaiting callers, as in pprof output.
  public static func resolve(_ stacks: [[UInt64]], asyncChains: [[AsyncChain]] = [], modules: [LoadedModule],
                             symbolizer: Symbolizer?) -> (frames: [[TraceFrame]], warnings: [String])
  {
    var builder = StackProfileBuilder(modules: modules, hiddenModule: StackProfileBuilder.isAgent)
    for (index, stack) in stacks.enumerated() {
      builder.add(stack: stack, values: [1], labels: [],
                  asyncChains: asyncChains.indices.contains(index) ? asyncChains[index] : [])
    }
    var profile = Profile()
    profile.sampleTypes = [ValueType(type: "samples", unit: "count")]
    let warnings = builder.build(into: &profile, symbolizer: symbolizer)
    let locations = Dictionary(uniqueKeysWithValues: profile.locations.map { ($0.id, $0) })
    let functions = Dictionary(uniqueKeysWithValues: profile.functions.map { ($0.id, $0) })
    let frames = profile.samples.map { sample in
      sample.locationIDs.reversed().flatMap { id -> [TraceFrame] in
        let location = locations[id]!
        guard !location.lines.isEmpty else { return [TraceFrame(name: "0x" + String(location.address, radix: 16))] }
        return location.lines.reversed().map { line in
          let function = functions[line.functionID]!
          return TraceFrame(name: function.name, location: function.filename.isEmpty ? "" : "\(function.filename):\(line.line)")
        }
      }
    }
    return (frames, warnings)
  }
}
