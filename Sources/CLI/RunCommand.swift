import AgentStream
import ArgumentParser
import CPUProfiling
import Foundation
import Pprof
import Recording
import Symbolization
import TargetLaunch

/// `prof agent`: the library to preload into programs started by something else.
struct Agent: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print the agent library's absolute path, for LD_PRELOAD.",
    discussion: """
      A program started with this library preloaded runs as usual: its agent is \
      dormant (no timers, no signal handlers, one thread blocked on a socket) until \
      prof attaches to it with --pid.

      Examples:
        LD_PRELOAD=$(prof agent) .build/release/myserver &
        prof cpu --pid $! --duration 30
        # systemd unit:  Environment=LD_PRELOAD=/path/printed/by/prof/agent
        # Dockerfile:    ENV LD_PRELOAD=/path/printed/by/prof/agent
      """
  )

  func run() throws { print(try AgentLibrary.locate()) }
}

/// `prof run -- COMMAND`: the program with a dormant agent, prof in front of it.
struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a program with prof's agent dormant, to attach to it by pid while it runs.",
    discussion: """
      The program runs as it would alone: the agent records nothing, arms no timer \
      and installs no signal handler until `prof cpu --pid`, `prof trace --pid` or \
      `prof threads --pid` asks it for a window; after the window it is dormant \
      again. prof stays in front: SIGINT and SIGTERM reach the program, and prof \
      exits with its status (128+N if a signal N killed it).

      With --http, prof also serves Go's /debug/pprof endpoints for the program on \
      that address (profile, heap, allocs, goroutine, threadcreate, block, mutex, \
      trace, cmdline, symbol), so that go tool pprof, Parca or Grafana Alloy can fetch them. Port 0 \
      picks a free port; the address is printed on stderr. Each `seconds` is at most 600.

      Examples:
        prof run -- .build/release/myserver --port 8080 &
        prof cpu --pid $(pgrep myserver) --duration 30
        prof threads --pid $(pgrep myserver)
        prof run --heap -- .build/release/myserver &   # then: prof heap --pid PID
        prof run --block --mutex --http :6060 -- .build/release/myserver &
        prof run --heap --http 127.0.0.1:6060 -- .build/release/myserver &
        go tool pprof -top http://127.0.0.1:6060/debug/pprof/profile?seconds=10
      """
  )

  @OptionGroup var tracking: RunTracking

  @Option(help: ArgumentHelp("Serve Go's /debug/pprof endpoints on this address while the program runs (a loopback address unless you mean otherwise; port 0: any free port).",
                             valueName: "host:port"))
  var http: HTTPAddress?

  @OptionGroup var symbols: SymbolizerOptions

  @OptionGroup var target: TargetOptions

  func run() throws {
    let settings = tracking.settings
    let server = try http.map(listening(on:))
    // No stream pipe: the agent stays dormant, attachable by pid.
    let process = try TargetProcess(command: target.resolve(), environment: AgentLibrary.environment(settings: settings), pipe: .none)
    warn("running \(target.command.joined(separator: " ")) as pid \(process.pid): attach with prof cpu --pid \(process.pid)")
    let status = if let (server, endpoints) = server { serving(server, endpoints, process) } else { process.waitForExit(reading: { _ in }) }
    AgentConnection.removeSocket(ofEnded: process.pid)
    try status.passThrough()
  }
}
