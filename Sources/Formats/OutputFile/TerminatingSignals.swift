import CLaunch
import Glibc

/// Signals whose default action ends a process and that someone may send prof (a
/// closed terminal's SIGHUP, Ctrl-C, kill -USR1, ...): while a program runs prof
/// forwards them to it; otherwise they end prof, which first removes its temporary
/// files. Left out: SIGPIPE (prof's writes to a closed pipe fail instead), the faults
/// a process raises itself (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP,
/// SIGSYS), SIGKILL, which cannot be caught, and SIGPROF, with which prof's own agent
/// (or another profiler) samples prof itself.
public let terminatingSignals: [Int32] =
  [SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGIO, SIGPWR]
  + Array(prof_sigrtmin()...prof_sigrtmax())

/// Whether `action` is SIG_IGN: a signal prof was started with ignored (nohup's SIGHUP)
/// stays ignored, neither forwarded nor caught.
public func isIgnoring(_ action: sigaction) -> Bool {
  action.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) == 1 } ?? false
}
