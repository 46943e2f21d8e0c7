import Glibc

/// The memory a decoded profile may take, by a conservative estimate of each
/// element (Swift's headers and allocator rounding included), so that a small file
/// that would expand to gigabytes is one clear error rather than an abort.
struct MemoryBudget {
  private var remaining: Int
  private let bytes: Int

  init(bytes: Int) {
    self.bytes = bytes
    remaining = bytes
  }

  mutating func charge(_ cost: Int) throws(ProfileFormatError) {
    remaining -= cost
    if remaining < 0 { throw .tooLarge("holding it would take more than \(bytes >> 20) MiB, prof's limit for one profile") }
  }

  static func string(_ string: String) -> Int { 16 + (string.utf8.count > 15 ? 32 + string.utf8.count : 0) }
  static func sample(_ key: SampleAggregator.Key) -> Int {
    120 + 8 * (key.locationIDs.count + key.valueCount) + 12 * key.labelWords.count
  }
  static func location(_ location: Location) -> Int { 96 + 32 * location.lines.count }
  static let mapping = 160
  static let function = 112
}

/// The process's address-space limit (RLIMIT_AS, set by `ulimit -v`), nil when unlimited
/// (RLIM_INFINITY, all ones).
enum AddressSpace {
  static var limit: Int? {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
    return Int(clamping: limit.rlim_cur)
  }
}
