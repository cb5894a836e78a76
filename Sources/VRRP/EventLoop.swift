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
    /// The epoll set, the wake-up channel and the inbox of the runtime actor's jobs.
    private let core: EventLoopCore<UnownedJob>
    private let timerFD: Int32
    /// The loop thread's `pthread_t`, 0 until it runs.
    private let threadID = Atomic<UInt>(0)
    // Loop-thread state.
    private var handlers: [Int32: () -> Void] = [:]
    private var onTimer: (() -> Void)?

    /// Epoll token of the timerfd (the inbox's is ``EventLoopCore/wakeToken``; socket tokens are
    /// their descriptors).
    private static let timerToken = UInt64.max - 1

    /// Starts the loop thread.
    init() throws(SystemCallError) {
        core = try EventLoopCore()
        do throws(SystemCallError) {
            // CLOCK_BOOTTIME: the clock Swift's ContinuousClock reads on Linux.
            timerFD = try systemCall("timerfd_create") {
                timerfd_create(CLOCK_BOOTTIME, Int32(TFD_CLOEXEC) | Int32(TFD_NONBLOCK))
            }
        } catch {
            core.closeDescriptors()
            throw error
        }
        do throws(SystemCallError) {
            try core.add(timerFD, events: EPOLLIN.rawValue, token: Self.timerToken)
            try startDetachedThread(name: "vigil-vrrp") { self.run() }
        } catch {
            close(timerFD)
            core.closeDescriptors()
            throw error
        }
    }

    // MARK: SerialExecutor

    func enqueue(_ job: consuming ExecutorJob) {
        core.post(UnownedJob(job), afterStop: true)
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
        core.requestStop()
    }

    // MARK: Loop thread

    /// Calls `handler` whenever `fd` is readable. Loop thread only.
    func watch(_ fd: Int32, _ handler: @escaping () -> Void) {
        guard (try? core.add(fd, events: EPOLLIN.rawValue, token: UInt64(UInt32(bitPattern: fd)))) != nil else { return }
        handlers[fd] = handler
    }

    /// Stops watching `fd`. Loop thread only.
    func unwatch(_ fd: Int32) {
        guard handlers.removeValue(forKey: fd) != nil else { return }
        core.remove(fd)
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
            let n = core.wait(&events, timeout: -1)
            for i in 0..<n {
                switch events[i].data.u64 {
                case EventLoopCore<UnownedJob>.wakeToken:
                    let (jobs, stopping) = core.takeJobs()
                    for job in jobs { job.runSynchronously(on: asUnownedSerialExecutor()) }
                    if stopping && core.inboxIsEmpty { running = false }
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
        core.closeDescriptors()
    }
}
