#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Marks a program's own work on `prof trace` timelines: spans, instants,
/// counters and flows that connect work handed from one thread to another.
///
///     ProfTrace.span("handle request") { try handle(request) }
///     try await ProfTrace.span("fetch user") { try await db.user(id) }
///     let handoff = ProfTrace.flowStart("enqueue")   // on the producer
///     ProfTrace.flowEnd(handoff)                      // on the consumer
///
/// Outside `prof trace` every call costs one load and one predictable branch
/// (see scripts/bench-trace-spans); under it, events go through the agent's
/// lock-free buffers into the trace, on a spans track beside each thread.
public enum ProfTrace {
  /// The agent's entry point, found once: present only under `prof trace`.
  @usableFromInline static let sink: Sink? = Sink.resolve()

  /// Whether events are being recorded.
  @inlinable public static var isEnabled: Bool { sink != nil }

  /// Runs `body` inside a span named `name` on this thread's spans track.
  @inlinable
  public static func span<Result>(_ name: String, _ body: () throws -> Result) rethrows -> Result {
    guard let sink else { return try body() }
    sink.emit(.begin, name)
    defer { sink.emit(.end, name) }
    return try body()
  }

  /// Runs async `body` inside a span. The task may resume on other threads, so
  /// the span is an async slice of the process, keyed by its own id.
  @inlinable
  public static func span<Result>(
    _ name: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> Result
  ) async rethrows -> Result {
    guard let sink else { return try await body() }
    let id = Sink.nextID()
    sink.emit(.begin, name, id: id)
    defer { sink.emit(.end, name, id: id) }
    return try await body()
  }

  /// Opens a span on this thread; `end()` on the same thread closes it.
  @inlinable public static func begin(_ name: String) { sink?.emit(.begin, name) }

  /// Closes the innermost span this thread opened with `begin(_:)`.
  @inlinable public static func end() { sink?.emit(.end, "") }

  /// A point in time on this thread's spans track.
  @inlinable public static func instant(_ name: String) { sink?.emit(.instant, name) }

  /// Sets the process-wide counter `name` (shown as a graph) to `value`.
  @inlinable public static func counter(_ name: String, value: Int64) { sink?.emit(.counter, name, value: value) }

  /// Starts an arrow from the enclosing span; `flowEnd` on any thread ends it there.
  @inlinable public static func flowStart(_ name: String) -> Flow {
    guard let sink else { return Flow(id: 0, name: name) }
    let flow = Flow(id: Sink.nextID(), name: name)
    sink.emit(.flowStart, name, id: flow.id)
    return flow
  }

  @inlinable public static func flowEnd(_ flow: Flow) {
    guard let sink, flow.id != 0 else { return }
    sink.emit(.flowEnd, flow.name, id: flow.id)
  }

  /// Work handed from one thread to another, drawn as an arrow between spans.
  public struct Flow: Sendable {
    public let id: UInt64
    public let name: String

    @usableFromInline init(id: UInt64, name: String) {
      self.id = id
      self.name = name
    }
  }
}

/// The agent's `prof_trace_emit`, looked up in the process with dlsym.
@usableFromInline
struct Sink: Sendable {
  // Values of prof_trace_kind in prof_stream.h.
  @usableFromInline enum Kind: UInt32 {
    case begin = 1, end, instant, counter, flowStart, flowEnd
  }

  typealias Emit = @convention(c) (UInt32, UnsafePointer<CChar>?, Int, Int64, UInt64) -> Void
  typealias IsActive = @convention(c) () -> Bool

  private let function: Emit
  private static let ids = Atomic<UInt64>(0)

  static func resolve() -> Sink? {
    guard let process = dlopen(nil, RTLD_NOW),
          let isActive = dlsym(process, "prof_trace_is_active"),
          unsafeBitCast(isActive, to: IsActive.self)(),
          let emit = dlsym(process, "prof_trace_emit") else { return nil }
    return Sink(function: unsafeBitCast(emit, to: Emit.self))
  }

  @usableFromInline static func nextID() -> UInt64 {
    ids.add(1, ordering: .relaxed).newValue
  }

  @usableFromInline func emit(_ kind: Kind, _ name: String, value: Int64 = 0, id: UInt64 = 0) {
    var name = name
    name.withUTF8 { bytes in
      bytes.withMemoryRebound(to: CChar.self) { function(kind.rawValue, $0.baseAddress, $0.count, value, id) }
    }
  }
}
