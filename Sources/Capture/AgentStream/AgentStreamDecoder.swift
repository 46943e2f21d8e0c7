import ProfStreamFormat

/// Turns the agent's byte stream, fed in arbitrary chunks, into records. The
/// layout comes from prof_stream.h, the same header the agent is compiled with.
/// Records a newer agent added are skipped by their size and counted
/// (`skippedSummary`), so that this prof reads that agent's stream.
public struct AgentStreamDecoder {
  public enum Failure: Error, Equatable, CustomStringConvertible {
    case notAnAgentStream
    case unsupportedVersion(UInt64)
    case corruptRecord(offset: Int, detail: String)

    public var description: String {
      switch self {
      case .notAnAgentStream: "the agent's stream does not start with its magic number"
      case .unsupportedVersion(let version):
        "the agent speaks stream version \(version), older than the \(AgentStreamDecoder.oldestVersion) this prof reads: "
          + "its library is a stale build (PROF_AGENT_LIBRARY?); build prof and its agent together"
      case .corruptRecord(let offset, let detail): "corrupt agent record at byte \(offset): \(detail)"
      }
    }
  }

  /// Version 1 predates the written contract (Sources/Agent/STREAM.md, "Versions").
  public static let oldestVersion = UInt64(PROF_STREAM_VERSION)
  private static let headerSize = 16
  private static let largestRecord = 64 * 1024

  private(set) var buffer: [UInt8] = []
  private var position = 0
  private(set) var consumed = 0  // bytes dropped from the front of buffer so far
  private var sawHeader = false
  /// An ASYNC record comes just before its SAMPLE (same tid and time); other
  /// threads' records may come between them.
  private var pendingAsync: [UInt32: (monotonicNanos: UInt64, chains: [AsyncChain])] = [:]
  /// A BUCKET_ASYNC record comes just before the bucket it belongs to.
  private var pendingBucketAsync: (type: UInt32, bucket: UInt32, chains: [AsyncChain])?
  /// Records skipped because this prof does not know them, by what they are ("type 42").
  public private(set) var skipped: [String: Int] = [:]

  public init() {}

  /// Bytes received but not yet a whole record: non-zero at the end of a stream
  /// means the writer was cut off mid-record.
  public var pendingByteCount: Int { buffer.count - position }

  public mutating func append(_ bytes: some Collection<UInt8>) {
    if position > 0 && position >= buffer.count / 2 {
      buffer.removeFirst(position)
      consumed += position
      position = 0
    }
    buffer.append(contentsOf: bytes)
  }

  /// The next complete record, or nil until more bytes arrive.
  public mutating func next() throws(Failure) -> AgentRecord? {
    if !sawHeader {
      guard pendingByteCount >= Self.headerSize else { return nil }
      guard load(UInt64.self, at: position) == PROF_STREAM_MAGIC else { throw .notAnAgentStream }
      let version = load(UInt64.self, at: position + 8)
      guard version >= Self.oldestVersion else { throw .unsupportedVersion(version) }
      position += Self.headerSize
      sawHeader = true
    }
    while pendingByteCount >= 8 {
      let type = load(UInt32.self, at: position)
      let size = Int(load(UInt32.self, at: position + 4))
      guard size >= 8, size % 8 == 0, size <= Self.largestRecord else {
        throw .corruptRecord(offset: consumed + position, detail: "size \(size)")
      }
      guard pendingByteCount >= size else { return nil }
      let record = try decodeRecord(type: type, at: position, size: size)
      position += size
      if let record { return record }
    }
    return nil
  }

  /// One line for the user when records were skipped, else nil.
  public var skippedSummary: String? {
    guard !skipped.isEmpty else { return nil }
    let kinds = skipped.sorted { $0.key < $1.key }.map { "\($0.value) of \($0.key)" }.joined(separator: ", ")
    return "skipped agent records this prof does not know (\(kinds)): the agent is newer than prof"
  }

  private mutating func skip(_ what: String) -> AgentRecord? {
    skipped[what, default: 0] += 1
    return nil
  }

