import Recording

extension AttachedWindow {
  /// The CLI's spelling: seconds from the command line, failures as one "Error:" line.
  static func record<Sink: RecordSink>(pid: Int32, request: String, duration: Seconds?,
                                       into sink: inout Sink) throws -> AttachedWindow {
    do {
      return try record(pid: pid, request: request, durationNanos: duration?.nanoseconds, into: &sink)
    } catch {
      throw ProfError(error.description)
    }
  }
}
