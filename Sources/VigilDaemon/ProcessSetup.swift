#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CVigilSystem
import VigilSupport

/// Process-wide settings keepalived's flags make before the daemon starts.
public enum ProcessSetup {
    /// `-s NAME`: joins the network namespace `ip netns add NAME` made (/run/netns/NAME) and
    /// re-executes Vigil there with `arguments`. A namespace belongs to a thread and this process
    /// already has several, so the join is made permanent by exec, which keeps only the calling
    /// thread. Returns what went wrong; does not return on success.
    public static func reexecute(inNetworkNamespace name: String, arguments: [String]) -> String {
        guard !name.isEmpty, !name.contains("/") else { return "-s \(name): not a network namespace name" }
        let path = "/run/netns/\(name)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "-s \(name): cannot open \(path): \(Errno.current) (create it with `ip netns add \(name)`)" }
        defer { close(fd) }
        guard vigil_setns(fd, vigil_clone_newnet) == 0 else { return "-s \(name): setns: \(Errno.current)" }
        var argv: [UnsafeMutablePointer<CChar>?] = (["vigil"] + arguments).map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        return "-s \(name): cannot re-execute /proc/self/exe: \(Errno.current)"
    }

    /// The command line without its `-s NAME` / `--namespace NAME` / `--namespace=NAME`.
    public static func removingNamespace(from arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "-s" || a == "--namespace" {
                i += 2
                continue
            }
            if !a.hasPrefix("--namespace=") && !(a.hasPrefix("-s") && !a.hasPrefix("--") && a.count > 2) { out.append(a) }
            i += 1
        }
        return out
    }

    /// `-m` / `-M PATTERN`: unlimited core size, and with a pattern /proc/sys/kernel/core_pattern.
    public static func enableCoreDumps(pattern: String?) -> String? {
        var limit = rlimit(rlim_cur: rlim_t.max, rlim_max: rlim_t.max)
        if setrlimit(Int32(RLIMIT_CORE.rawValue), &limit) != 0 {
            limit.rlim_cur = 0
            _ = getrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
            limit.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_CORE.rawValue), &limit) != 0 { return "-m: setrlimit(RLIMIT_CORE): \(Errno.current)" }
        }
        guard let pattern else { return nil }
        let fd = open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return "-M: cannot open /proc/sys/kernel/core_pattern: \(Errno.current)" }
        defer { close(fd) }
        let bytes = Array((pattern.isEmpty ? "core" : pattern).utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            return "-M: cannot write /proc/sys/kernel/core_pattern: \(Errno.current)"
        }
        return nil
    }
}