  /// nil: a record this prof does not know, skipped and counted.
  private mutating func decodeRecord(type: UInt32, at base: Int, size: Int) throws(Failure) -> AgentRecord? {
    func require(_ minimum: Int) throws(Failure) {
      if size < minimum { throw .corruptRecord(offset: consumed + base, detail: "type \(type) in \(size) bytes") }
    }
    switch type {
    case UInt32(PROF_REC_START.rawValue):
      try require(MemoryLayout<prof_start_record>.size)
      return .start(StreamStart(
        pid: field(\prof_start_record.pid, of: base),
        hz: field(\prof_start_record.hz, of: base),
        realtimeNanos: field(\prof_start_record.realtime_ns, of: base),
        monotonicNanos: field(\prof_start_record.monotonic_ns, of: base)))
    case UInt32(PROF_REC_SAMPLE.rawValue):
      try require(MemoryLayout.offset(of: \prof_sample_record.frames)!)
      var sample = try decodeSample(at: base, size: size)
      if let pending = pendingAsync.removeValue(forKey: sample.tid), pending.monotonicNanos == sample.monotonicNanos {
        sample.asyncChains = pending.chains.filter { $0.frame < sample.frames.count }
      }
      return .sample(sample)
    case UInt32(PROF_REC_ASYNC.rawValue):
      try require(MemoryLayout.offset(of: \prof_async_record.entries)!)
      let tid = field(\prof_async_record.tid, of: base)
      let chains = try decodeAsyncChains(at: base, size: size, entriesOffset: MemoryLayout.offset(of: \prof_async_record.entries)!,
                                         count: Int(field(\prof_async_record.count, of: base)))
      pendingAsync[tid] = (field(\prof_async_record.monotonic_ns, of: base), chains)
      return nil
    case UInt32(PROF_REC_BUCKET_ASYNC.rawValue):
      try require(MemoryLayout.offset(of: \prof_bucket_async_record.entries)!)
      let chains = try decodeAsyncChains(
        at: base, size: size, entriesOffset: MemoryLayout.offset(of: \prof_bucket_async_record.entries)!,
        count: Int(field(\prof_bucket_async_record.count, of: base)))
      pendingBucketAsync = (field(\prof_bucket_async_record.bucket_type, of: base),
                            field(\prof_bucket_async_record.bucket, of: base), chains)
      return nil
    case UInt32(PROF_REC_THREAD.rawValue):
      try require(MemoryLayout<prof_thread_record>.size)
      let nameOffset = base + MemoryLayout.offset(of: \prof_thread_record.name)!
      return .thread(tid: field(\prof_thread_record.tid, of: base),
                     name: cString(at: nameOffset, maximum: Int(PROF_THREAD_NAME_LEN)))
    case UInt32(PROF_REC_MODULE.rawValue):
      try require(MemoryLayout<prof_module_record>.size)
      return .module(try decodeModule(at: base, size: size))
    case UInt32(PROF_REC_STATS.rawValue):
      try require(MemoryLayout<prof_stats_record>.size)
      var stats = AgentStats()
      stats.samples = field(\prof_stats_record.samples, of: base)
      stats.dropped = field(\prof_stats_record.dropped, of: base)
      stats.handlerNanos = field(\prof_stats_record.handler_ns, of: base)
      stats.frames = field(\prof_stats_record.frames, of: base)
      stats.foreignSignals = field(\prof_stats_record.foreign_signals, of: base)
      stats.threads = field(\prof_stats_record.threads, of: base)
      stats.taken = field(\prof_stats_record.taken, of: base)
      return .stats(stats)
    case UInt32(PROF_REC_END.rawValue):
      try require(MemoryLayout<prof_end_record>.size)
      return .end(EndReason(field(\prof_end_record.reason, of: base)))
    case UInt32(PROF_REC_IDLE.rawValue):
      try require(MemoryLayout<prof_idle_record>.size)
      return .idle(IdleTick(tid: field(\prof_idle_record.tid, of: base),
                            monotonicNanos: field(\prof_idle_record.monotonic_ns, of: base),
                            threadCPUNanos: field(\prof_idle_record.thread_cpu_ns, of: base)))
    case UInt32(PROF_REC_RSS.rawValue):
      try require(MemoryLayout<prof_rss_record>.size)
      return .residentSetSize(monotonicNanos: field(\prof_rss_record.monotonic_ns, of: base),
                              bytes: field(\prof_rss_record.rss_bytes, of: base))
    case UInt32(PROF_REC_NOTICE.rawValue):
      try require(MemoryLayout<prof_notice_record>.size)
      guard let notice = decodeNotice(at: base) else {
        return skip("notice code \(field(\prof_notice_record.code, of: base))")
      }
      return .notice(notice)
    case UInt32(PROF_REC_TRACE.rawValue):
      try require(MemoryLayout<prof_trace_record>.size)
      guard let event = try decodeTrace(at: base, size: size) else {
        return skip("trace kind \(field(\prof_trace_record.kind, of: base))")
      }
      return .trace(event)
    case UInt32(PROF_REC_HEAP_BUCKET.rawValue):
      return .heap(.bucket(withPendingAsync(try decodeBucket(at: base, size: size, what: "heap bucket"), type: type)))
    case UInt32(PROF_REC_CONTENTION_BUCKET.rawValue):
      return .contention(.bucket(withPendingAsync(try decodeBucket(at: base, size: size, what: "contention bucket"), type: type)))
    case UInt32(PROF_REC_HEAP_COUNTS.rawValue), UInt32(PROF_REC_HEAP_STATS.rawValue):
      return .heap(try decodeHeap(type: type, at: base, size: size))
    case UInt32(PROF_REC_CONTENTION_COUNTS.rawValue), UInt32(PROF_REC_CONTENTION_STATS.rawValue):
      return .contention(try decodeContention(type: type, at: base, size: size))
    case UInt32(PROF_REC_LOCK_WAIT.rawValue):
      try require(MemoryLayout<prof_lock_wait_record>.size)
      return .lockWait(LockWait(
        tid: field(\prof_lock_wait_record.tid, of: base), holderTID: field(\prof_lock_wait_record.holder_tid, of: base),
        lockAddress: field(\prof_lock_wait_record.lock, of: base),
        startNanos: field(\prof_lock_wait_record.start_ns, of: base), endNanos: field(\prof_lock_wait_record.end_ns, of: base)))
    default:
      return skip("type \(type)")
    }
  }

