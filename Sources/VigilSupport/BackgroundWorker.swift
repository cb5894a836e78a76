#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A thread of its own at the lowest CPU priority (nice 19) that runs blocking jobs one at a
/// time, for work that can wait for an idle CPU but must not take it from the health checks.
///
/// Vigil's periodic drift repair runs here: re-reading a table of thousands of destinations over
/// netlink and diffing it costs a tenth of a second of CPU, and on a busy CPU the scheduler would
/// otherwise give that tenth to the newly woken reader ahead of the checkers' loop, which then
/// starts every check due in that time late. At nice 19 the reader runs in the CPU's idle time
/// and yields to normal-priority threads at once.
///
/// On Linux a nice value belongs to a thread (`setpriority(PRIO_PROCESS, 0, …)` changes only the
/// calling thread under NPTL), so nothing else in the process is lowered. Lowering needs no
/// privilege. The thread lives as long as the worker and exits when it is released.
public final class BackgroundWorker: Sendable {
    /// The nice value of the worker's thread (`PRIO_MAX - 1` in `<sys/resource.h>`).
    public static let niceValue: Int32 = 19

    private final class Queue: Sendable {
        let state = Mutex<(jobs: [@Sendable () -> Void], stopping: Bool)>(([], false))
        /// A pipe the thread blocks on while it has nothing to do: it reads the read end, a post
        /// writes a byte to the write end.
        let readFD: Int32
        let writeFD: Int32

        init(pipe fds: (Int32, Int32)) { (readFD, writeFD) = fds }

        func post(_ job: (@Sendable () -> Void)?) {
            state.withLock { s in
                if let job { s.jobs.append(job) } else { s.stopping = true }
            }
            var byte: UInt8 = 1
            _ = write(writeFD, &byte, 1)
        }

        func run() {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, BackgroundWorker.niceValue)
            while true {
                var bytes = (UInt64(0), UInt64(0))
                _ = try? systemCall("read(pipe)") { withUnsafeMutableBytes(of: &bytes) { read(readFD, $0.baseAddress, $0.count) } }
                let (jobs, stop) = state.withLock { s in
                    defer { s.jobs.removeAll(keepingCapacity: true) }
                    return (s.jobs, s.stopping)
                }
                for job in jobs { job() }
                if stop { break }
            }
            close(readFD)
            close(writeFD)
        }
    }

    private let queue: Queue

    /// Starts the thread, named `name` (at most 15 bytes are shown by `top -H` and `ps -L`).
    public init(name: String) throws(SystemCallError) {
        var fds: [Int32] = [-1, -1]
        try systemCall("pipe") { pipe(&fds) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let queue = Queue(pipe: (fds[0], fds[1]))
        do {
            try startDetachedThread(name: name) { queue.run() }
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        self.queue = queue
    }

    deinit { queue.post(nil) }

    /// Runs `body` on the worker's thread and returns its result. Jobs run in the order posted.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            queue.post { c.resume(with: Result { try body() }) }
        }
    }

    /// CPU time the worker's thread has used so far (`CLOCK_THREAD_CPUTIME_ID`), its jobs'
    /// system calls included.
    public func cpuTime() async throws -> Duration {
        try await run {
            var ts = timespec()
            try systemCall("clock_gettime(CLOCK_THREAD_CPUTIME_ID)") { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) }
            return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
        }
    }

    /// The nice value of the worker's thread as the kernel reports it (for tests and status).
    public func currentNice() async throws -> Int32 {
        try await run {
            errno = 0
            let n = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            if n == -1 && errno != 0 { throw SystemCallError(call: "getpriority", errno: .current) }
            return n
        }
    }
}
