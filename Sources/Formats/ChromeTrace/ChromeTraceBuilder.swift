import AgentStream

/// Builds a Chrome trace from recorded timelines, one process each (the program
/// prof launched, then the children it followed). Each thread gets up to three
/// tracks, kept apart so that every track nests properly:
///   - its samples as a flame chart (consecutive stacks diffed: a frame that stays
///     on the stack extends its slice),
///   - its ProfTrace spans, instants and flows and its "waiting for lock" slices
///     ("<thread> spans"): these have exact begin and end times that straddle
///     sampled slices, so sharing a track with them would break nesting (a thread
///     blocked on a lock records no span, so its waits nest with its spans),
///   - in wall-clock mode, its state ("<thread> state"): Running, Off-CPU, or
///     Unsampled where it ran but blocked the sampling signal.
/// Times count from the first process's start: every process reads the same
/// monotonic clock.
public struct ChromeTraceBuilder {
  public enum Mode: Sendable {
    case cpu
    case wall
  }

  public struct Options: Sendable {
    public var mode: Mode
    public var hz: Int
    /// Events past this many bytes of JSON are left out; the trace says so.
    public var maximumBytes: Int?

    public init(mode: Mode, hz: Int, maximumBytes: Int? = nil) {
      self.mode = mode
      self.hz = hz
      self.maximumBytes = maximumBytes
    }
  }

  /// One process on the trace: what its agent recorded, its stacks' frames
  /// (indexed as `timeline.stacks`), and when its recording ended (monotonic).
  public struct Process {
    public var timeline: TimelineCollector
    public var frames: [[TraceFrame]]
    public var name: String
    public var endMonotonicNanos: UInt64

    public init(timeline: TimelineCollector, frames: [[TraceFrame]], name: String, endMonotonicNanos: UInt64) {
      self.timeline = timeline
      self.frames = frames
      self.name = name
      self.endMonotonicNanos = endMonotonicNanos
    }
  }

  /// Synthetic tids for the extra tracks (Linux tids stay below 2^22).
  static let spansTrackOffset = 10_000_000
  static let stateTrackOffset = 20_000_000
  static let maximumDepth = 500

  let processes: [Process]
  let options: Options

  public init(processes: [Process], options: Options) {
    self.processes = processes
    self.options = options
  }

  /// The JSON and notes for the user (e.g. that --max-size cut the trace).
  public func build() -> (json: [UInt8], notes: [String]) {
    let origin = processes.first?.timeline.start?.monotonicNanos ?? 0
    var metadata: [ChromeEvent] = []
    var tracks: [[ChromeEvent]] = []
    for (rank, process) in processes.enumerated() {
      let process = ProcessTracks(process: process, options: options, origin: origin)
      metadata += process.metadata(rank: rank)
      tracks += process.tracks()
    }
    guard let maximum = options.maximumBytes else { return (write(metadata, tracks, notes: []), []) }
    return fit(metadata, tracks, maximumBytes: maximum)
  }

  /// The whole file, metadata and note included, within `maximumBytes`: events from
  /// the earliest that no longer fits are left out. The first cut is estimated from
  /// the events' sizes; the closing events a cut adds can overshoot it, so the cut
  /// moves earlier until the written file fits. When even the process and thread
  /// names do not fit, they are left out too.
  private func fit(_ metadata: [ChromeEvent], _ tracks: [[ChromeEvent]], maximumBytes: Int) -> (json: [UInt8], notes: [String]) {
    var json = write(metadata, tracks, notes: [])
    guard json.count > maximumBytes else { return (json, []) }
    var notes: [String] = []
    let times = Array(Set(tracks.joined().map { $0.nanos ?? 0 })).sorted()
    for (metadata, names) in [(metadata, ""), ([], " and without thread names")] where json.count > maximumBytes {
      func note(_ cutoff: UInt64) -> String {
        "trace cut at \(ChromeTraceWriter.microseconds(cutoff / 1000)) ms\(names) to stay under --max-size \(maximumBytes) bytes"
      }
      var budget = maximumBytes - write(metadata, [], notes: [note(UInt64.max)]).count
      var previous = UInt64.max
      while var cutoff = Self.cutoff(tracks, maximumBytes: budget) {
        // Events sharing the last cut's time: step to the time before it.
        if cutoff >= previous { cutoff = times.last { $0 < previous } ?? 0 }
        notes = [note(cutoff)]
        json = write(metadata, tracks.map { Self.truncate($0, at: cutoff) }, notes: notes)
        if json.count <= maximumBytes || cutoff == 0 { break }
        budget -= json.count - maximumBytes
        previous = cutoff
      }
    }
    return (json, notes)
  }

