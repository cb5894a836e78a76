import Foundation
import HealthCheck
import Testing

@Suite("MISC_CHECK runs programs")
struct MiscCheckTests {
    let scratch = Scratch()

    func run(_ body: String, dynamic: Bool = false, timeout: Duration = .seconds(5), args: [String] = [], user: String? = nil) async -> CheckResult {
        let path = scratch.script("s\(UUID().uuidString.prefix(8))", body)
        return await MiscChecker(settings: MiscCheckSettings(arguments: [path] + args, timeout: timeout, dynamic: dynamic, user: user)).check()
    }

    @Test("exit 0 is up, any other exit is down", arguments: [0, 1, 2, 3, 127, 255])
    func plain(code: Int) async {
        let r = await run("exit \(code)")
        #expect(r.isSuccess == (code == 0))
    }

    @Test("misc_dynamic: 0 up unchanged, 1 down, 2–255 up with weight code − 2", arguments: [0, 1, 2, 3, 42, 255])
    func dynamic(code: Int) async {
        let r = await run("exit \(code)", dynamic: true)
        switch code {
        case 0: #expect(r == .success(weight: nil))
        case 1: #expect(!r.isSuccess)
        default: #expect(r == .success(weight: UInt32(code - 2)))
        }
    }

    @Test("a hanging program is terminated at misc_timeout and counts as down")
    func hanging() async {
        let start = ContinuousClock.now
        let r = await run("exec sleep 30", timeout: .milliseconds(300))
        #expect(!r.isSuccess)
        // Far below the program's own 30 s; the margin allows for a heavily loaded test machine.
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test("a program ignoring SIGTERM is killed 2 s later")
    func ignoresTerm() async {
        let start = ContinuousClock.now
        let r = await run("trap '' TERM\nsleep 30", timeout: .milliseconds(200))
        #expect(!r.isSuccess)
        let took = ContinuousClock.now - start
        #expect(took >= .seconds(2) && took < .seconds(20))
    }

    @Test("arguments reach the program verbatim, with no shell interpolation")
    func noShell() async throws {
        let out = "\(scratch.path)/out"
        let tricky = "$(touch \(scratch.path)/pwned); `id`"
        let r = await run("printf '%s' \"$1\" > \"$2\"", args: [tricky, out])
        #expect(r.isSuccess)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == tricky)
        #expect(!FileManager.default.fileExists(atPath: "\(scratch.path)/pwned"))
    }

    @Test("runs as the configured user", .enabled(if: getuid() == 0, "needs root to switch user"))
    func asUser() async {
        let r = await run("[ \"$(id -un)\" = nobody ]", user: "nobody")
        #expect(r.isSuccess)
        let unknown = await run("exit 0", user: "no-such-user-vigil")
        #expect(!unknown.isSuccess)
    }

    @Test("a missing program is down with the reason")
    func missing() async {
        let r = await MiscChecker(settings: MiscCheckSettings(arguments: ["/nonexistent/check"])).check()
        guard case .failure(let why) = r else { Issue.record("expected failure"); return }
        #expect(why.contains("/nonexistent/check"))
    }
}
