import Recording

/// Fed by a recording session, from the program's stream and from each child's.
extension TimelineCollector: RecordSink {}
