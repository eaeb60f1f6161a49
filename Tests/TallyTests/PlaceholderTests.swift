import Testing
@testable import Tally

@Test func errorHasExitCode() { #expect(TallyError.notFound(key: "a").exitCode == 2) }
