extension Profile {
  /// The rules `go tool pprof` enforces when it reads a file (pprof's CheckValid).
  public func validate() throws(ProfileFormatError) {
    if !samples.isEmpty && sampleTypes.isEmpty { throw .invalid("samples present but no sample types") }
    let mappingIDs = try uniqueIDs(mappings.map(\.id), kind: "mapping")
    let functionIDs = try uniqueIDs(functions.map(\.id), kind: "function")
    let locationIDs = try uniqueIDs(locations.map(\.id), kind: "location")
    for location in locations {
      if location.mappingID != 0 && !mappingIDs.contains(location.mappingID) {
        throw .invalid("location \(location.id) refers to missing mapping \(location.mappingID)")
      }
      for line in location.lines where !functionIDs.contains(line.functionID) {
        throw .invalid("location \(location.id) refers to missing function \(line.functionID)")
      }
    }
    for (index, sample) in samples.enumerated() {
      if sample.values.count != sampleTypes.count {
        throw .invalid("sample \(index) has \(sample.values.count) values vs. \(sampleTypes.count) types")
      }
      for id in sample.locationIDs where !locationIDs.contains(id) {
        throw .invalid("sample \(index) refers to missing location \(id)")
      }
    }
  }

  private func uniqueIDs(_ ids: [UInt64], kind: String) throws(ProfileFormatError) -> Set<UInt64> {
    var seen = Set<UInt64>(minimumCapacity: ids.count)
    for id in ids {
      if id == 0 { throw .invalid("\(kind) with reserved id 0") }
      if !seen.insert(id).inserted { throw .invalid("duplicate \(kind) id \(id)") }
    }
    return seen
  }
}
