#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CVigilSystem
import Synchronization

/// The one event-loop design both halves run on (keepalived's scheduler design): a thread waiting
/// in one epoll set, which other threads hand work to through an inbox and a wake-up eventfd.
///
/// The checkers' `ProbeReactor` and the VRRP runtime's `VRRPEventLoop` each own one and add what
/// is theirs on top: the reactor a timer heap measured in `epoll_wait` timeouts and its probe
/// sockets; the VRRP loop a timerfd and its receive sockets, and the jobs of the actor it is the
/// executor of. The core knows nothing of either: descriptors are registered with a token (their
/// epoll data) that the owner dispatches on, and ``wakeToken`` marks the inbox's.
public final class EventLoopCore<Job: Sendable>: @unchecked Sendable {
    /// The epoll set (close-on-exec).
    private let epfd: Int32
    /// `eventfd` (non-blocking, close-on-exec) that wakes `epoll_wait` when work is posted.
    private let wakeFD: Int32
    private let inbox = Mutex<Inbox>(Inbox())

    private struct Inbox {
        var jobs: [Job] = []
        var stopping = false
    }

    /// The epoll data of the inbox's wake-ups; the owner's tokens must differ from it.
    public static var wakeToken: UInt64 { .max }

    /// Creates the epoll set with the wake-up channel registered; the owner starts the thread.
    public init() throws(SystemCallError) {
        var e: Int32 = -1, w: Int32 = -1
        try systemCall("epoll_create1/eventfd") { vigil_epoll_with_wakeup(&e, &w, Self.wakeToken) }
        epfd = e
        wakeFD = w
    }

    // MARK: Any thread

    /// Queues `job` for the loop thread and wakes it. Once a stop was asked, a job is refused
    /// (false) unless `afterStop`: an executor's jobs must still run while it drains.
    @discardableResult
    public func post(_ job: Job, afterStop: Bool = false) -> Bool {
        let accepted = inbox.withLock { state -> Bool in
            guard afterStop || !state.stopping else { return false }
            state.jobs.append(job)
            return true
        }
        if accepted { wake() }
        return accepted
    }

    /// Asks the loop to stop; ``takeJobs()`` reports it with the jobs queued before.
    public func requestStop() {
        inbox.withLock { $0.stopping = true }
        wake()
    }

    /// Makes the loop's `epoll_wait` return with a ``wakeToken`` event.
    public func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: Loop thread

    /// After a ``wakeToken`` event: resets the wake-up channel and hands over the jobs queued
    /// so far, and whether a stop was asked.
    public func takeJobs() -> (jobs: [Job], stopping: Bool) {
        var counter: UInt64 = 0
        _ = read(wakeFD, &counter, 8)
        return inbox.withLock { state in
            defer { state.jobs.removeAll(keepingCapacity: true) }
            return (state.jobs, state.stopping)
        }
    }

    /// True when no job waits in the inbox.
    public var inboxIsEmpty: Bool { inbox.withLock { $0.jobs.isEmpty } }

    /// Watches `fd` for `events` (`EPOLLIN`, `EPOLLOUT`, `EPOLLET`, ...), reported with `token`.
    public func add(_ fd: Int32, events: UInt32, token: UInt64) throws(SystemCallError) {
        var ev = epoll_event()
        ev.events = events
        ev.data.u64 = token
        _ = try systemCall("epoll_ctl") { epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) }
    }

    /// Stops watching `fd` (closing it does too).
    public func remove(_ fd: Int32) {
        _ = epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nil)
    }

    /// Waits up to `timeout` ms (-1: until an event) and fills `events`; the number filled, 0 on
    /// a timeout or an interrupted wait.
    public func wait(_ events: inout [epoll_event], timeout: Int32) -> Int {
        let n = events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, Int32($0.count), timeout) }
        return max(0, Int(n))
    }

    /// Closes the epoll set and the wake-up channel: the loop thread's last act.
    public func closeDescriptors() {
        close(wakeFD)
        close(epfd)
    }
}
