#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VigilSupport

/// MISC_CHECK: runs `misc_path` (program and arguments, no shell) and judges its exit status.
/// On `misc_timeout` the process group gets SIGTERM, and SIGKILL 2 s later.
public struct MiscChecker: HealthChecker {
    public let settings: MiscCheckSettings

    public init(settings: MiscCheckSettings) { self.settings = settings }

    public func check() async -> CheckResult {
        let outcome = await ProgramRunner.run(settings.arguments, user: settings.user, group: settings.group, timeout: settings.timeout)
        return Self.judge(outcome, dynamic: settings.dynamic)
    }

    /// keepalived's reading of an exit status: 0 up, else down; with misc_dynamic 1 is down,
    /// 2–255 up with weight code − 2, 0 up with the weight unchanged.
    public static func judge(_ outcome: ProgramOutcome, dynamic: Bool) -> CheckResult {
        switch outcome {
        case .exited(0):
            return .success(weight: nil)
        case .exited(let code) where dynamic && code >= 2:
            return .success(weight: UInt32(code - 2))
        case .exited(let code):
            return .failure("exit status \(code)")
        case .signaled(let sig):
            return .failure("killed by signal \(sig)")
        case .timedOut(let after):
            return .failure("no exit within \(after); terminated")
        case .failedToStart(let why):
            return .failure(why)
        }
    }
}
