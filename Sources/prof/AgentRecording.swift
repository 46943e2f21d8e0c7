import AgentStream
import CPUProfiling
import Foundation
import HeapProfiling
import Symbolization
import TargetLaunch

/// What a profiling mode accumulates from the agent's records.
protocol RecordCollector {
  init()
  mutating func consume(_ record: AgentRecord)
  var start: StreamStart? { get }
  var endReason: EndReason? { get }
}

extension CPUSampleCollector: RecordCollector {}
extension HeapCollector: RecordCollector {}

/// The agent's stream of one run, decoded as it arrives.
struct AgentRecording<Collector: RecordCollector> {
  var collector = Collector()
  var ending = AgentSession.Ending.streamClosed
  var finishedNanos: UInt64 = 0

  /// `progress` sees the collector after every chunk of the stream (the agent
  /// flushes every 50 ms).
  static func collect(from process: TargetProcess, deadlineNanos: UInt64?,
                      progress: (Collector) throws -> Void = { _ in }) throws -> AgentRecording {
    var recording = AgentRecording()
    var decoder = AgentStreamDecoder()
    let deadline = deadlineNanos.map { AgentSession.monotonicNanos() + $0 }
    do {
      recording.ending = try AgentSession.collect(from: process, deadlineNanos: deadline) { bytes in
        decoder.append(bytes)
        while let record = try decoder.next() { recording.collector.consume(record) }
        try progress(recording.collector)
        return recording.collector.endReason != nil
      }
    } catch let failure as AgentStreamDecoder.Failure {
      warn("\(failure); keeping the records read before it")
    }
    if recording.collector.start == nil {
      warn("the agent sent nothing: the program may have exited before its libraries loaded, or dropped LD_PRELOAD")
    }
    recording.finishedNanos = AgentSession.monotonicNanos()
    return recording
  }

  /// A whole stream at once, e.g. the file a followed child process wrote.
  static func decode(_ bytes: [UInt8]) -> (collector: Collector, failure: AgentStreamDecoder.Failure?) {
    var collector = Collector()
    var decoder = AgentStreamDecoder()
    decoder.append(bytes)
    do {
      while let record = try decoder.next() { collector.consume(record) }
    } catch {
      return (collector, error)
    }
    return (collector, nil)
  }
}

func locateSymbolizer() -> Symbolizer? {
  if let symbolizer = LLVMSymbolizer.locate() { return symbolizer }
  warn("llvm-symbolizer not found (it ships with the Swift toolchain): the profile keeps raw addresses")
  return nil
}

func warn(_ message: String) {
  FileHandle.standardError.write(Data(("prof: " + message + "\n").utf8))
}
