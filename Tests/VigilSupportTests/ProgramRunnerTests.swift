#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import VigilSupport

@Suite("Program runner (every script kind)")
struct ProgramRunnerTests {
    @Test func reportsExitStatusSignalAndFailureToStart() async {
        #expect(await ProgramRunner.run(["/bin/sh", "-c", "exit 3"], timeout: .seconds(5)) == .exited(3))
        #expect(await ProgramRunner.run(["/bin/true"], timeout: nil) == .exited(0))
        #expect(await ProgramRunner.run(["/bin/sh", "-c", "kill -9 $$"], timeout: .seconds(5)) == .signaled(9))
        guard case .failedToStart = await ProgramRunner.run(["/nonexistent/script"], timeout: nil) else {
            Issue.record("a missing program must not count as started")
            return
        }
        guard case .failedToStart = await ProgramRunner.run(["/bin/true"], user: "no-such-user-vigil", timeout: nil) else {
            Issue.record("an unknown user must not run the script as root")
            return
        }
    }

    @Test("a script inherits none of the daemon's descriptors, close-on-exec or not")
    func inheritsNoDescriptors() async throws {
        // As SwiftNIO's sockets are: open without O_CLOEXEC.
        let fd = open("/dev/null", O_RDONLY)
        try #require(fd > 2)
        defer { close(fd) }
        #expect(await ProgramRunner.run(["/bin/sh", "-c", "[ ! -e /proc/self/fd/\(fd) ]"], timeout: .seconds(5)) == .exited(0))
    }

    @Test func aTimeoutKillsTheWholeProcessGroup() async throws {
        let marker = "/tmp/vigil-runner-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(marker) }
        // The script's child would write the marker after 1 s unless the timeout kills it too.
        let outcome = await ProgramRunner.run(["/bin/sh", "-c", "(sleep 1; touch \(marker)) & sleep 30"], timeout: .milliseconds(200))
        #expect(outcome == .timedOut(.milliseconds(200)))
        try await Task.sleep(for: .milliseconds(1500))
        #expect(access(marker, F_OK) != 0, "the script's background child outlived the timeout")
    }

    @Test func passesTheEnvironmentWithExtras() async {
        setenv("VIGIL_RUNNER_INHERITED", "yes", 1)
        let outcome = await ProgramRunner.run(
            ["/bin/sh", "-c", #"[ "$VIGIL_RUNNER_INHERITED" = yes ] && [ "$VIGIL_RUNNER_EXTRA" = 42 ]"#],
            timeout: .seconds(5), extraEnvironment: ["VIGIL_RUNNER_EXTRA": "42"])
        #expect(outcome == .exited(0))
    }
}