  private func decodeSample(at base: Int, size: Int) throws(Failure) -> RawSample {
    let framesOffset = MemoryLayout.offset(of: \prof_sample_record.frames)!
    let depth = Int(field(\prof_sample_record.depth, of: base))
    guard depth <= Int(PROF_MAX_FRAMES), framesOffset + 8 * depth <= size else {
      throw .corruptRecord(offset: consumed + base, detail: "sample of depth \(depth) in \(size) bytes")
    }
    let frames = (0..<depth).map { load(UInt64.self, at: base + framesOffset + 8 * $0) }
    return RawSample(
      tid: field(\prof_sample_record.tid, of: base),
      weight: field(\prof_sample_record.weight, of: base),
      monotonicNanos: field(\prof_sample_record.monotonic_ns, of: base),
      threadCPUNanos: field(\prof_sample_record.thread_cpu_ns, of: base),
      frames: frames,
      truncated: field(\prof_sample_record.truncated, of: base) != 0)
  }

  /// The bucket with the BUCKET_ASYNC record just before it, if that one was its.
  private mutating func withPendingAsync(_ bucket: HeapBucket, type: UInt32) -> HeapBucket {
    defer { pendingBucketAsync = nil }
    guard let pending = pendingBucketAsync, pending.type == type, pending.bucket == bucket.id else { return bucket }
    var bucket = bucket
    bucket.asyncChains = pending.chains.filter { $0.frame < bucket.frames.count }
    return bucket
  }

  /// Entries (ASYNC, BUCKET_ASYNC) are candidates, each followed by its chain when
  /// it is the first with its value; a later one with the same value shares that
  /// (by then complete) chain.
  private func decodeAsyncChains(at base: Int, size: Int, entriesOffset: Int, count: Int) throws(Failure) -> [AsyncChain] {
    let entrySize = MemoryLayout<prof_async_entry>.size
    guard count <= Int(PROF_ASYNC_MAX_ENTRIES), entriesOffset + entrySize * count <= size else {
      throw .corruptRecord(offset: consumed + base, detail: "async record of \(count) entries in \(size) bytes")
    }
    var chains: [AsyncChain] = []
    var chainOfContext: [UInt64: Int] = [:]
    var current: Int?
    for index in 0..<count {
      let entry = base + entriesOffset + entrySize * index
      let frame = Int(field(\prof_async_entry.frame, of: entry))
      let kind = field(\prof_async_entry.kind, of: entry)
      let value = field(\prof_async_entry.value, of: entry)
      if let source = AsyncChain.Source(rawValue: kind) {
        var chain = AsyncChain(frame: frame, source: source, resumeFunctions: [], reachedEntry: false)
        if let first = chainOfContext[value] {
          chain.resumeFunctions = chains[first].resumeFunctions
          chain.reachedEntry = chains[first].reachedEntry
          current = nil
        } else {
          chainOfContext[value] = chains.count
          current = chains.count
        }
        chains.append(chain)
      } else if let current, kind == UInt32(PROF_ASYNC_RESUME.rawValue) {
        chains[current].resumeFunctions.append(value)
      } else if let current, kind == UInt32(PROF_ASYNC_END.rawValue) {
        chains[current].reachedEntry = true
      } else if kind == UInt32(PROF_ASYNC_RESUMED.rawValue), index > 0,
        AsyncChain.Source(rawValue: field(\prof_async_entry.kind, of: entry - entrySize)) == .task {
        chains[chains.count - 1].resumedFunction = value  // right after its candidate, shared chain or not
      }  // an unknown kind, or a resume without its candidate: ignored
    }
    return chains
  }

