import ArgumentParser
import DebugPprof
import Glibc
import TargetLaunch

/// `prof run --http HOST:PORT`: where the server listens.
struct HTTPAddress: ExpressibleByArgument {
  let host: String
  let port: Int

  /// "127.0.0.1:6060", "localhost:0", "[::1]:6060", "0.0.0.0:6060"; ":6060" is loopback.
  init?(argument: String) {
    guard let colon = argument.lastIndex(of: ":"), let port = Int(argument[argument.index(after: colon)...]),
          (0...65535).contains(port) else { return nil }
    var host = String(argument[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    if host.contains(":") && !argument.hasPrefix("[") { return nil }  // an IPv6 address needs its brackets
    self.host = host.isEmpty ? "127.0.0.1" : host
    self.port = port
  }

  var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }
}

extension Run {
  /// Listens on `address` before the program starts (it is not started if prof
  /// cannot serve). The server's threads block the signals prof forwards, so that
  /// they reach TargetProcess's signalfd, never a server thread.
  func listening(on address: HTTPAddress) throws -> (DebugPprofServer, DebugPprofEndpoints) {
    if !address.isLoopback {
      warn("--http \(DebugPprofServer.address(host: address.host, port: address.port)) is not a loopback address: anyone who can reach it can profile this program and read its stacks and command line")
    }
    var settings = DebugPprofEndpoints.Settings(heapTracked: tracking.heap)
    (settings.blockTracked, settings.mutexTracked) = (tracking.block, tracking.mutex)
    let endpoints = DebugPprofEndpoints(settings, symbolizer: symbols.symbolizer())
    var forwarded = sigset_t(), previous = sigset_t()
    sigemptyset(&forwarded)
    for signal in TargetProcess.forwardedSignals { sigaddset(&forwarded, signal) }
    pthread_sigmask(SIG_BLOCK, &forwarded, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }  // the program starts with prof's own mask
    do {
      return (try DebugPprofServer(host: address.host, port: address.port, endpoints: endpoints), endpoints)
    } catch {
      throw ProfError(String(describing: error))
    }
  }

  /// Serves Go's /debug/pprof for the program until it exits, then answers what is
  /// still being answered (a window its exit cut short) before returning.
  func serving(_ server: DebugPprofServer, _ endpoints: DebugPprofEndpoints, _ process: TargetProcess) -> TerminationStatus {
    endpoints.pid = process.pid
    warn("serving http://\(server.boundAddress)/debug/pprof/ for pid \(process.pid): go tool pprof http://\(server.boundAddress)/debug/pprof/profile?seconds=30")
    let status = process.waitForExit(reading: { _ in })
    switch status {
    case .exited(let code): endpoints.programEnded("exited (status \(code))")
    case .signaled(let signal): endpoints.programEnded("was killed by signal \(signal)")
    }
    server.shutdown(waitingUpTo: 10)
    return status
  }
}
