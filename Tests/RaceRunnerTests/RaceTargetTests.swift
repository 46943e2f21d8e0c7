import Testing

@testable import RaceRunner

@Suite struct RaceTargetTests {
  func choose(
    packagePath: String? = nil, filter: String? = nil, scratchPath: String? = nil, _ words: [String]
  ) -> RaceTarget {
    RaceTarget.choose(
      packagePath: packagePath, filter: filter, scratchPath: scratchPath, words: words,
      currentDirectory: "/home/me/app")
  }

  @Test func testsThePackageInTheCurrentDirectoryByDefault() {
    #expect(
      choose([]).arguments == [
        "swift", "test", "--package-path", "/home/me/app", "--sanitize=thread",
        "--scratch-path", "/home/me/app/.build/prof-race",
      ])
  }

  @Test func passesFilterScratchPathAndExtraArguments() {
    let target = choose(
      packagePath: "../lib/.", filter: "CacheTests", scratchPath: "tsan-build", ["--parallel"])
    #expect(
      target.arguments == [
        "swift", "test", "--package-path", "/home/me/lib", "--sanitize=thread",
        "--scratch-path", "/home/me/app/tsan-build", "--filter", "CacheTests", "--parallel",
      ])
    #expect(target.sourceRoot(currentDirectory: "/home/me/app") == "/home/me/lib")
  }

  @Test func wordsAfterTheTerminatorAreACommandUnlessTheyLookLikeOptions() {
    #expect(
      choose([".build/debug/app", "--port", "8080"])
        == .command([".build/debug/app", "--port", "8080"]))
    #expect(choose(["-Xswiftc", "-g"]).arguments.suffix(2) == ["-Xswiftc", "-g"])
    #expect(choose(packagePath: ".", ["app"]).arguments.last == "app")
  }
}
