#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CVigilSystem
import Synchronization

/// How a program run ended.
public enum ProgramOutcome: Sendable, Hashable {
    case exited(Int32)
    case signaled(Int32)
    case timedOut(Duration)
    case failedToStart(String)
}

/// Why a program did not start.
public struct ProgramStartError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A long-running program started by ``ProgramRunner/start(_:user:group:extraEnvironment:)``.
public final class RunningProgram: Sendable {
    public let pid: Int32
    private let ended: Task<ProgramOutcome, Never>
    private let exitFlag: ExitFlag

    private final class ExitFlag: Sendable {
        let value = Mutex(false)
    }

    init(pid: pid_t) {
        self.pid = pid
        let flag = ExitFlag()
        self.exitFlag = flag
        ended = Task.detached {
            let outcome = await ProgramRunner.waitExit(pid, until: nil) ?? .failedToStart("waitpid gave up")
            flag.value.withLock { $0 = true }
            return outcome
        }
    }

    private var exited: Bool { exitFlag.value.withLock { $0 } }

    /// How it ended, once it has.
    public var outcome: ProgramOutcome { get async { await ended.value } }

    /// Ends it as a timeout does (SIGTERM to its process group, SIGKILL after the grace) and
    /// waits; `patience` first gives it that long to end by itself (a reader that saw end of file).
    @discardableResult
    public func stop(patience: Duration = .zero) async -> ProgramOutcome {
        let deadline = ContinuousClock.now.advanced(by: patience)
        while !exited && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if exited { return await ended.value }
        kill(-pid, SIGTERM)
        kill(pid, SIGTERM)
        let ended = self.ended
        let killer = Task { [pid] in
            try? await Task.sleep(for: ProgramRunner.killGrace)
            guard !Task.isCancelled else { return }
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        let outcome = await ended.value
        killer.cancel()
        return outcome
    }
}

/// Runs programs without a shell, in their own process group, optionally as another user
/// (through util-linux `setpriv`, so no code runs between fork and exec in this process).
///
/// The one runner for every script kind: MISC_CHECK, notify_up/down and quorum scripts, vrrp_script
/// and VRRP notify scripts. Standard input, output and error are `/dev/null`; the environment is
/// this process's plus `extraEnvironment`. On timeout the whole process group gets SIGTERM, then
/// SIGKILL after ``killGrace`` (as keepalived).
public enum ProgramRunner {
    /// Grace between SIGTERM and SIGKILL (keepalived: 2 s).
    public static let killGrace: Duration = .seconds(2)

    /// Runs `arguments` (program first) and waits for it; `timeout` nil waits without limit.
    ///
    /// `user` (with an optional `group`, else the user's own) runs it as that user with the user's
    /// supplementary groups; an unknown user or group does not start it.
    ///
    /// Cancelling the calling task does not cut the run short: the program still ends by itself or
    /// by the timeout (a cancelled caller's sleeps would otherwise return at once and the wait spin).
    public static func run(_ arguments: [String], user: String? = nil, group: String? = nil,
                           timeout: Duration?, extraEnvironment: [String: String] = [:]) async -> ProgramOutcome {
        await Task.detached {
            await runToEnd(arguments, user: user, group: group, timeout: timeout, extraEnvironment: extraEnvironment)
        }.value
    }

    /// Starts `arguments` as ``run(_:user:group:timeout:extraEnvironment:)`` does and returns at
    /// once; the program runs until it exits or ``RunningProgram/stop()`` ends its process group.
    public static func start(_ arguments: [String], user: String? = nil, group: String? = nil,
                             extraEnvironment: [String: String] = [:]) async -> Result<RunningProgram, ProgramStartError> {
        switch await launch(arguments, user: user, group: group, extraEnvironment: extraEnvironment) {
        case .success(let pid): .success(RunningProgram(pid: pid))
        case .failure(let e): .failure(e)
        }
    }

