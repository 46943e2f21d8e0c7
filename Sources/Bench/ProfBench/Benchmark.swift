import Foundation
import Synchronization

/// A named benchmark. Creating one registers it to be run by
/// `BenchmarkMain.run()`:
///
///     Benchmark("Decode/size=1k") { b in
///       for _ in 0..<b.n { blackHole(decode(input)) }
///     }
///
/// Slashes name sub-benchmarks, as in Go (`Decode/size=1k`). The body must do
/// the measured work `b.n` times; the harness chooses `n`.
public struct Benchmark: Sendable {
  public let name: String

  /// Registers `body` under `name`. Spaces in the name become underscores
  /// and a repeated name gets a `#01`, `#02` suffix, as Go does.
  @discardableResult
  public init(_ name: String, _ body: @escaping (Bencher) throws -> Void) {
    self.name = BenchmarkRegistry.shared.add(name: name, body: body)
  }
}

struct RegisteredBenchmark {
  var name: String
  var body: (Bencher) throws -> Void
}

/// All benchmarks created in this process, in creation order.
final class BenchmarkRegistry: @unchecked Sendable {
  static let shared = BenchmarkRegistry()

  private let lock = NSLock()
  // Guarded by `lock`.
  private var benchmarks: [RegisteredBenchmark] = []

  func add(name: String, body: @escaping (Bencher) throws -> Void) -> String {
    lock.withLock {
      let unique = uniqueName(for: name.replacingOccurrences(of: " ", with: "_"))
      benchmarks.append(RegisteredBenchmark(name: unique, body: body))
      return unique
    }
  }

  var all: [RegisteredBenchmark] { lock.withLock { benchmarks } }

  private func uniqueName(for name: String) -> String {
    let taken = Set(benchmarks.map(\.name))
    guard taken.contains(name) else { return name }
    var suffix = 1
    while taken.contains(name + String(format: "#%02d", suffix)) { suffix += 1 }
    return name + String(format: "#%02d", suffix)
  }
}

/// Keeps `value` alive and opaque to the optimizer, so that computing it
/// cannot be deleted as dead code. Does not allocate.
@inline(never)
public func blackHole<T>(_ value: T) {
  // An empty body is not enough: the optimizer sees the call has no effects
  // and deletes it (and the loop around it). Publishing the address to a
  // global is an effect it must keep. Not @inlinable: a specialized copy
  // would let escape analysis put objects passed here on the stack.
  withUnsafePointer(to: value) { blackHoleSink.store(UInt(bitPattern: $0), ordering: .relaxed) }
}

/// Atomic so that bodies calling blackHole from several threads do not race.
private let blackHoleSink = Atomic<UInt>(0)
