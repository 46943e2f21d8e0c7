import CPUProfiling
import Pprof

/// Count profiles of a thread dump, shaped as Go's goroutine and threadcreate profiles.
enum ThreadProfiles {
  /// Every thread's current stack, one count each, labelled with its tid and name.
  static func current(_ dump: ThreadDump) -> Profile {
    counted(dump, type: "goroutine") { $0 }
  }

  /// Each live thread under its start routine: its stack from the root down to the
  /// first frame that is not the C library's or the loader's thread start. Go
  /// counts the stack that created each thread; the agent does not record it.
  static func startRoutines(_ dump: ThreadDump) -> Profile {
    let printer = Profile.FramePrinter(dump.profile)
    var profile = counted(dump, type: "threadcreate") { sample in
      var kept = sample
      kept.labels = []
      let locations = sample.locationIDs
      // Leaf first: find, from the root, the first location whose frames are not a trampoline.
      guard let routine = locations.lastIndex(where: { id in
        !printer.frames(of: [id]).allSatisfy { threadStarts.contains($0.function) }
      }) else { return kept }
      kept.locationIDs = Array(locations[routine...])
      return kept
    }
    profile.comments = ["threadcreate: live threads by start routine (prof does not record the creating stack)"]
    return profile
  }

  static let threadStarts: Set<String> = [
    "_start", "__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main", "start_thread", "clone", "clone3",
  ]

  private static func counted(_ dump: ThreadDump, type: String, _ shape: (Sample) -> Sample) -> Profile {
    var profile = dump.profile
    profile.sampleTypes = [ValueType(type: type, unit: "count")]
    profile.periodType = ValueType(type: type, unit: "count")
    profile.period = 1
    profile.comments = []
    profile.defaultSampleType = ""
    profile.samples = dump.profile.samples.map {
      var sample = shape($0)
      sample.values = [1]
      return sample
    }
    return profile
  }
}

extension Profile {
  /// Every value negated, to subtract this profile from another by merging (Go's delta profiles).
  func negated() -> Profile {
    var profile = self
    profile.samples = samples.map {
      var sample = $0
      sample.values = sample.values.map { 0 &- $0 }
      return sample
    }
    return profile
  }
}