  private func write(_ metadata: [ChromeEvent], _ tracks: [[ChromeEvent]], notes: [String]) -> [UInt8] {
    var writer = ChromeTraceWriter()
    for event in metadata { writer.write(event) }
    for track in tracks {
      for event in track.sorted(by: Self.trackOrder) { writer.write(event) }
    }
    var traceMetadata = [("prof-mode", options.mode == .wall ? "wall" : "cpu"), ("prof-hz", String(options.hz))]
    traceMetadata += notes.map { ("prof-note", $0) }
    let unsampled = processes.flatMap { ProcessTracks.unsampledThreads($0) }
    if !unsampled.isEmpty { traceMetadata.append(("prof-unsampled", unsampled.joined(separator: "; "))) }
    return writer.finish(metadata: traceMetadata)
  }

  // Parents before children: earlier first, then longer first.
  private static func trackOrder(_ a: ChromeEvent, _ b: ChromeEvent) -> Bool {
    if a.nanos != b.nanos { return (a.nanos ?? 0) < (b.nanos ?? 0) }
    return (a.durationNanos ?? 0) > (b.durationNanos ?? 0)
  }

  // MARK: --max-size

  /// The earliest time whose events no longer fit, or nil when everything fits.
  static func cutoff(_ tracks: [[ChromeEvent]], maximumBytes: Int) -> UInt64? {
    let events = tracks.joined().sorted { ($0.nanos ?? 0) < ($1.nanos ?? 0) }
    var total = 0
    for event in events {
      var writer = ChromeTraceWriter()
      writer.write(event)
      total += writer.bytes.count
      if total > maximumBytes { return event.nanos ?? 0 }
    }
    return nil
  }

  /// Drops what starts at or after `cutoff`, shortens slices that run past it and
  /// closes spans still open, so the cut trace stays properly nested.
  static func truncate(_ track: [ChromeEvent], at cutoff: UInt64) -> [ChromeEvent] {
    var kept: [ChromeEvent] = []
    var open: [ChromeEvent] = []
    for var event in track where (event.nanos ?? 0) < cutoff {
      if let duration = event.durationNanos, let start = event.nanos, start + duration > cutoff {
        event.durationNanos = cutoff - start
      }
      if event.phase == .begin { open.append(event) }
      if event.phase == .end, !open.isEmpty { open.removeLast() }
      kept.append(event)
    }
    for begin in open.reversed() {
      kept.append(ChromeEvent(phase: .end, name: begin.name, category: begin.category, pid: begin.pid, tid: begin.tid,
                                nanos: cutoff))
    }
    return kept
  }
}

/// The tracks of one process: its threads' flame charts, spans and states, and its
/// counters, every event carrying the process's pid.
private struct ProcessTracks {
  let process: ChromeTraceBuilder.Process
  let options: ChromeTraceBuilder.Options
  let origin: UInt64
  let pid: Int
  let endNanos: UInt64
  let tids: [UInt32]

  init(process: ChromeTraceBuilder.Process, options: ChromeTraceBuilder.Options, origin: UInt64) {
    self.process = process
    self.options = options
    self.origin = origin
    pid = Int(process.timeline.start?.pid ?? 0)
    endNanos = process.endMonotonicNanos > origin ? process.endMonotonicNanos - origin : 0
    // A thread that blocks the sampling signal has a state track even when the agent
    // never recorded a tick or sample of it: where its CPU time went unsampled.
    tids = Set(process.timeline.ticks.keys).union(process.timeline.events.map(\.tid))
      .union(process.timeline.lockWaits.map(\.tid)).union(process.timeline.blockingThreads.keys).sorted()
  }

