import HealthCheck
import KeepalivedConfig
import NIOPosix
import Testing

private let group = MultiThreadedEventLoopGroup.singleton

private func check(_ port: UInt16, _ regex: BodyRegex) async throws -> CheckResult {
    let settings = HTTPCheckSettings(connection: connection(port, timeout: .seconds(2)), urls: [URLCheck(path: "/", regex: regex)])
    return try await HTTPChecker(settings: settings, reactor: testReactor, group: group).check()
}

private func reason(_ r: CheckResult) -> String? {
    if case .failure(let why) = r { return why }
    return nil
}

@Suite("HTTP_GET regex with PCRE2, as keepalived's check_http.c")
struct RegexCheckTests {
    /// A body with a marker at a known offset: "status: " is 8 bytes, so `ok` starts at byte 8.
    static let body = "status: ok\nversion: 2.2.7\nBuild: Release\n"

    @Test("the url block's regex keywords reach the checker")
    func mapping() throws {
        let text = """
        virtual_server 192.0.2.1 80 {
            lb_kind DR
            real_server 198.51.100.1 80 {
                HTTP_GET {
                    url {
                        path /health
                        regex "^build: (debug|release)$"
                        regex_options caseless multiline
                        regex_no_match
                        regex_min_offset 4
                        regex_max_offset 100
                    }
                }
            }
        }
        """
        let loaded = ConfigLoader.parse(text: text, fileName: "regex.conf", options: LoadOptions(hostName: "test", checkScripts: false))
        #expect(!loaded.hasErrors, "\(loaded.errors)")
        let plan = LVSPlan(configuration: try #require(loaded.configuration))
        guard case .http(let h) = try #require(plan.allChecks.first).kind else { Issue.record("expected HTTP_GET"); return }
        let regex = try #require(h.urls.first?.regex)
        #expect(regex == BodyRegex(pattern: "^build: (debug|release)$", options: ["caseless", "multiline"], noMatch: true,
                                   minOffset: 4, maxOffset: 100))
    }

    @Test("a matching body passes; a body without the pattern fails and says which regex")
    func match() async throws {
        let server = try await TestServer.start(.http(status: 200, body: Self.body))
        defer { Task { await server.stop() } }
        #expect(try await check(server.port, BodyRegex(pattern: "version: 2\\.[0-9]+")) == .success(weight: nil))
        let miss = try await check(server.port, BodyRegex(pattern: "status: down"))
        #expect(reason(miss) == "HTTP /: body does not match regex `status: down`")
    }

    @Test("regex_options: caseless and multiline change what matches, as in PCRE2")
    func options() async throws {
        let server = try await TestServer.start(.http(status: 200, body: Self.body))
        defer { Task { await server.stop() } }
        #expect(try await !check(server.port, BodyRegex(pattern: "build: release")).isSuccess)
        #expect(try await check(server.port, BodyRegex(pattern: "build: release", options: ["caseless"])).isSuccess)
        #expect(try await !check(server.port, BodyRegex(pattern: "^version")).isSuccess)
        #expect(try await check(server.port, BodyRegex(pattern: "^version", options: ["multiline"])).isSuccess)
    }

    @Test("regex_min_offset / regex_max_offset bound where the match may start")
    func offsets() async throws {
        let server = try await TestServer.start(.http(status: 200, body: Self.body))
        defer { Task { await server.stop() } }
        #expect(try await check(server.port, BodyRegex(pattern: "ok", minOffset: 8, maxOffset: 8)).isSuccess)
        #expect(try await !check(server.port, BodyRegex(pattern: "ok", minOffset: 9)).isSuccess)
        #expect(try await !check(server.port, BodyRegex(pattern: "ok", maxOffset: 7)).isSuccess)
    }

    @Test("regex_no_match passes only when the body does not match")
    func noMatch() async throws {
        let server = try await TestServer.start(.http(status: 200, body: Self.body))
        defer { Task { await server.stop() } }
        #expect(try await check(server.port, BodyRegex(pattern: "error|panic", noMatch: true)).isSuccess)
        let hit = try await check(server.port, BodyRegex(pattern: "status: ok", noMatch: true))
        #expect(reason(hit) == "HTTP /: body matches regex `status: ok` (regex_no_match)")
    }

    @Test("a pattern PCRE2 refuses fails the check with PCRE2's message and offset")
    func invalid() async throws {
        let server = try await TestServer.start(.http(status: 200, body: Self.body))
        defer { Task { await server.stop() } }
        let r = try await check(server.port, BodyRegex(pattern: "(unclosed"))
        let why = try #require(reason(r))
        #expect(why.hasPrefix("HTTP /: regex `(unclosed` is invalid at offset 9: "))
        #expect(why.contains("missing closing parenthesis"))
    }

    @Test("the status code is still checked before the regex")
    func status() async throws {
        let server = try await TestServer.start(.http(status: 503, body: Self.body))
        defer { Task { await server.stop() } }
        #expect(reason(try await check(server.port, BodyRegex(pattern: "status"))) == "HTTP /: status 503 not accepted")
    }
}
