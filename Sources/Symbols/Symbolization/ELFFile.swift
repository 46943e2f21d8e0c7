import Glibc

/// The parts of a 64-bit little-endian ELF file that symbolization reads beside
/// llvm-symbolizer: section headers and section contents. Reads only what is asked
/// for, so a 100 MB library costs a few small reads. Malformed input throws.
struct ELFFile {
  struct Section {
    var name: String
    var type: UInt32
    var address: UInt64
    var offset: UInt64
    var size: UInt64
    var link: UInt32
    var entrySize: UInt64
  }

  static let x86_64: UInt16 = 62

  let machine: UInt16
  let sections: [Section]
  private let bytes: FileBytes

  init(path: String) throws {
    bytes = try FileBytes(path: path)
    let header = try bytes.read(at: 0, count: 64)
    guard header.prefix(4).elementsEqual([0x7f, 0x45, 0x4c, 0x46]) else { throw SymbolizerError("\(path): not an ELF file") }
    guard header[4] == 2, header[5] == 1 else { throw SymbolizerError("\(path): not a 64-bit little-endian ELF file") }
    machine = header.integer(at: 18)
    let sectionsOffset: UInt64 = header.integer(at: 40)
    let entrySize = Int(header.integer(at: 58) as UInt16)
    let count = Int(header.integer(at: 60) as UInt16)
    let namesIndex = Int(header.integer(at: 62) as UInt16)
    guard count > 0 else {
      sections = []
      return
    }
    guard entrySize >= 64, namesIndex < count else { throw SymbolizerError("\(path): bad section header table") }
    let table = try bytes.read(at: sectionsOffset, count: entrySize * count)
    var raw = (0..<count).map { index in
      let base = index * entrySize
      return (nameOffset: table.integer(at: base) as UInt32,
              section: Section(name: "", type: table.integer(at: base + 4), address: table.integer(at: base + 16),
                               offset: table.integer(at: base + 24), size: table.integer(at: base + 32),
                               link: table.integer(at: base + 40), entrySize: table.integer(at: base + 56)))
    }
    let names = try bytes.read(at: raw[namesIndex].section.offset, count: Int(clamping: raw[namesIndex].section.size))
    for index in raw.indices { raw[index].section.name = names.cString(at: Int(raw[index].nameOffset)) }
    sections = raw.map(\.section)
  }

  func section(named name: String) -> Section? { sections.first { $0.name == name } }

  /// A section's bytes; empty for SHT_NOBITS (.bss), which has none in the file.
  func contents(of section: Section) throws -> [UInt8] {
    section.type == 8 ? [] : try bytes.read(at: section.offset, count: Int(clamping: section.size))
  }
}

/// Reads byte ranges of a file with pread; the descriptor closes with the last copy.
final class FileBytes {
  private let fd: Int32
  private let path: String
  let size: UInt64

  init(path: String) throws {
    // O_NONBLOCK: a FIFO put where a module was must not hang prof.
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw SymbolizerError("cannot open \(path): \(String(cString: strerror(errno)))") }
    var status = stat()
    guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
      close(fd)
      throw SymbolizerError("\(path) is not a regular file")
    }
    self.path = path
    size = UInt64(status.st_size)
  }

  deinit { close(fd) }

  func read(at offset: UInt64, count: Int) throws -> [UInt8] {
    guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
      throw SymbolizerError("\(path): section runs past the end of the file")
    }
    var buffer = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
      let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
      guard got > 0 else { throw SymbolizerError("cannot read \(path)") }
      done += got
    }
    return buffer
  }
}

extension [UInt8] {
  /// The little-endian integer at `offset`; zero where the array ends first.
  func integer<T: FixedWidthInteger & UnsignedInteger>(at offset: Int) -> T {
    var value: T = 0
    for index in 0..<MemoryLayout<T>.size where offset + index < count && offset >= 0 {
      value |= T(self[offset + index]) << (8 * index)
    }
    return value
  }

  /// The NUL-terminated string at `offset`; "" out of range.
  func cString(at offset: Int) -> String {
    guard offset >= 0, offset < count else { return "" }
    let end = self[offset...].firstIndex(of: 0) ?? count
    return String(decoding: self[offset..<end], as: UTF8.self)
  }
}
