import Testing

@testable import RaceReport

@Suite struct FindingTests {
  @Test func mergesTheReportsOfOneRace() throws {
    // TSan reports the property race three times: as a Swift access race and a data race,
    // with the racing threads in either order.
    let analysis = try Resources.analysis("property")
    #expect(analysis.reportCount == 3)
    #expect(analysis.findings.count == 1)
    let finding = analysis.findings[0]
    #expect(finding.occurrences == 3)
    #expect(finding.kinds == ["Swift access race", "data race"])
    #expect(finding.location == "heap block of size 24 allocated by main thread")
    #expect(
      finding.stacks.map { $0.top?.function } == [
        "closure #1 in racy.racyProperty()", "closure #1 in racy.racyProperty()",
      ])
  }

  @Test func mergesAcrossProcesses() throws {
    let analysis = try Resources.analysis("counter", "counter", "tasks")
    #expect(analysis.findings.map(\.occurrences) == [2, 1])
  }

  @Test func fillsTheLineTSanLeftOutOfASwiftAccess() throws {
    let finding = try Resources.analysis("counter").findings[0]
    let top = try #require(finding.stacks[0].top)
    #expect(top.function == "racy.bump()")
    #expect(top.file == "/work/wt-race/fixtures/race/Sources/racy/Racy.swift")
    #expect(top.line == 10)
    #expect(top.column == 11)
  }

  @Test func namesThreadsAndWhereTheyWereCreated() throws {
    let finding = try Resources.analysis("counter").findings[0]
    #expect(
      finding.stacks.map(\.title) == [
        "Modifying access of Swift variable by thread T2 'bumper-1'",
        "Previous write of size 1 by thread T1 'bumper-0'",
      ])
    let thread = try #require(finding.stacks[0].thread)
    #expect(thread.createdBy == "main thread")
    let site = try #require(thread.creationSite)
    #expect(site.function == "racy.spawn(Swift.String, @Sendable () -> ())")
    #expect(site.line == 18)
  }

  @Test func ordersFindingsBySourcePosition() throws {
    let forward = try Resources.analysis("tasks", "leak", "counter", "property")
    let backward = try Resources.analysis("property", "counter", "leak", "tasks")
    #expect(forward.findings == backward.findings)
  }

  @Test func runtimeFramesAreNotTheUsers() throws {
    let stack = try Resources.analysis("property").findings[0].stacks[1]
    #expect(
      stack.frames.filter(\.isUserCode).map(\.function) == [
        "closure #1 in racy.racyProperty()"
      ])
  }
}
