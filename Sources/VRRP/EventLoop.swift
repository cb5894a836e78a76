#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CVigilSystem
import Synchronization
import VigilSupport

/// The VRRP runtime's own thread: one epoll loop that runs the runtime actor's jobs, its timer
/// (a timerfd) and its receive sockets — keepalived's scheduler design. A master-down timeout
/// or an advertisement reaches the state machine, and the takeover's packets leave, without a
/// hop through the task pool; those hops cost a new master about half a millisecond.
///
/// It is the runtime actor's serial executor. Timer and socket handlers run on the loop thread
/// outside any job and enter the actor isolated (the runtime's `onLoop`, which checks
/// ``isLoopThread``); ``checkIsolated()`` allows `assumeIsolated` on this thread too.
final class VRRPEventLoop: SerialExecutor, @unchecked Sendable {
    private let epfd: Int32
    /// `eventfd` that wakes `epoll_wait` when jobs are enqueued or the loop should stop.
    private let wakeFD: Int32
    private let timerFD: Int32
    private let inbox = Mutex<(jobs: [UnownedJob], stopping: Bool)>(([], false))
    /// The loop thread's `pthread_t`, 0 until it runs.
    private let threadID = Atomic<UInt>(0)
    // Loop-thread state.
    private var handlers: [Int32: () -> Void] = [:]
    private var onTimer: (() -> Void)?

    /// Epoll token of the wake-up eventfd and of the timerfd (socket tokens are their descriptors).
    private static let wakeToken = UInt64.max
    private static let timerToken = UInt64.max - 1

    /// Starts the loop thread.
    init() throws(SystemCallError) {
        var e: Int32 = -1, w: Int32 = -1
        try systemCall("epoll_create1/eventfd") { vigil_epoll_with_wakeup(&e, &w, Self.wakeToken) }
        epfd = e
        wakeFD = w
        do throws(SystemCallError) {
            // CLOCK_BOOTTIME: the clock Swift's ContinuousClock reads on Linux.
            timerFD = try systemCall("timerfd_create") {
                timerfd_create(CLOCK_BOOTTIME, Int32(TFD_CLOEXEC) | Int32(TFD_NONBLOCK))
            }
        } catch {
            close(wakeFD)
            close(epfd)
            throw error
        }
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue
        ev.data.u64 = Self.timerToken
        _ = epoll_ctl(epfd, EPOLL_CTL_ADD, timerFD, &ev)
        do throws(SystemCallError) {
            try startDetachedThread(name: "vigil-vrrp") { self.run() }
        } catch {
            close(timerFD)
            close(wakeFD)
            close(epfd)
            throw error
        }
    }

    // MARK: SerialExecutor

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        inbox.withLock { $0.jobs.append(unowned) }
        wake()
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Isolation holds on the loop thread: handlers run there between jobs, never beside one.
    func checkIsolated() {
        precondition(isLoopThread, "VRRP runtime entered off its event loop thread")
    }

    /// True on the loop's own thread.
    var isLoopThread: Bool { threadID.load(ordering: .acquiring) == UInt(pthread_self()) }

    /// Lets the thread exit once the jobs queued so far have run. Its owner calls this when no
    /// more jobs can come (the runtime's deinit): a job enqueued afterwards would never run.
    func stop() {
        inbox.withLock { $0.stopping = true }
        wake()
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: Loop thread

    /// Calls `handler` whenever `fd` is readable. Loop thread only.
    func watch(_ fd: Int32, _ handler: @escaping () -> Void) {
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue
        ev.data.u64 = UInt64(UInt32(bitPattern: fd))
        if epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 { handlers[fd] = handler }
    }

    /// Stops watching `fd`. Loop thread only.
    func unwatch(_ fd: Int32) {
        guard handlers.removeValue(forKey: fd) != nil else { return }
        _ = epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nil)
    }

    /// What runs when the timer expires. Loop thread only.
    func setTimerHandler(_ handler: @escaping () -> Void) {
        onTimer = handler
    }

    /// Time since boot on CLOCK_BOOTTIME, the clock of the loop's timer.
    static var bootTime: Duration {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
    }

    /// Arms the timer to expire at `deadline` on ``bootTime``'s clock (at once when it has passed),
    /// or disarms it with nil. An absolute deadline: the time spent computing it does not delay it.
    /// Loop thread only.
    func setTimer(at deadline: Duration?) {
        var spec = itimerspec()
        if let deadline {
            let (seconds, attoseconds) = deadline.components
            spec.it_value.tv_sec = Int(max(0, seconds))
            spec.it_value.tv_nsec = seconds < 0 ? 0 : Int(attoseconds / 1_000_000_000)
            // Zero would disarm the timer; any time before now expires it at once.
            if spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0 { spec.it_value.tv_nsec = 1 }
        }
        _ = timerfd_settime(timerFD, Int32(TFD_TIMER_ABSTIME), &spec, nil)
    }

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        var running = true
        while running {
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, Int32($0.count), -1) }
            guard n > 0 else { continue }
            for i in 0..<Int(n) {
                switch events[i].data.u64 {
                case Self.wakeToken:
                    var counter: UInt64 = 0
                    _ = read(wakeFD, &counter, 8)
                    let (jobs, stopping) = inbox.withLock { state in
                        defer { state.jobs.removeAll(keepingCapacity: true) }
                        return (state.jobs, state.stopping)
                    }
                    for job in jobs { job.runSynchronously(on: asUnownedSerialExecutor()) }
                    if stopping && inbox.withLock({ $0.jobs.isEmpty }) { running = false }
                case Self.timerToken:
                    var expirations: UInt64 = 0
                    if read(timerFD, &expirations, 8) == 8 { onTimer?() }
                case let token:
                    handlers[Int32(truncatingIfNeeded: token)]?()
                }
            }
        }
        handlers = [:]
        onTimer = nil
        close(timerFD)
        close(wakeFD)
        close(epfd)
    }
}
