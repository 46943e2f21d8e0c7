import Foundation
import XCTest

@testable import Pprof

/// A seconds-long, deterministic cousin of scripts/fuzz-pprof: mutated copies of the
/// corpus must decode or throw a ProfileFormatError, never crash or hang.
final class ReaderFuzzSmokeTests: XCTestCase {
  private static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures/fuzz/pprof")

  func testMutatedCorpusNeverCrashes() throws {
    let files = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
    let seeds = try files.map { [UInt8](try Data(contentsOf: $0)) }
      + [ProfileEncoder.encode(ProfileCodingTests.sampleProfile()), ProfileCodingTests.sampleProfile().gzipped()]
    XCTAssertGreaterThanOrEqual(seeds.count, 5)
    var random = SplitMix64(seed: 6)
    var decoded = 0, rejected = 0
    for round in 0..<20000 {
      var bytes = seeds[round % seeds.count]
      // Raw protobuf mutations reach the decoder; gzip ones mostly test zlib's checks.
      if Gzip.isCompressed(bytes) && round % 2 == 0 { bytes = try Gzip.decompress(bytes) }
      mutate(&bytes, &random)
      do {
        _ = try Profile(fileBytes: bytes)
        decoded += 1
      } catch {
        rejected += 1
      }
    }
    XCTAssertGreaterThan(rejected, 5000, "mutations must exercise the error paths")
    XCTAssertGreaterThan(decoded, 10, "and some must still be valid profiles")
  }

  private func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
    guard !bytes.isEmpty else { return }
    for _ in 0...(random.next() % 4) {
      let position = Int(random.next() % UInt64(bytes.count))
      switch random.next() % 4 {
      case 0: bytes[position] ^= UInt8(truncatingIfNeeded: 1 << (random.next() % 8))
      case 1: bytes[position] = UInt8(truncatingIfNeeded: random.next())
      case 2: bytes.removeSubrange(position...)
      default: bytes.insert(contentsOf: [0xff, 0xff, 0xff, 0xff, 0x0f], at: position)  // a huge varint length
      }
      if bytes.isEmpty { return }
    }
  }
}

/// A small, seedable generator so failures reproduce.
struct SplitMix64 {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