  /// Wall mode: every thread's Running, Off-CPU and Unsampled. CPU mode has no ticks
  /// to tell them apart: only a thread that blocks the signal, Unsampled over the run.
  private func hasStateTrack(_ tid: UInt32) -> Bool {
    options.mode == .wall || process.timeline.blockingThreads[tid] != nil
  }

  /// "blocker (pid 12, tid 34) blocks SIGPROF: 0.60 s of CPU time unsampled", per thread.
  static func unsampledThreads(_ process: ChromeTraceBuilder.Process) -> [String] {
    process.timeline.blockingThreads.values.sorted { $0.tid < $1.tid }.map { thread in
      let pid = process.timeline.start?.pid ?? 0
      let seconds = String(format: "%.2f", Double(thread.cpuNanos) / 1e9)
      return "\(thread.name) (pid \(pid), tid \(thread.tid)) blocks \(thread.signal.name): \(seconds) s of CPU time unsampled"
    }
  }

  private var periodNanos: UInt64 { 1_000_000_000 / UInt64(max(options.hz, 1)) }

  func tracks() -> [[ChromeEvent]] {
    var tracks: [[ChromeEvent]] = []
    for tid in tids {
      tracks.append(sampleTrack(tid))
      tracks.append(spanTrack(tid))
      if hasStateTrack(tid) { tracks.append(stateTrack(tid)) }
    }
    tracks.append(counterTrack())
    return tracks.map { track in
      track.map { event in
        var event = event
        event.pid = pid
        return event
      }
    }
  }

  private func relative(_ monotonic: UInt64) -> UInt64 { monotonic > origin ? monotonic - origin : 0 }

  private func threadName(_ tid: UInt32) -> String { process.timeline.threadNames[tid] ?? "thread \(tid)" }

  // MARK: metadata

  func metadata(rank: Int) -> [ChromeEvent] {
    var events = [ChromeEvent(phase: .metadata, name: "process_name", pid: pid, tid: 0,
                              arguments: [("name", .string(process.name))]),
                  ChromeEvent(phase: .metadata, name: "process_sort_index", pid: pid, tid: 0,
                              arguments: [("sort_index", .integer(Int64(rank)))])]
    for (order, tid) in tids.enumerated() {
      let name = threadName(tid)
      var tracks = [(Int(tid), name), (Int(tid) + ChromeTraceBuilder.spansTrackOffset, name + " spans")]
      if hasStateTrack(tid) { tracks.append((Int(tid) + ChromeTraceBuilder.stateTrackOffset, name + " state")) }
      for (offset, (trackID, trackName)) in tracks.enumerated() {
        events.append(ChromeEvent(phase: .metadata, name: "thread_name", pid: pid, tid: trackID,
                                  arguments: [("name", .string(trackName))]))
        events.append(ChromeEvent(phase: .metadata, name: "thread_sort_index", pid: pid, tid: trackID,
                                  arguments: [("sort_index", .integer(Int64(order * 3 + offset)))]))
      }
    }
    return events
  }

  // MARK: samples as a flame chart

  private func sampleTrack(_ tid: UInt32) -> [ChromeEvent] {
    var events: [ChromeEvent] = []
    var open: [(frame: TraceFrame, start: UInt64)] = []
    func close(downTo depth: Int, at end: UInt64) {
      while open.count > depth {
        let slice = open.removeLast()
        var event = ChromeEvent(phase: .complete, name: slice.frame.name, category: "sample", tid: Int(tid),
                                nanos: slice.start, durationNanos: end - slice.start)
        if !slice.frame.location.isEmpty { event.arguments = [("location", .string(slice.frame.location))] }
        events.append(event)
      }
    }
    var current: [TraceFrame] = []
    var previous: UInt64?
    for tick in (process.timeline.ticks[tid] ?? []).sorted(by: { $0.nanos < $1.nanos }) {
      let now = relative(tick.nanos)
      // CPU mode: a thread that stopped running leaves a gap; end its slices there.
      if options.mode == .cpu, let previous, now - previous > 2 * periodNanos { close(downTo: 0, at: previous + periodNanos) }
      if let stack = tick.stack { current = Array(process.frames[stack].prefix(ChromeTraceBuilder.maximumDepth)) }
      var common = 0
      while common < open.count && common < current.count && open[common].frame.name == current[common].name { common += 1 }
      close(downTo: common, at: now)
      for frame in current[common...] { open.append((frame, now)) }
      previous = now
    }
    if let previous { close(downTo: 0, at: min(previous + periodNanos, max(endNanos, previous))) }
    return events
  }

