import AgentStream
import Foundation
import XCTest

@testable import Symbolization

/// PLT stubs named as objdump names them, on every layout the toolchain's linkers
/// produce: gold's and lld's .plt, bfd's .plt and .plt.got, bfd's IBT .plt.sec;
/// executables and shared libraries, stripped or not.
final class PLTStubsTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws { directory = try temporaryDirectory() }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private static let layouts: [(name: String, flags: [String])] = [
    ("gold", ["-fuse-ld=gold"]),
    ("bfd", ["-fuse-ld=bfd"]),
    ("bfd-ibt", ["-fuse-ld=bfd", "-fcf-protection=full", "-Wl,-z,ibtplt"]),
    ("lld", ["-fuse-ld=lld"]),
  ]

  /// The program and its library built with one layout; with a stripped copy of each.
  private func build(_ layout: (name: String, flags: [String])) throws -> [String] {
    let library = directory.appendingPathComponent("libplt-\(layout.name).so").path
    let program = directory.appendingPathComponent("plt-\(layout.name)").path
    try command("/usr/bin/env", ["clang", "-O1", "-fPIC", "-shared"] + layout.flags + ["-o", library, symbolsFixture("plt_lib.c")])
    try command("/usr/bin/env", ["clang", "-O1"] + layout.flags
      + ["-o", program, symbolsFixture("plt_calls.c"), library, "-Wl,-rpath," + directory.path])
    for file in [library, program] { try command("/usr/bin/env", ["strip", "-o", file + ".stripped", file]) }
    return [program, library, program + ".stripped", library + ".stripped"]
  }

  /// objdump's stub labels: address -> "name@plt".
  private func objdumpStubs(_ file: String) throws -> [UInt64: String] {
    var stubs: [UInt64: String] = [:]
    for line in try command("/usr/bin/env", ["objdump", "-d", file]).split(separator: "\n") where line.hasSuffix("@plt>:") {
      let fields = line.split(separator: " ")
      guard let address = UInt64(fields[0], radix: 16) else { continue }
      stubs[address] = String(fields[1].dropFirst().dropLast(2))
    }
    return stubs
  }

  func testEveryStubIsNamedAsObjdumpNamesIt() throws {
    var sections = Set<String>()
    for layout in Self.layouts {
      for file in try build(layout) {
        let elf = try ELFFile(path: file)
        sections.formUnion(elf.sections.map(\.name).filter(PLTStubs.sectionNames.contains))
        let stubs = try PLTStubs(elf)
        let expected = try objdumpStubs(file)
        XCTAssertFalse(expected.isEmpty, "\(file): objdump shows no stub")
        for (address, name) in expected {
          XCTAssertEqual(stubs.name(at: address), name, "\(file) at 0x\(String(address, radix: 16))")
          XCTAssertEqual(stubs.name(at: address + 7), name, "\(file): inside the stub")
        }
        let names = Set(expected.values)
        let required: Set = file.contains("libplt") ? ["rand_r@plt"] : ["plt_step@plt"]
        XCTAssertTrue(required.isSubset(of: names), "\(file): \(names)")
      }
    }
    XCTAssertEqual(sections, [".plt", ".plt.sec", ".plt.got"], "the layouts cover every PLT section")
  }

  func testLazyIBTStubsAreNamedByTheRelocationTheyPush() throws {
    let program = try build(Self.layouts[2])[0]
    let elf = try ELFFile(path: program)
    let plt = try XCTUnwrap(elf.section(named: ".plt"))
    let stubs = try PLTStubs(elf)
    XCTAssertEqual(stubs.name(at: plt.address), ".plt", "the resolver stub")
    let secure = try XCTUnwrap(elf.section(named: ".plt.sec"))
    let lazy = stride(from: plt.address + 16, to: plt.address + plt.size, by: 16).compactMap { stubs.name(at: $0) }
    let secureStubs = try objdumpStubs(program).filter { secure.address..<secure.address + secure.size ~= $0.key }
    XCTAssertEqual(lazy.sorted(), secureStubs.values.sorted(), "one lazy stub per .plt.sec stub")
  }

  func testOutsideThePLTAndOtherFilesThereIsNoStubName() throws {
    let program = try build(Self.layouts[1])[0]
    let main = try XCTUnwrap(command("/usr/bin/env", ["nm", program]).split(separator: "\n").first { $0.hasSuffix(" T main") })
    XCTAssertNil(try PLTStubs(ELFFile(path: program)).name(at: try XCTUnwrap(UInt64(main.prefix(16), radix: 16))))
    XCTAssertThrowsError(try ELFFile(path: symbolsFixture("plt_calls.c")), "not ELF")
    XCTAssertThrowsError(try ELFFile(path: "/nonexistent"))
  }

  /// Through the one symbolization every output uses: the stub, not `_init` in crtstuff.c.
  func testStacksNameTheStubAndNoFile() throws {
    let program = try build(Self.layouts[0])[0]
    let stub = try XCTUnwrap(objdumpStubs(program).first { $0.value == "plt_step@plt" }?.key)
    var stacks = StackSymbolizer(modules: [module(program, at: 0x1000_0000)], hiddenModule: { _ in false })
    _ = stacks.add([0x1000_0000 + stub + 2])
    let symbolizer = try XCTUnwrap(LLVMSymbolizer.locate())
    XCTAssertEqual(try symbolizer.symbolize(addresses: [stub + 2], inFile: program)[0].map(\.symbol), ["_init"],
                   "llvm-symbolizer alone names the preceding symbol")
    let frames = stacks.resolve(symbolizer: symbolizer).locations[0].frames
    XCTAssertEqual(frames, [ResolvedFrame(name: "plt_step@plt", systemName: "plt_step@plt")])
  }
}

