import BenchFormat
import CAllocCounter

/// Runs registered benchmarks and turns each sample into a result.
struct Runner {
  var benchTime: BenchTime
  /// The `-<procs>` suffix Go appends (GOMAXPROCS; here the online CPUs).
  var procs: Int

  func sample(_ benchmark: RegisteredBenchmark) throws -> BenchmarkResult {
    let round = try measure(benchTime: benchTime) { n in try runN(benchmark.body, n: n) }
    return round.result(name: "\(benchmark.name)-\(procs)")
  }

  func runN(_ body: (Bencher) throws -> Void, n: Int) throws -> Round {
    let bencher = Bencher(n: n)
    try bencher.run(body)
    return Round(
      n: n,
      nanoseconds: bencher.elapsedNanoseconds,
      allocations: prof_alloc_counter_allocations(),
      allocatedBytes: prof_alloc_counter_bytes(),
      bytesPerOperation: bencher.bytesPerOperation,
      extraMetrics: bencher.extraMetrics)
  }
}
