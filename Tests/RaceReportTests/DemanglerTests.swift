import Testing

@testable import RaceReport

@Suite struct DemanglerTests {
  let demangler = SwiftRuntimeDemangler()

  @Test(arguments: [
    ("$s4racy4bumpyyF", "racy.bump()"),
    (
      "$s4racy0A13GlobalCounteryyFSuSiXEfU_yyYbcfU_",
      "closure #1 in closure #1 in racy.racyGlobalCounter()"
    ),
    (
      "$s4racy0A5TasksyyYaFyScGyytGzYaXEfU_yyYacfU_TY0_",
      "closure #1 in closure #1 in racy.racyTasks() async"
    ),
    ("$s4racy5TallyO5countSivpZ", "static racy.Tally.count"),
    ("$s4racy5spawnySuSS_yyYbctF", "racy.spawn(Swift.String, @Sendable () -> ())"),
  ])
  func demanglesAndShortensSwiftNames(symbol: String, name: String) {
    #expect(demangler.demangle(symbol) == name)
  }

  @Test func leavesOtherNamesAlone() {
    #expect(demangler.demangle("pthread_create") == nil)
    #expect(demangler.demangle("swift::runJobInEstablishedExecutorContext(swift::Job*)") == nil)
  }

  @Test func demanglesQuotedNamesInTitles() throws {
    let report = try Resources.log("counter").reports[0].demangled(by: demangler)
    #expect(report.blocks[2].title.hasPrefix("Location is global 'racy.counter' of size 8"))
    #expect(report.blocks[0].frames[0].function == "racy.bump()")
    #expect(report.blocks[3].frames[0].function == "pthread_create")
  }
}
