import Pprof

/// Which of a profile's sample values a report shows, chosen as pprof's
/// -sample_index does: by type name or position, else the profile's
/// default_sample_type, else the last type (inuse_space for Go heap profiles).
public enum SampleTypeChoice {
  public static func index(in profile: Profile, named name: String?) throws(ReportError) -> Int {
    let types = profile.sampleTypes
    guard !types.isEmpty else { throw .noSampleTypes }
    guard let name else {
      return types.lastIndex { $0.type == profile.defaultSampleType } ?? types.count - 1
    }
    if let index = types.firstIndex(where: { $0.type == name }) { return index }
    if let index = Int(name), types.indices.contains(index) { return index }
    throw .unknownSampleType(name, available: types.map(\.type))
  }
}

/// Why a report cannot be made from a valid profile and the options given.
public enum ReportError: Error, Equatable, CustomStringConvertible {
  case noSampleTypes
  case unknownSampleType(String, available: [String])
  case invalidRegex(String, reason: String)
  case noMatch(String)

  public var description: String {
    switch self {
    case .noSampleTypes: "the profile has no sample types"
    case .unknownSampleType(let name, let available):
      "no sample type \"\(name)\" (the profile has: \(available.joined(separator: ", ")))"
    case .invalidRegex(let pattern, let reason): "invalid regular expression \"\(pattern)\": \(reason)"
    case .noMatch(let pattern): "no function matches \"\(pattern)\""
    }
  }
}
