import Recording

/// The contention collector is fed by a recording session like the others.
extension ContentionCollector: RecordSink {}
