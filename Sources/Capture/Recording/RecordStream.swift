import AgentStream
import TargetLaunch

/// One agent stream decoded into a sink, the one decode loop for the program prof
/// runs and every followed child: it notes the stream's start and end on the way.
struct RecordStream {
  private var decoder = AgentStreamDecoder()
  private(set) var start: StreamStart?
  private(set) var endReason: EndReason?

  /// Decodes `bytes` into `sink`, calling `flushed` at the end of each of the
  /// agent's flushes until the stream ends. A malformed stream keeps the records
  /// before the fault, says so once, and stops decoding.
  /// `source` prefixes the message ("child 123: "), empty for the program itself.
  mutating func feed<Sink: RecordSink>(_ bytes: [UInt8], into sink: inout Sink, source: String = "",
                                       flushed: (Sink, StreamStart?) -> Void = { _, _ in }) {
    guard !failed else { return }
    decoder.append(bytes)
    do {
      while let record = try decoder.next() {
        switch record {
        case .start(let start): if self.start == nil { self.start = start }
        case .end(let reason): endReason = reason
        default: break
        }
        sink.consume(record)
        if record.endsFlush && endReason == nil { flushed(sink, start) }
      }
    } catch {
      warn("\(source)\(error); keeping the records read before it")
      failed = true
    }
  }

  /// True once the stream was malformed: what follows the fault is not read.
  private(set) var failed = false
}
