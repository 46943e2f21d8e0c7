import Glibc

/// Samples with the same stack and labels, summed while a file is decoded, so that
/// a reader's memory grows with the distinct stacks, not with the samples: ten
/// million samples of a few hundred stacks are a few hundred rows. Keys are the
/// file's own numbers (location ids, label string indices), so labels are interned
/// for free and nothing is allocated for a sample whose stack was seen before.
struct SampleAggregator {
  /// Keys back to back; entry i's key is keys[keyStart[i]..<keyStart[i + 1]].
  private var keys: [UInt64] = []
  private var keyStart: [Int] = [0]
  /// Entry i's summed values are values[valueStart[i]..<valueStart[i + 1]].
  private var values: [Int64] = []
  private var valueStart: [Int] = [0]
  private var hashes: [Int] = []
  /// Open addressing: entry index, or -1 for an empty slot. Never more than half full.
  private var slots = [Int32](repeating: -1, count: 1 << 10)

  var entryCount: Int { hashes.count }

  /// The key of one sample: its location ids, its value count (so that malformed samples
  /// stay apart and fail validation), and its labels as (key, str, num, num_unit) numbers.
  struct Key {
    var locationIDs: [UInt64] = []
    var valueCount = 0
    var labelWords: [UInt64] = []

    mutating func reset() {
      locationIDs.removeAll(keepingCapacity: true)
      valueCount = 0
      labelWords.removeAll(keepingCapacity: true)
    }

    /// Location count, location ids, value count, label words.
    func write(into words: inout [UInt64]) {
      words.append(UInt64(locationIDs.count))
      words += locationIDs
      words.append(UInt64(valueCount))
      words += labelWords
    }
  }

  /// Adds one sample; returns whether its key is new (the caller charges its memory).
  mutating func add(_ key: Key, values sampleValues: [Int64], scratch: inout [UInt64]) -> Bool {
    scratch.removeAll(keepingCapacity: true)
    key.write(into: &scratch)
    let hash = scratch.withUnsafeBytes { bytes in
      var hasher = Hasher()
      hasher.combine(bytes: bytes)
      return hasher.finalize()
    }
    let mask = slots.count - 1
    var slot = hash & mask
    while slots[slot] >= 0 {
      let entry = Int(slots[slot])
      if hashes[entry] == hash && equalKeys(entry, scratch) {
        let start = valueStart[entry]
        for (offset, value) in sampleValues.enumerated() { values[start + offset].addSaturating(value) }
        return false
      }
      slot = (slot + 1) & mask
    }
    slots[slot] = Int32(entryCount)
    hashes.append(hash)
    keys += scratch
    keyStart.append(keys.count)
    values += sampleValues
    valueStart.append(values.count)
    if entryCount * 2 > slots.count { grow() }
    return true
  }

  private func equalKeys(_ entry: Int, _ key: [UInt64]) -> Bool {
    let start = keyStart[entry], count = keyStart[entry + 1] - start
    guard count == key.count else { return false }
    return keys.withUnsafeBufferPointer { keys in
      key.withUnsafeBufferPointer { key in memcmp(keys.baseAddress! + start, key.baseAddress!, count * 8) == 0 }
    }
  }

  private mutating func grow() {
    slots = [Int32](repeating: -1, count: slots.count * 2)
    let mask = slots.count - 1
    for (entry, hash) in hashes.enumerated() {
      var slot = hash & mask
      while slots[slot] >= 0 { slot = (slot + 1) & mask }
      slots[slot] = Int32(entry)
    }
  }

  /// Each distinct sample once, in order of first appearance, with labels resolved by `labels`.
  func samples(labels: (_ words: ArraySlice<UInt64>) throws(ProfileFormatError) -> [Label]) throws(ProfileFormatError) -> [Sample] {
    var samples: [Sample] = []
    samples.reserveCapacity(entryCount)
    for entry in 0..<entryCount {
      let key = keys[keyStart[entry]..<keyStart[entry + 1]]
      let locationCount = Int(key[key.startIndex])
      let locationEnd = key.startIndex + 1 + locationCount
      samples.append(Sample(locationIDs: Array(key[(key.startIndex + 1)..<locationEnd]),
                            values: Array(values[valueStart[entry]..<valueStart[entry + 1]]),
                            labels: try labels(key[(locationEnd + 1)...])))
    }
    return samples
  }
}
