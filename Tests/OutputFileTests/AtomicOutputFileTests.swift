import Foundation
import OutputFile
import XCTest

final class AtomicOutputFileTests: XCTestCase {
  private var directory: String!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("output-file-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  private func refusal(_ path: String) -> String? {
    do {
      _ = try AtomicOutputFile(path: path)
      return nil
    } catch {
      return error.description
    }
  }

  private var entries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: directory).sorted()) ?? [] }

  func testCommitRenamesAWholeFileIntoPlace() throws {
    let path = directory + "/out.bin"
    try AtomicOutputFile(path: path).commit([1, 2, 3])
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([1, 2, 3]))
    XCTAssertEqual(entries, ["out.bin"])
  }

  func testAFailedRenameLeavesNoTemporaryFile() throws {
    let path = directory + "/out.bin"
    let file = try AtomicOutputFile(path: path)
    // Something took the name after the check: a directory that rename cannot replace.
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    XCTAssertTrue(FileManager.default.createFile(atPath: path + "/inside", contents: Data()))
    XCTAssertThrowsError(try file.commit([1, 2, 3])) { error in
      XCTAssertTrue("\(error)".hasPrefix("cannot rename into \(path): "), "\(error)")
    }
    XCTAssertEqual(entries, ["out.bin"], "the temporary file is gone")
  }

  func testDiscardRemovesTheTemporaryFile() throws {
    let file = try AtomicOutputFile(path: directory + "/out.bin")
    XCTAssertEqual(entries.count, 1)
    file.discard()
    XCTAssertEqual(entries, [])
  }

  func testDestinationsThatAreNotFilesAreRefusedUpFront() throws {
    XCTAssertEqual(refusal(""), "cannot write \"\": the file name is empty")
    XCTAssertEqual(refusal(directory), "cannot write \(directory!): it is a directory")
    XCTAssertEqual(refusal(directory + "/missing/"), "cannot write \(directory!)/missing/: the name ends in /, not a file name")
    XCTAssertEqual(refusal("/dev/null"),
                   "cannot write /dev/null: not a regular file (prof writes a file whole and renames it into place); give a file name")
    XCTAssertEqual(refusal(directory + "/missing/out.bin"), "cannot write \(directory!)/missing/out.bin: No such file or directory")
    XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/plain", contents: Data()))
    XCTAssertEqual(refusal(directory + "/plain/out.bin"), "cannot write \(directory!)/plain/out.bin: Not a directory")
    XCTAssertEqual(entries, ["plain"], "nothing left behind")
    let strays = try FileManager.default.contentsOfDirectory(atPath: "/dev").filter { $0.hasPrefix(".null.") }
    XCTAssertEqual(strays, [])
  }

  func testASymlinkAtTheDestinationIsReplacedNotFollowed() throws {
    let target = directory + "/precious", link = directory + "/out.bin"
    XCTAssertTrue(FileManager.default.createFile(atPath: target, contents: Data("keep".utf8)))
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    try AtomicOutputFile(path: link).commit([1])
    XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "keep")
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: link)), Data([1]))
  }
}

final class FileContentsLimitTests: XCTestCase {
  func testAnEndlessFileStopsAtTheLimit() {
    XCTAssertThrowsError(try FileContents.read("/dev/zero", limit: 1 << 20)) { error in
      XCTAssertEqual("\(error)", "/dev/zero: larger than 1 MiB, prof's limit for one input file")
    }
  }

  func testARegularFileOverTheLimitIsRefusedUnread() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("limit-\(getpid())").path
    try Data(count: 100).write(to: URL(fileURLWithPath: path))
    defer { unlink(path) }
    XCTAssertThrowsError(try FileContents.read(path, limit: 99)) { error in
      XCTAssertEqual("\(error)", "\(path): larger than 99 bytes, prof's limit for one input file")
    }
    XCTAssertEqual(try FileContents.read(path, limit: 100).count, 100)
  }

  func testTheCheckEndsTheReadAsSoonAsItObjects() {
    var calls = 0
    XCTAssertThrowsError(try FileContents.read("/dev/zero", limit: 1 << 30) { _ in calls += 1; return "zeros" }) { error in
      XCTAssertEqual("\(error)", "/dev/zero: zeros")
    }
    XCTAssertEqual(calls, 1)
  }
}
