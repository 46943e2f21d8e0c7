import AgentStream
import Foundation
import HeapProfiling
import ProfTestSupport
import Symbolization
import TargetLaunch

@testable import Recording

/// The agent streams recorded by scripts/record-streams under fixtures/streams.
enum StreamFixtures {
  static let directory = ProfHarness.packageRoot.appendingPathComponent("fixtures/streams")

  static func bytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
  }

  /// Every record of a stream, decoded in one piece.
  static func records(_ name: String) throws -> [AgentRecord] {
    var decoder = AgentStreamDecoder()
    decoder.append(try bytes(name))
    var records: [AgentRecord] = []
    while let record = try decoder.next() { records.append(record) }
    return records
  }

  /// A session over `bytes` replayed as a program would send them, no process launched.
  static func session(replaying bytes: [UInt8], chunk: Int = 97, children: String? = nil) -> RecordingSession {
    RecordingSession(program: ReplayedProgram(bytes, chunk: chunk), children: children.map(ChildStreams.init(directory:)),
                     timeLimitNanos: nil)
  }
}

extension StreamFixtures {
  /// fixtures/heap/follow.c's recording replayed, its children followed: the session
  /// (to read the children from) and the program's own collector.
  static func followedHeap() throws -> (session: RecordingSession, parent: HeapCollector) {
    let children = directory.appendingPathComponent("children").path
    let session = session(replaying: try bytes("heap.stream"), children: children)
    var parent = HeapCollector()
    session.record(into: &parent)
    return (session, parent)
  }
}

/// A recorded stream served in chunks of an awkward size (records split across
/// reads, as a pipe splits them), then the program's exit.
final class ReplayedProgram: RecordedProgram {
  private var remaining: ArraySlice<UInt8>
  private let chunk: Int
  private(set) var signals: [Int32] = []
  let pid: pid_t = 4242
  let cpuNanos: UInt64? = nil
  let childrenCPUNanos: UInt64? = nil

  init(_ bytes: [UInt8], chunk: Int) {
    remaining = bytes[...]
    self.chunk = chunk
  }

  func nextEvent(timeoutMilliseconds: Int32) -> TargetProcess.Event {
    guard !remaining.isEmpty else { return .exited(.exited(0)) }
    let next = remaining.prefix(chunk)
    remaining = remaining.dropFirst(chunk)
    return .stream(Array(next))
  }

  func drainStream() -> [UInt8] { [] }
  func missingFinalFlushMessage(lastProgram: String, lost: String) -> String { "" }
  func send(_ signal: Int32) { signals.append(signal) }
  func waitForExit() -> TerminationStatus { .exited(0) }
}

/// Names every address by its file and offset: deterministic, unlike the
/// toolchain's llvm-symbolizer, so that golden outputs do not depend on it.
struct FakeSymbolizer: Symbolizer {
  func symbolize(addresses: [UInt64], inFile path: String) throws -> [[SourceFrame]] {
    let file = URL(fileURLWithPath: path).lastPathComponent
    return addresses.map { address in
      [SourceFrame(symbol: "\(file)+0x\(String(address, radix: 16))", file: file + ".c", line: Int64(address % 97))]
    }
  }
}