  // MARK: thread states (wall mode)

  private enum ThreadState: String {
    case running = "Running"
    case offCPU = "Off-CPU"
    /// It ran, but no sample says where: it blocked the sampling signal.
    case unsampled = "Unsampled"
  }

  /// More CPU time than an idle tick allows (the agent's IDLE_SLACK_NS, wall.c, is
  /// 20 µs per tick). A thread that blocks the signal leaves no record of the ticks
  /// at which it ran, so more than that before an idle tick is time it ran unsampled.
  /// (Another thread can show it too, when a queued signal waits for a busy CPU.)
  private static let idleSlackNanos: UInt64 = 50_000

  private func stateSlice(_ tid: UInt32, _ state: ThreadState, from start: UInt64, to end: UInt64, cpu: UInt64) -> ChromeEvent {
    let wall = max(end - start, 1)
    return ChromeEvent(phase: .complete, name: state.rawValue, category: "state",
                       tid: Int(tid) + ChromeTraceBuilder.stateTrackOffset, nanos: start, durationNanos: end - start,
                       arguments: [("cpu %", .number((Double(cpu) * 1000 / Double(wall)).rounded() / 10))])
  }

  private func stateTrack(_ tid: UInt32) -> [ChromeEvent] {
    let blocking = process.timeline.blockingThreads[tid]
    if options.mode != .wall, var unsampled = blocking {
      // CPU mode has no idle ticks to place it by: its CPU time past what its samples
      // stand for went unsampled somewhere in the run.
      unsampled.cpuNanos = unsampled.unsampledNanos(sampledPeriods: UInt64(process.timeline.ticks[tid]?.count ?? 0),
                                                    periodNanos: periodNanos)
      return unsampledEdges(unsampled, ticks: [])
    }
    let ticks = (process.timeline.ticks[tid] ?? []).sorted { $0.nanos < $1.nanos }
    var events: [ChromeEvent] = []
    var run: (state: ThreadState, start: UInt64, end: UInt64, cpu: UInt64)?
    func flush() {
      if let run { events.append(stateSlice(tid, run.state, from: run.start, to: run.end, cpu: run.cpu)) }
    }
    for (before, after) in zip(ticks, ticks.dropFirst()) {
      let start = relative(before.nanos), end = relative(after.nanos)
      let cpu = after.threadCPUNanos >= before.threadCPUNanos ? after.threadCPUNanos - before.threadCPUNanos : 0
      let state: ThreadState
      if blocking != nil && after.stack == nil && cpu > Self.idleSlackNanos {
        state = .unsampled  // it ran, yet the agent's last visit found it idle: its visits while it ran left no sample
      } else {
        state = cpu * 2 < end - start ? .offCPU : .running  // on a CPU for most of the interval, or not
      }
      if let current = run, current.state == state {
        run = (state, current.start, end, current.cpu + cpu)
      } else {
        flush()
        run = (state, start, end, cpu)
      }
    }
    flush()
    if let blocking { events += unsampledEdges(blocking, ticks: ticks) }
    return events
  }

  /// The CPU time a thread that blocks the sampling signal used outside its ticks:
  /// before the first (its CPU clock then) and after the last (the agent's last
  /// report of it, less the clock at that tick), each placed beside its tick as if
  /// it ran without a pause: the least wall time it took. No ticks at all: the whole
  /// recording.
  private func unsampledEdges(_ thread: SignalBlockingThread, ticks: [TimelineCollector.Tick]) -> [ChromeEvent] {
    let processStart = relative(process.timeline.start?.monotonicNanos ?? origin)
    guard let first = ticks.first, let last = ticks.last else {
      return [stateSlice(thread.tid, .unsampled, from: processStart, to: max(endNanos, processStart + 1), cpu: thread.cpuNanos)]
    }
    var events: [ChromeEvent] = []
    let before = first.threadCPUNanos, firstTick = relative(first.nanos)
    if before > Self.idleSlackNanos {
      events.append(stateSlice(thread.tid, .unsampled, from: max(processStart, firstTick - min(before, firstTick)), to: firstTick, cpu: before))
    }
    let after = thread.cpuNanos > last.threadCPUNanos ? thread.cpuNanos - last.threadCPUNanos : 0
    if after > Self.idleSlackNanos {
      let lastTick = relative(last.nanos)
      events.append(stateSlice(thread.tid, .unsampled, from: lastTick, to: lastTick + after, cpu: after))
    }
    return events
  }

