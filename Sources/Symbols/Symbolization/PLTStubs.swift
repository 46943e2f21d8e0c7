/// Names of the PLT stubs of one ELF file as perf and objdump give them
/// ("strlen@plt"). Symbol tables have no symbol for a stub, so llvm-symbolizer names
/// it after whatever precedes the section (`_init`, size 0, in crtstuff.c).
///
/// A stub is decoded to what it does, as objdump does, rather than matched by its
/// position, so one rule covers .plt, .plt.sec (IBT) and .plt.got, whichever linker
/// laid them out: `jmp *slot(%rip)` names the stub after the relocation that fills the
/// slot (.rela.plt JUMP_SLOT, or .rela.dyn GLOB_DAT for .plt.got); a lazy IBT stub
/// (`endbr64; push $index; jmp .plt`) after the .rela.plt entry it pushes. A stub with
/// neither (the resolver stub at the start of .plt) is named after its section.
/// x86-64 only: other machines get no stub names.
struct PLTStubs {
  static let sectionNames = [".plt", ".plt.sec", ".plt.got"]

  private var stubs: [(start: UInt64, end: UInt64, name: String)] = []

  init(_ elf: ELFFile) throws {
    guard elf.machine == ELFFile.x86_64 else { return }
    let relocations = try Relocations(elf)
    for section in Self.sectionNames.compactMap(elf.section(named:)) {
      let code = try elf.contents(of: section)
      let size = [8, 16].contains(section.entrySize) ? Int(section.entrySize) : 16
      for start in stride(from: 0, to: code.count, by: size) {
        let stub = Array(code[start..<min(start + size, code.count)])
        let address = section.address &+ UInt64(start)
        let name = Self.target(of: stub, at: address).flatMap { target in
          switch target {
          case .slot(let slot): relocations.bySlot[slot]
          case .lazyIndex(let index): index < relocations.plt.count ? relocations.plt[index] : nil
          }
        }
        stubs.append((address, address &+ UInt64(stub.count), name.map { $0 + "@plt" } ?? section.name))
      }
    }
    stubs.sort { $0.start < $1.start }
  }

  /// The stub's name if `address` (a file address) is inside a PLT section.
  func name(at address: UInt64) -> String? {
    guard let index = stubs.lastIndex(startingAtOrBelow: address, start: \.start), address < stubs[index].end else { return nil }
    return stubs[index].name
  }

  private enum Target {
    case slot(UInt64)
    case lazyIndex(Int)
  }

  /// Walks the few instructions stubs are made of; stops at anything else.
  private static func target(of code: [UInt8], at address: UInt64) -> Target? {
    var index = 0
    var pushed: Int?
    while index < code.count {
      let rest = code[index...]
      if rest.starts(with: [0xf3, 0x0f, 0x1e, 0xfa]) {  // endbr64
        index += 4
      } else if rest.starts(with: [0xf2]) {  // bnd prefix
        index += 1
      } else if rest.starts(with: [0xff, 0x25]), index + 6 <= code.count {  // jmp *disp32(%rip)
        let displacement = Int32(bitPattern: code.integer(at: index + 2))
        let slot = address &+ UInt64(index + 6) &+ UInt64(bitPattern: Int64(displacement))
        return .slot(slot)
      } else if rest.starts(with: [0xff, 0x35]) {  // push disp32(%rip): the resolver stub
        index += 6
      } else if rest.starts(with: [0x68]), index + 5 <= code.count {  // push $index
        pushed = Int(code.integer(at: index + 1) as UInt32)
        index += 5
      } else {
        break
      }
    }
    return pushed.map(Target.lazyIndex)
  }
}

/// Dynamic relocations that name a symbol: by the GOT slot they fill, and
/// .rela.plt in order (a lazy stub pushes its index into it).
private struct Relocations {
  var bySlot: [UInt64: String] = [:]
  var plt: [String?] = []

  init(_ elf: ELFFile) throws {
    guard let symbols = elf.section(named: ".dynsym"), Int(symbols.link) < elf.sections.count else { return }
    let symbolTable = try elf.contents(of: symbols)
    let strings = try elf.contents(of: elf.sections[Int(symbols.link)])
    func symbolName(_ info: UInt64) -> String? {
      let index = Int(truncatingIfNeeded: info >> 32)
      guard index > 0, (index + 1) * 24 <= symbolTable.count else { return nil }
      let name = strings.cString(at: Int(symbolTable.integer(at: index * 24) as UInt32))
      return name.isEmpty ? nil : name
    }
    // GLOB_DAT slots matter only to .plt.got; .rela.dyn is mostly RELATIVE entries
    // (6 MB of them in swift-frontend), so it is read only when there is one.
    for name in [".rela.dyn", ".rela.plt"] where name == ".rela.plt" || elf.section(named: ".plt.got") != nil {
      guard let section = elf.section(named: name) else { continue }
      let entries = try elf.contents(of: section)
      for start in stride(from: 0, to: entries.count - 23, by: 24) {
        let symbol = symbolName(entries.integer(at: start + 8))
        if let symbol { bySlot[entries.integer(at: start)] = symbol }
        if name == ".rela.plt" { plt.append(symbol) }
      }
    }
  }
}
