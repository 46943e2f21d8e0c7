import Glibc

/// The signal that interrupts threads for their stacks (PROF_SIGNAL): SIGPROF unless
/// the user picks another because the program needs SIGPROF itself.
public struct SamplingSignal: Equatable, Sendable {
  public let number: Int32

  public static let profiling = SamplingSignal(number: SIGPROF)

  private static let named: [(String, Int32)] = [("PROF", SIGPROF), ("VTALRM", SIGVTALRM), ("USR1", SIGUSR1), ("USR2", SIGUSR2)]
  private static var realTime: ClosedRange<Int32> { __libc_current_sigrtmin()...__libc_current_sigrtmax() }

  /// The signal as the agent reports it, whatever its number.
  public init(number: Int32) { self.number = number }

  /// "SIGPROF", "PROF", "SIGRTMIN+3", "RTMAX-1" or a number: SIGPROF, SIGVTALRM,
  /// SIGUSR1, SIGUSR2 or a real-time signal (the ones nothing else means anything by).
  public init?(_ text: String) {
    let name = text.uppercased().hasPrefix("SIG") ? String(text.uppercased().dropFirst(3)) : text.uppercased()
    let number: Int32?
    if let numeric = Int32(name) {
      number = numeric
    } else if let (_, value) = Self.named.first(where: { $0.0 == name }) {
      number = value
    } else if name.hasPrefix("RTMIN") || name.hasPrefix("RTMAX") {
      let offset = name.dropFirst(5)
      let base = name.hasPrefix("RTMIN") ? Self.realTime.lowerBound : Self.realTime.upperBound
      number = offset.isEmpty ? base : Int32(offset.hasPrefix("+") ? String(offset.dropFirst()) : String(offset)).map { base + $0 }
    } else {
      number = nil
    }
    guard let number, Self.realTime.contains(number) || Self.named.contains(where: { $0.1 == number }) else { return nil }
    self.number = number
  }

  /// SIGPROF, SIGRTMIN+3, ...
  public var name: String {
    if let (name, _) = Self.named.first(where: { $0.1 == number }) { return "SIG" + name }
    guard Self.realTime.contains(number) else { return "signal \(number)" }
    let offset = number - Self.realTime.lowerBound
    return offset == 0 ? "SIGRTMIN" : "SIGRTMIN+\(offset)"
  }
}
