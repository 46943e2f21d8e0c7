import AgentStream
import TargetLaunch

/// One agent stream decoded into a sink, the one decode loop for the program prof
/// runs and every followed child: it notes the stream's start and end on the way.
struct RecordStream {
  private var decoder = AgentStreamDecoder()
  private(set) var start: StreamStart?
  private(set) var endReason: EndReason?
  /// True once the stream was malformed: what follows the fault is not read.
  private(set) var failed = false
  /// PROF_UNWIND_CHECK's last counts: (stacks compared, stacks that differed).
  private var unwindCheck: (compared: UInt64, mismatched: UInt64)?
  private var unwindCheckFrames: (fromFramePointers: UInt64, all: UInt64)?
  /// Prefixes messages ("child 123: "), empty for the program itself.
  private let source: String

  init(source: String = "") { self.source = source }

  /// Decodes `bytes` into `sink`, calling `flushed` at the end of each of the
  /// agent's flushes until the stream ends. A malformed stream keeps the records
  /// before the fault, says so once (a stream unreadable from its header, as an
  /// agent of another version, says only why), and stops decoding. `observe` sees
  /// each record before the sink does.
  mutating func feed<Sink: RecordSink>(_ bytes: [UInt8], into sink: inout Sink, observe: (AgentRecord) -> Void = { _ in },
                                       flushed: (Sink, StreamStart?) -> Void = { _, _ in }) {
    guard !failed else { return }
    decoder.append(bytes)
    do {
      while let record = try decoder.next() {
        switch record {
        case .start(let start): if self.start == nil { self.start = start }
        case .end(let reason): endReason = reason
        case .notice(.unwinderUnavailable):
          warn(source + "libunwind.so.8 could not be loaded in the program, so nothing was recorded: install libunwind (Debian: libunwind8) or use --unwind fp")
        case .notice(.unwindCheck(let compared, let mismatched)): unwindCheck = (compared, mismatched)
        case .notice(.unwindCheckFrames(let fromFramePointers, let all)): unwindCheckFrames = (fromFramePointers, all)
        default: break
        }
        observe(record)
        sink.consume(record)
        if record.endsFlush && endReason == nil { flushed(sink, start) }
      }
    } catch {
      warn(source + (start == nil ? "\(error)" : "\(error); keeping the records read before it"))
      failed = true
    }
  }

  /// Says what the stream held that this prof does not read (a newer agent's
  /// records), once, at its end.
  func finish() {
    if let skipped = decoder.skippedSummary { warn(source + skipped) }
    if let check = unwindCheck {
      let frames = unwindCheckFrames.map { "; \($0.fromFramePointers) of their \($0.all) frames from frame pointers" } ?? ""
      warn(source + "unwind check: \(check.mismatched) of \(check.compared) hybrid stacks differed from libunwind's\(frames)")
    }
  }
}
