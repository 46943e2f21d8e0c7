/// Frame colours: warm hues picked by a hash of the name, so a function keeps its
/// colour across graphs; red and blue by size of change for differential graphs.
enum FlameColors {
  static func warm(_ name: String) -> String {
    let hash = fnv1a(name)
    let red = 205 + Int(hash & 0xff) * 50 / 255
    let green = Int((hash >> 8) & 0xff) * 190 / 255
    let blue = Int((hash >> 16) & 0xff) * 55 / 255
    return "rgb(\(red),\(green),\(blue))"
  }

  /// Red for growth, blue for shrinkage, paler the smaller the change.
  static func difference(_ delta: Double, largest: Double) -> String {
    let strength = largest > 0 ? min(1, abs(delta) / largest) : 0
    let fade = 255 - Int((strength * 210).rounded())
    return delta >= 0 ? "rgb(255,\(fade),\(fade))" : "rgb(\(fade),\(fade),255)"
  }

  private static func fnv1a(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash &*= 0x100_0000_01b3
    }
    return hash
  }
}
