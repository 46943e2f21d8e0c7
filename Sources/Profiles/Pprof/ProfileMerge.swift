extension Profile {
  /// One profile holding every sample of `parts`, each given its part's `labels`
  /// (e.g. the pid of the process it came from). Mappings, locations and functions
  /// are renumbered; identical ones, as a forked child shares with its parent, are
  /// kept once. The parts must have the same sample types; the period and default
  /// sample type are the first part's, the time span covers them all.
  public static func merged(_ parts: [(profile: Profile, labels: [Label])]) throws(ProfileFormatError) -> Profile {
    var merged = Profile()
    guard let first = parts.first?.profile else { return merged }
    merged.sampleTypes = first.sampleTypes
    merged.periodType = first.periodType
    merged.period = first.period
    merged.defaultSampleType = first.defaultSampleType
    merged.dropFrames = first.dropFrames
    merged.keepFrames = first.keepFrames
    var tables = MergedTables()
    for (profile, labels) in parts {
      guard profile.sampleTypes == first.sampleTypes else {
        throw .invalid("cannot merge samples of \(typeNames(profile)) with samples of \(typeNames(first))")
      }
      try profile.validate()
      merged.samples += tables.samples(of: profile, labels: labels)
    }
    merged.mappings = tables.mappings.elements
    merged.locations = tables.locations.elements
    merged.functions = tables.functions.elements
    var seen = Set<String>()
    merged.comments = parts.flatMap(\.profile.comments).filter { seen.insert($0).inserted }
    merged.span(parts.map(\.profile))
    return merged
  }

  private static func typeNames(_ profile: Profile) -> String {
    profile.sampleTypes.map { "\($0.type)/\($0.unit)" }.joined(separator: ", ")
  }

  /// From the earliest start to the latest end of the parts that know when they started.
  private mutating func span(_ parts: [Profile]) {
    let timed = parts.filter { $0.timeNanos > 0 }
    guard let start = timed.map(\.timeNanos).min(), let end = timed.map({ $0.timeNanos.addingSaturating($0.durationNanos) }).max() else {
      durationNanos = parts.map(\.durationNanos).max() ?? 0
      return
    }
    timeNanos = start
    durationNanos = end.subtractingSaturating(start)
  }
}

/// The merged profile's mappings, locations and functions, each kept once.
private struct MergedTables {
  var mappings = Interned<Mapping>()
  var locations = Interned<Location>()
  var functions = Interned<Function>()

  /// `profile`'s samples with `labels` added, their ids renumbered into these tables.
  mutating func samples(of profile: Profile, labels: [Label]) -> [Sample] {
    var mappingIDs: [UInt64: UInt64] = [:]
    for mapping in profile.mappings { mappingIDs[mapping.id] = mappings.id(for: mapping) }
    var functionIDs: [UInt64: UInt64] = [:]
    for function in profile.functions { functionIDs[function.id] = functions.id(for: function) }
    var locationIDs: [UInt64: UInt64] = [:]
    for var location in profile.locations {
      let id = location.id
      location.mappingID = mappingIDs[location.mappingID] ?? 0  // 0: no mapping, as before
      for index in location.lines.indices {
        location.lines[index].functionID = functionIDs[location.lines[index].functionID] ?? 0
      }
      locationIDs[id] = locations.id(for: location)
    }
    return profile.samples.map { sample in
      Sample(locationIDs: sample.locationIDs.map { locationIDs[$0] ?? 0 }, values: sample.values,
             labels: sample.labels + labels)
    }
  }
}

/// Elements numbered 1...n in order of first use; elements equal but for their id share one.
private struct Interned<Element: Identified> {
  private(set) var elements: [Element] = []
  private var ids: [Element: UInt64] = [:]

  mutating func id(for element: Element) -> UInt64 {
    var key = element
    key.id = 0
    if let id = ids[key] { return id }
    let id = UInt64(elements.count + 1)
    ids[key] = id
    key.id = id
    elements.append(key)
    return id
  }
}

private protocol Identified: Hashable {
  var id: UInt64 { get set }
}

extension Mapping: Identified {}
extension Location: Identified {}
extension Function: Identified {}
