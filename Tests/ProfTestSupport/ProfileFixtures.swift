import Pprof

/// Small profiles built in code, with stacks written root first for readability.
public enum ProfileFixtures {
  /// A CPU-shaped profile (samples/count, cpu/nanoseconds) where each stack is
  /// given root first as function names and the value is in periods of 10ms.
  public static func cpu(_ stacks: [(frames: [String], periods: Int64)], thread: (Int) -> String? = { _ in nil }) -> Profile {
    var profile = Profile()
    profile.sampleTypes = [ValueType(type: "samples", unit: "count"), ValueType(type: "cpu", unit: "nanoseconds")]
    profile.periodType = ValueType(type: "cpu", unit: "nanoseconds")
    profile.period = 10_000_000
    var functionIDs: [String: UInt64] = [:]
    for (number, stack) in stacks.enumerated() {
      let ids = stack.frames.reversed().map { name in
        if let id = functionIDs[name] { return id }
        let id = UInt64(functionIDs.count + 1)
        functionIDs[name] = id
        var function = Function(id: id)
        function.name = name
        function.filename = "/src/\(name).swift"
        profile.functions.append(function)
        var location = Location(id: id)
        location.lines = [Line(functionID: id, line: 10)]
        profile.locations.append(location)
        return id
      }
      let labels = thread(number).map { [Label(key: "thread_comm", value: .string($0))] } ?? []
      profile.samples.append(Sample(locationIDs: ids, values: [stack.periods, stack.periods * 10_000_000], labels: labels))
    }
    return profile
  }
}
