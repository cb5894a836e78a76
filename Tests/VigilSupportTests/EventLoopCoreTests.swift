#if canImport(Glibc)
import Glibc
#endif
import CVigilSystem
import Synchronization
import Testing
import VigilSupport

@Suite("The event-loop core both halves run on")
struct EventLoopCoreTests {
    @Test("jobs posted from other threads arrive in order with a wake-up; a stop refuses later jobs unless afterStop")
    func inbox() throws {
        let core = try EventLoopCore<Int>()
        defer { core.closeDescriptors() }
        var events = [epoll_event](repeating: epoll_event(), count: 8)
        #expect(core.wait(&events, timeout: 0) == 0, "nothing posted: no event")
        let poster = Thread { for i in 1...3 { core.post(i) } }
        poster.join()
        #expect(core.wait(&events, timeout: 1000) == 1)
        #expect(events[0].data.u64 == EventLoopCore<Int>.wakeToken)
        let (jobs, stopping) = core.takeJobs()
        #expect(jobs == [1, 2, 3] && !stopping)
        #expect(core.wait(&events, timeout: 0) == 0, "taking the jobs reset the wake-up channel")

        core.requestStop()
        #expect(!core.post(4), "refused once stopping")
        #expect(core.post(5, afterStop: true), "an executor's job still queues")
        #expect(core.wait(&events, timeout: 1000) == 1)
        let (late, stopped) = core.takeJobs()
        #expect(late == [5] && stopped && core.inboxIsEmpty)
    }

    @Test("a watched descriptor is reported with its owner's token until removed")
    func descriptors() throws {
        let core = try EventLoopCore<Int>()
        defer { core.closeDescriptors() }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        try core.add(fds[0], events: EPOLLIN.rawValue, token: 42)
        var byte: UInt8 = 1
        #expect(write(fds[1], &byte, 1) == 1)
        var events = [epoll_event](repeating: epoll_event(), count: 8)
        #expect(core.wait(&events, timeout: 1000) == 1 && events[0].data.u64 == 42)
        core.remove(fds[0])
        #expect(core.wait(&events, timeout: 0) == 0, "removed: no longer reported")
        #expect(throws: SystemCallError.self) { try core.add(-1, events: EPOLLIN.rawValue, token: 1) }
    }
}

/// A started and joinable pthread for a test body.
private final class Thread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: () -> Void

    init(_ body: @escaping () -> Void) {
        self.body = body
        let unmanaged = Unmanaged.passRetained(self)
        pthread_create(&handle, nil, { raw in
            let me = Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, unmanaged.toOpaque())
    }

    func join() { pthread_join(handle, nil) }
}
