import OutputFile
import Pprof
import Recording
import TargetLaunch

extension RecordingSession {
  /// The end of a recording command: writes the profile, waits for the program, and
  /// says what was lost if its agent never ended the stream (killed before its last
  /// flush). A failed write is thrown after that warning; the program's status is
  /// returned for the command to exit with.
  func writeAndFinish(_ profile: Profile, to file: AtomicOutputFile, lastProgram: @autoclosure () -> String,
                      lost: @autoclosure () -> String) throws -> TerminationStatus {
    try writeAndFinish([(profile, file)], lastProgram: lastProgram(), lost: lost())
  }

  /// The same for several profiles of one run (prof block --mutex-profile).
  func writeAndFinish(_ outputs: [(profile: Profile, file: AtomicOutputFile)], lastProgram: @autoclosure () -> String,
                      lost: @autoclosure () -> String) throws -> TerminationStatus {
    let written = Result { try outputs.forEach { try $0.file.commit($0.profile.gzipped()) } }
    let status = finish()
    if start != nil && endReason == nil {
      warn(program.missingFinalFlushMessage(lastProgram: lastProgram(), lost: lost()))
    }
    try written.get()
    return status
  }
}
