import AgentStream

/// What a recording feeds its records to: the cpu, heap and trace collectors, and
/// any later one. A sink is a value, so a checkpoint can take a copy of it between
/// flushes while the recording goes on.
public protocol RecordSink {
  mutating func consume(_ record: AgentRecord)
}

/// Two sinks fed from one stream (prof trace: the timeline and the samples).
public struct SinkPair<First: RecordSink, Second: RecordSink>: RecordSink {
  public var first: First
  public var second: Second

  public init(_ first: First, _ second: Second) {
    self.first = first
    self.second = second
  }

  public mutating func consume(_ record: AgentRecord) {
    first.consume(record)
    second.consume(record)
  }
}

extension AgentRecord {
  /// The agent ends each flush with its counters: a whole state to checkpoint.
  var endsFlush: Bool {
    switch self {
    case .stats, .heap(.stats): true
    default: false
    }
  }
}
