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
  /// Serves Go's /debug/pprof for the program until it exits, then answers what is
  /// still being answered (a window its exit cut short) before returning.
  func serving(_ address: HTTPAddress, _ process: TargetProcess) throws -> TerminationStatus {
    if !address.isLoopback {
      warn("--http \(address.host):\(address.port) is not a loopback address: anyone who can reach it can profile this program and read its stacks and command line")
    }
    var settings = DebugPprofEndpoints.Settings(pid: process.pid, heapTracked: tracking.heap)
    (settings.blockTracked, settings.mutexTracked) = (tracking.block, tracking.mutex)
    let server: DebugPprofServer
    do {
      server = try DebugPprofServer(host: address.host, port: address.port,
                                    endpoints: DebugPprofEndpoints(settings, symbolizer: symbols.symbolizer()))
    } catch {
      process.send(SIGTERM)
      _ = process.waitForExit()
      throw ProfError(String(describing: error))
    }
    warn("serving http://\(server.boundAddress)/debug/pprof/ for pid \(process.pid): go tool pprof http://\(server.boundAddress)/debug/pprof/profile?seconds=30")
    let status = process.waitForExit(reading: { _ in })
    server.shutdown(waitingUpTo: 10)
    return status
  }
}
