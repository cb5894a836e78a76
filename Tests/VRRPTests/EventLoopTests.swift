#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import VRRP

/// An actor on the VRRP event loop, as the runtime is.
private actor OnLoop {
    nonisolated let loop: VRRPEventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    var events: [String] = []

    init() throws { loop = try VRRPEventLoop() }
    deinit { loop.stop() }

    func record(_ event: String) { events.append(event) }
    func onLoopThread() -> Bool { loop.isLoopThread }

    func armTimer(after delay: Duration) {
        loop.setTimerHandler { [weak self] in self?.assumeIsolated { $0.record("timer") } }
        loop.setTimer(at: VRRPEventLoop.bootTime + delay)
    }

    func watch(_ fd: Int32) {
        loop.watch(fd) { [weak self] in
            var byte: UInt8 = 0
            _ = read(fd, &byte, 1)
            self?.assumeIsolated { $0.record("read \(byte)") }
        }
    }

    func unwatch(_ fd: Int32) { loop.unwatch(fd) }
    func disarm() { loop.setTimer(at: nil) }
}

@Suite("VRRP event loop")
struct EventLoopTests {
    private func wait(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return await condition()
    }

    @Test("the runtime's jobs, its timer and its sockets all run on the loop's own thread")
    func jobsTimerAndSockets() async throws {
        let actor = try OnLoop()
        #expect(await actor.onLoopThread(), "actor jobs run on the loop thread")
        #expect(actor.loop.isLoopThread == false, "the test's own thread is not the loop")

        let start = ContinuousClock.now
        await actor.armTimer(after: .milliseconds(50))
        #expect(await wait(2) { await actor.events.contains("timer") })
        #expect(ContinuousClock.now - start >= .milliseconds(50), "the timer does not fire early")

        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        await actor.watch(fds[0])
        var byte: UInt8 = 7
        _ = write(fds[1], &byte, 1)
        #expect(await wait(2) { await actor.events.contains("read 7") })
        await actor.unwatch(fds[0])
        byte = 8
        _ = write(fds[1], &byte, 1)
        try await Task.sleep(for: .milliseconds(100))
        #expect(await actor.events.contains("read 8") == false, "an unwatched descriptor is not read")
    }

    @Test("a timer re-armed before it expires fires once, at the new time; disarmed, never; past, at once")
    func rearmAndDisarm() async throws {
        let actor = try OnLoop()
        await actor.armTimer(after: .seconds(30))
        await actor.armTimer(after: .milliseconds(20))
        #expect(await wait(2) { await actor.events == ["timer"] })
        await actor.armTimer(after: .milliseconds(50))
        await actor.disarm()
        try await Task.sleep(for: .milliseconds(200))
        #expect(await actor.events == ["timer"])
        await actor.armTimer(after: .milliseconds(-5))
        #expect(await wait(2) { await actor.events == ["timer", "timer"] }, "a deadline already past fires at once")
    }
}