/// Hostile files: a thrown error or no names, never a trap or a hang.
final class ELFFileHostileInputTests: XCTestCase {
  /// A little ELF file: header, section names, one .plt section with `code` at
  /// `address`, then the section headers at `sectionsOffset` (default: after the data).
  private func elf(address: UInt64, code: [UInt8], size: UInt64? = nil, sectionsOffset: UInt64? = nil) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 64)
    bytes.replaceSubrange(0..<6, with: [0x7f, 0x45, 0x4c, 0x46, 2, 1])
    func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
      withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
    }
    put(UInt16(62), at: 18)
    let names: [UInt8] = Array("\0.shstrtab\0.plt\0".utf8)
    let namesOffset = bytes.count
    bytes += names
    let codeOffset = bytes.count
    bytes += code
    let headers = bytes.count
    put(sectionsOffset ?? UInt64(headers), at: 40)
    put(UInt16(64), at: 58)
    put(UInt16(3), at: 60)
    put(UInt16(1), at: 62)
    var table = [UInt8](repeating: 0, count: 64 * 3)
    func section(_ index: Int, name: UInt32, type: UInt32, address: UInt64, offset: Int, size: UInt64) {
      for (value, at) in [(UInt64(name), 0), (UInt64(type), 4)] {
        withUnsafeBytes(of: UInt32(value).littleEndian) { table.replaceSubrange(index * 64 + at..<index * 64 + at + 4, with: $0) }
      }
      for (value, at) in [(address, 16), (UInt64(offset), 24), (size, 32)] {
        withUnsafeBytes(of: value.littleEndian) { table.replaceSubrange(index * 64 + at..<index * 64 + at + 8, with: $0) }
      }
    }
    section(1, name: 1, type: 3, address: 0, offset: namesOffset, size: UInt64(names.count))
    section(2, name: 11, type: 1, address: address, offset: codeOffset, size: size ?? UInt64(code.count))
    return bytes + table
  }

  private func write(_ bytes: [UInt8]) throws -> String {
    let directory = try temporaryDirectory()
    addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("hostile").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  func testAWellFormedLittleFileReads() throws {
    let stubs = try PLTStubs(ELFFile(path: write(elf(address: 0x1000, code: [0xff, 0x25, 0, 0, 0, 0] + Array(repeating: 0x90, count: 10)))))
    XCTAssertEqual(stubs.name(at: 0x1004), ".plt", "a slot no relocation fills: the section's name")
  }

  func testStubsAtTheTopOfTheAddressSpaceDoNotOverflow() throws {
    let code = [UInt8](repeating: 0xff, count: 32) + [0x25, 0xff, 0xff, 0xff, 0x7f]
    let stubs = try PLTStubs(ELFFile(path: write(elf(address: UInt64.max - 20, code: code))))
    _ = stubs.name(at: UInt64.max)
  }

  func testSectionsPastTheEndOfTheFileThrow() throws {
    XCTAssertThrowsError(try PLTStubs(ELFFile(path: write(elf(address: 0x1000, code: [0x90], size: 1 << 40)))))
    XCTAssertThrowsError(try ELFFile(path: write(elf(address: 0x1000, code: [0x90], sectionsOffset: 1 << 62))))
    XCTAssertThrowsError(try ELFFile(path: write(Array(elf(address: 0x1000, code: [0x90]).prefix(40)))), "truncated header")
  }

  func testAFIFOIsNotOpenedForReading() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let fifo = directory.appendingPathComponent("fifo").path
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    XCTAssertThrowsError(try ELFFile(path: fifo))
  }
}
