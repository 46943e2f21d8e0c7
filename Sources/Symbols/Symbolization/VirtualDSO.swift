import Foundation

/// The kernel's vDSO (clock_gettime, gettimeofday, time, getcpu), which every
/// process maps but no file on disk holds. The target ran on the kernel prof runs
/// on, so prof's own copy is the same image: written once to a temporary file, it
/// lets llvm-symbolizer name the functions of samples that land there.
enum VirtualDSO {
  /// The module name dl_iterate_phdr gives it, as the agent reports it.
  static let name = "linux-vdso.so.1"

  /// A file holding the image (removed when prof exits), or nil if it cannot be had.
  static let file: String? = {
    guard let image = mappedImage() else { return nil }
    var template = Array((NSTemporaryDirectory() + "/prof-vdso-XXXXXX").utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard write(fd, image.baseAddress, image.count) == image.count else {
      unlink(path)
      return nil
    }
    temporaryPath = path
    atexit { VirtualDSO.temporaryPath.map { _ = unlink($0) } }
    return path
  }()

  /// The file that holds a module's code: prof's copy for the vDSO, else the path itself.
  static func fileHolding(_ path: String) -> String { path == name ? file ?? path : path }

  nonisolated(unsafe) private static var temporaryPath: String?

  /// prof's own mapping of the vDSO, from /proc/self/maps (read to its end: the
  /// kernel reports no size for it, so a read by size would stop early).
  private static func mappedImage() -> UnsafeRawBufferPointer? {
    guard let maps = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile(),
          let line = String(decoding: maps, as: UTF8.self).split(separator: "\n").first(where: { $0.hasSuffix("[vdso]") })
    else { return nil }
    let bounds = line.prefix { $0 != " " }.split(separator: "-").compactMap { UInt(String($0), radix: 16) }
    guard bounds.count == 2, bounds[1] > bounds[0], let start = UnsafeRawPointer(bitPattern: bounds[0]) else { return nil }
    return UnsafeRawBufferPointer(start: start, count: Int(bounds[1] - bounds[0]))
  }
}
