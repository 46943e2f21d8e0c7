extension Profile {
  /// The rules `go tool pprof` enforces when it reads a file (pprof's CheckValid).
  public func validate() throws(ProfileFormatError) {
    if !samples.isEmpty && sampleTypes.isEmpty { throw .invalid("samples present but no sample types") }
    let mappingIDs = try uniqueIDs(mappings.map(\.id), kind: "mapping")
    let functionIDs = try uniqueIDs(functions.map(\.id), kind: "function")
    let locationIDs = try uniqueIDs(locations.map(\.id), kind: "location")
    for location in locations {
      if location.mappingID != 0 && mappingIDs[location.mappingID] == nil {
        throw .invalid("location \(location.id) refers to missing mapping \(location.mappingID)")
      }
      for line in location.lines where functionIDs[line.functionID] == nil {
        throw .invalid("location \(location.id) refers to missing function \(line.functionID)")
      }
    }
    for (index, sample) in samples.enumerated() {
      if sample.values.count != sampleTypes.count {
        throw .invalid("sample \(index) has \(sample.values.count) values vs. \(sampleTypes.count) types")
      }
      for id in sample.locationIDs where locationIDs[id] == nil {
        throw .invalid("sample \(index) refers to missing location \(id)")
      }
    }
  }

  private func uniqueIDs(_ ids: [UInt64], kind: String) throws(ProfileFormatError) -> IDIndex {
    if ids.contains(0) { throw .invalid("\(kind) with reserved id 0") }
    let index = IDIndex(ids)
    if let duplicate = index.duplicate { throw .invalid("duplicate \(kind) id \(duplicate)") }
    return index
  }
}