  private func decodeModule(at base: Int, size: Int) throws(Failure) -> LoadedModule {
    let fixed = MemoryLayout<prof_module_record>.size
    let buildIDLength = Int(field(\prof_module_record.build_id_len, of: base))
    let pathLength = Int(field(\prof_module_record.path_len, of: base))
    guard fixed + buildIDLength + pathLength <= size else {
      throw .corruptRecord(offset: consumed + base, detail: "module names overrun the record")
    }
    let idStart = base + fixed
    let pathStart = idStart + buildIDLength
    return LoadedModule(
      start: field(\prof_module_record.start, of: base), limit: field(\prof_module_record.limit, of: base),
      fileOffset: field(\prof_module_record.file_offset, of: base),
      loadBias: field(\prof_module_record.load_bias, of: base),
      buildID: Array(buffer[idStart..<pathStart]),
      path: String(decoding: buffer[pathStart..<(pathStart + pathLength)], as: UTF8.self))
  }

  private func decodeNotice(at base: Int) -> AgentNotice? {
    let valuesOffset = base + MemoryLayout.offset(of: \prof_notice_record.values)!
    let signal = Int32(truncatingIfNeeded: load(UInt64.self, at: valuesOffset))
    switch field(\prof_notice_record.code, of: base) {
    case UInt32(PROF_NOTICE_HANDLER_REPLACED.rawValue):
      return .handlerReplaced(signal: signal)
    case UInt32(PROF_NOTICE_SIGNAL_BLOCKED.rawValue):
      return .signalBlocked(SignalBlockingThread(
        tid: field(\prof_notice_record.tid, of: base),
        name: cString(at: base + MemoryLayout.offset(of: \prof_notice_record.name)!, maximum: Int(PROF_THREAD_NAME_LEN)),
        signal: SamplingSignal(number: signal), cpuNanos: load(UInt64.self, at: valuesOffset + 8)))
    case UInt32(PROF_NOTICE_UNWINDER_UNAVAILABLE.rawValue):
      return .unwinderUnavailable
    case UInt32(PROF_NOTICE_UNWIND_CHECK.rawValue):
      return .unwindCheck(compared: load(UInt64.self, at: valuesOffset), mismatched: load(UInt64.self, at: valuesOffset + 8))
    case UInt32(PROF_NOTICE_UNWIND_CHECK_FRAMES.rawValue):
      return .unwindCheckFrames(fromFramePointers: load(UInt64.self, at: valuesOffset), all: load(UInt64.self, at: valuesOffset + 8))
    default:
      return nil
    }
  }

  /// nil: a kind of event this prof does not know.
  private func decodeTrace(at base: Int, size: Int) throws(Failure) -> TraceEvent? {
    let fixed = MemoryLayout<prof_trace_record>.size
    let nameLength = Int(field(\prof_trace_record.name_len, of: base))
    guard fixed + nameLength <= size else { throw .corruptRecord(offset: consumed + base, detail: "trace event") }
    guard let kind = TraceEvent.Kind(rawValue: field(\prof_trace_record.kind, of: base)) else { return nil }
    return TraceEvent(
      tid: field(\prof_trace_record.tid, of: base), kind: kind,
      monotonicNanos: field(\prof_trace_record.monotonic_ns, of: base),
      value: field(\prof_trace_record.value, of: base), id: field(\prof_trace_record.id, of: base),
      name: String(decoding: buffer[(base + fixed)..<(base + fixed + nameLength)], as: UTF8.self))
  }

  /// The integer field at `path` of the C record `Record` that starts at byte `base`:
  /// the layout comes from prof_stream.h, never from numbers written here.
  func field<Record, T: FixedWidthInteger>(_ path: KeyPath<Record, T>, of base: Int) -> T {
    load(T.self, at: base + MemoryLayout<Record>.offset(of: path)!)
  }

  func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
    buffer.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
  }

  private func cString(at offset: Int, maximum: Int) -> String {
    let bytes = buffer[offset..<(offset + maximum)]
    return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
  }
}