  // MARK: user spans, instants, flows

  private func spanTrack(_ tid: UInt32) -> [ChromeEvent] {
    let track = Int(tid) + ChromeTraceBuilder.spansTrackOffset
    var events: [ChromeEvent] = []
    var openNames: [String] = []
    for event in process.timeline.events where event.tid == tid {
      let nanos = relative(event.monotonicNanos)
      switch event.kind {
      case .begin where event.id != 0:
        events.append(ChromeEvent(phase: .asyncBegin, name: event.name, category: "span", tid: track, nanos: nanos, id: event.id))
      case .end where event.id != 0:
        events.append(ChromeEvent(phase: .asyncEnd, name: event.name, category: "span", tid: track, nanos: nanos, id: event.id))
      case .begin:
        openNames.append(event.name)
        events.append(ChromeEvent(phase: .begin, name: event.name, category: "span", tid: track, nanos: nanos))
      case .end:
        guard let name = openNames.popLast() else { continue }  // an end without a begin
        events.append(ChromeEvent(phase: .end, name: name, category: "span", tid: track, nanos: nanos))
      case .instant:
        events.append(ChromeEvent(phase: .instant, name: event.name, category: "mark", tid: track, nanos: nanos))
      case .flowStart:
        events.append(ChromeEvent(phase: .flowStart, name: event.name, category: "flow", tid: track, nanos: nanos, id: event.id))
      case .flowEnd:
        events.append(ChromeEvent(phase: .flowEnd, name: event.name, category: "flow", tid: track, nanos: nanos, id: event.id))
      case .counter:
        continue  // process-wide: see counterTrack
      }
    }
    events += lockWaitSlices(tid)
    let end = max(endNanos, events.map { $0.nanos ?? 0 }.max() ?? 0)
    for name in openNames.reversed() {
      events.append(ChromeEvent(phase: .end, name: name, category: "span", tid: track, nanos: end))
    }
    return events
  }

  /// Each wait with the lock's address and its holder, as a thread blocked on a
  /// lock shows in Perfetto: the holder's name when the trace has it.
  private func lockWaitSlices(_ tid: UInt32) -> [ChromeEvent] {
    process.timeline.lockWaits.filter { $0.tid == tid }.map { wait in
      let start = relative(wait.startNanos)
      var arguments: [(String, ChromeEvent.Argument)] = [("lock", .string("0x" + String(wait.lockAddress, radix: 16)))]
      if wait.holderTID != 0 {
        arguments.append(("holder tid", .integer(Int64(wait.holderTID))))
        arguments.append(("holder", .string(threadName(wait.holderTID))))
      }
      return ChromeEvent(phase: .complete, name: "waiting for lock", category: "lock",
                         tid: Int(tid) + ChromeTraceBuilder.spansTrackOffset, nanos: start,
                         durationNanos: max(relative(wait.endNanos), start) - start, arguments: arguments)
    }
  }

  // MARK: counters

  private func counterTrack() -> [ChromeEvent] {
    var events = process.timeline.residentSetSizes.map { sample in
      ChromeEvent(phase: .counter, name: "RSS", category: "memory", tid: 0, nanos: relative(sample.nanos),
                  arguments: [("bytes", .integer(Int64(sample.bytes)))])
    }
    for sample in process.timeline.heapInUse {
      events.append(ChromeEvent(phase: .counter, name: "heap in use", category: "memory", tid: 0,
                                nanos: relative(sample.nanos), arguments: [("bytes", .integer(sample.bytes))]))
    }
    for event in process.timeline.events where event.kind == .counter {
      events.append(ChromeEvent(phase: .counter, name: event.name, category: "counter", tid: 0,
                                nanos: relative(event.monotonicNanos), arguments: [("value", .integer(event.value))]))
    }
    return events
  }

}
