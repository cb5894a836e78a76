import Foundation
import KeepalivedConfig
import Testing

/// Each file in Fixtures/config/invalid states its expected diagnostic on line 1:
/// `# expect: FILE:LINE:COL: error: MESSAGE`, FILE relative to that directory.
@Suite struct InvalidConfigurationTests {
    static let fixtures = Fixtures.files(in: "invalid", suffix: ".conf")

    @Test func thereAreAtLeastThirtyInvalidFixtures() {
        #expect(Self.fixtures.count >= 30)
    }

    @Test(arguments: fixtures)
    func reportsTheExpectedError(_ name: String) throws {
        let text = try String(contentsOfFile: Fixtures.path("invalid/" + name), encoding: .utf8)
        let header = try #require(text.split(separator: "\n").first)
        let prefix = "# expect: "
        try #require(header.hasPrefix(prefix), "fixture \(name) lacks an expect header")
        let expected = String(header.dropFirst(prefix.count))

        let result = Fixtures.load("invalid/" + name)
        let dir = Fixtures.configDirectory + "/invalid/"
        let rendered = result.diagnostics.map { d in
            var copy = d
            copy.file = d.file.hasPrefix(dir) ? String(d.file.dropFirst(dir.count)) : d.file
            copy.message = copy.message.replacingOccurrences(of: dir, with: "")
            return copy.description
        }
        #expect(rendered.contains(expected), "got:\n\(rendered.joined(separator: "\n"))")
        #expect(result.configuration == nil, "an invalid configuration must not resolve")
        #expect(result.hasErrors)
    }
}
