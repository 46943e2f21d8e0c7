import ArgumentParser
import OutputFile

/// Refuses, before anything runs, two outputs of one command that name the same file
/// (`--pprof t.json -o t.json`, or `./t.json` and `t.json`): the second would replace
/// the first, and prof would say it wrote both. `outputs` are (option, path) pairs;
/// options not given are nil.
func validateDistinct(_ outputs: [(option: String, path: String?)]) throws {
  var seen: [String: String] = [:]  // destination: the option that named it
  for case let (option, path?) in outputs {
    let destination = AtomicOutputFile.destination(of: path)
    if let earlier = seen[destination] {
      throw ValidationError("\(option) must name another file than \(earlier) (both name \(destination))")
    }
    seen[destination] = option
  }
}