    /// Spawns `arguments` (through `setpriv` for another user), retrying `ETXTBSY`.
    private static func launch(_ arguments: [String], user: String?, group: String?,
                               extraEnvironment: [String: String]) async -> Result<pid_t, ProgramStartError> {
        guard let program = arguments.first, !program.isEmpty else { return .failure(ProgramStartError("empty command")) }
        var argv = arguments
        if let user {
            guard let pw = getpwnam(user) else { return .failure(ProgramStartError("unknown user \(user)")) }
            var gid = pw.pointee.pw_gid
            if let group {
                guard let gr = getgrnam(group) else { return .failure(ProgramStartError("unknown group \(group)")) }
                gid = gr.pointee.gr_gid
            }
            let uid = pw.pointee.pw_uid
            if uid != getuid() || gid != getgid() {
                argv = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--"] + arguments
            }
        }
        // ETXTBSY: another process still holds the program open for writing (a fork racing the
        // program's writer); it clears within moments, so retry a few times.
        for attempt in 1...5 {
            switch spawn(argv, extraEnvironment: extraEnvironment) {
            case .success(let p):
                return .success(p)
            case .failure(let e) where e.rawValue == ETXTBSY && attempt < 5:
                try? await Task.sleep(for: .milliseconds(20 * attempt))
            case .failure(let e):
                return .failure(ProgramStartError("cannot run \(program): \(e)"))
            }
        }
        return .failure(ProgramStartError("cannot run \(program): \(Errno(ETXTBSY))"))
    }

    private static func runToEnd(_ arguments: [String], user: String?, group: String?,
                                 timeout: Duration?, extraEnvironment: [String: String]) async -> ProgramOutcome {
        let pid: pid_t
        switch await launch(arguments, user: user, group: group, extraEnvironment: extraEnvironment) {
        case .success(let p): pid = p
        case .failure(let e): return .failedToStart(e.message)
        }
        let clock = ContinuousClock()
        guard let timeout else { return await waitExit(pid, until: nil) ?? .failedToStart("waitpid gave up") }
        if let status = await waitExit(pid, until: clock.now.advanced(by: timeout)) { return status }
        _ = await terminateGroup(pid)
        return .timedOut(timeout)
    }

    /// SIGTERM to the process group of `pid`, SIGKILL after ``killGrace``; waits for the exit.
    static func terminateGroup(_ pid: pid_t) async -> ProgramOutcome {
        let clock = ContinuousClock()
        kill(-pid, SIGTERM)
        kill(pid, SIGTERM)
        if let status = await waitExit(pid, until: clock.now.advanced(by: killGrace)) { return status }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        return await waitExit(pid, until: clock.now.advanced(by: .seconds(30))) ?? .failedToStart("waitpid gave up")
    }

    /// Polls for the child's exit with a backoff capped at 20 ms; nil when the deadline passes.
    static func waitExit(_ pid: pid_t, until deadline: ContinuousClock.Instant?) async -> ProgramOutcome? {
        var pause = Duration.milliseconds(1)
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                let sig = status & 0x7F
                return sig == 0 ? .exited((status >> 8) & 0xFF) : .signaled(sig)
            }
            if r == -1 && errno != EINTR { return .failedToStart("waitpid: \(Errno.current)") }
            if let deadline, ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(20))
        }
    }

    private static func spawn(_ argv: [String], extraEnvironment: [String: String]) -> Result<pid_t, Errno> {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Nothing of Vigil's (checker and VRRP sockets, the IPVS netlink socket) leaks into the script.
        _ = vigil_spawn_close_inherited(&actions)

        var env: [String] = []
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            let key = String(s.prefix { $0 != "=" })
            if extraEnvironment[key] == nil { env.append(s) }
            p += 1
        }
        env += extraEnvironment.map { "\($0.key)=\($0.value)" }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        return rc == 0 ? .success(pid) : .failure(Errno(rc))
    }
}
