/// `GET /debug/pprof/`: the endpoints, described as Go's index describes them, with
/// what differs for a program that prof serves.
enum IndexPage {
  static let endpoints: [(name: String, link: String, description: String)] = [
    ("allocs", "allocs?debug=1", "A sampling of all past memory allocations (needs prof run --heap)."),
    ("block", "block?debug=1", "Stack traces that led to blocking on synchronization primitives (needs prof run --block). seconds=N gives the change over N seconds."),
    ("cmdline", "cmdline", "The command line invocation of the current program."),
    ("goroutine", "goroutine?debug=1", "Stack traces of all current threads. Use debug=2 as a query parameter to export in the same format as an unrecovered panic."),
    ("heap", "heap?debug=1", "A sampling of memory allocations of live objects (needs prof run --heap). seconds=N gives the change over N seconds."),
    ("mutex", "mutex?debug=1", "Stack traces of holders of contended mutexes (needs prof run --mutex). seconds=N gives the change over N seconds."),
    ("profile", "profile", "CPU profile. You can specify the duration in the seconds GET parameter (default 30). After you get the profile file, use the go tool pprof command to investigate the profile."),
    ("symbol", "symbol", "Addresses to function names: POST 0xADDR+0xADDR..."),
    ("threadcreate", "threadcreate?debug=1", "Live threads by their start routine (prof does not record the stack that created a thread)."),
    ("trace", "trace?seconds=1", "A timeline of the program's threads for seconds=N (default 1), as Chrome trace JSON: open it in Perfetto (https://ui.perfetto.dev); go tool trace cannot read it."),
  ]

  static let html: String = {
    let rows = endpoints.map { "<tr><td><a href='\($0.link)'>\($0.name)</a></td></tr>" }.joined(separator: "\n")
    let descriptions = endpoints.map { "<li><div class=profile-name>\($0.name): </div> \($0.description)</li>" }.joined(separator: "\n")
    return """
      <html>
      <head>
      <title>/debug/pprof/</title>
      <style>.profile-name{display:inline-block;width:6rem;}</style>
      </head>
      <body>
      /debug/pprof/ (served by prof run --http)
      <br>
      <p>Set debug=1 as a query parameter to export in legacy text format</p>
      <br>
      Types of profiles available:
      <table>
      <thead><td>Profile</td></thead>
      \(rows)
      </table>
      <a href="goroutine?debug=2">full goroutine stack dump</a>
      <br>
      <p>
      Profile Descriptions:
      <ul>
      \(descriptions)
      </ul>
      </p>
      </body>
      </html>

      """
  }()
}
