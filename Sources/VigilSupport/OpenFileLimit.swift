#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process's limit on open file descriptors (`RLIMIT_NOFILE`).
public struct OpenFileLimit: Sendable, Hashable, CustomStringConvertible {
    /// The limit in force (`rlim_cur`).
    public var soft: Int
    /// The ceiling an unprivileged process may raise `soft` to (`rlim_max`).
    public var hard: Int

    public init(soft: Int, hard: Int) {
        self.soft = soft
        self.hard = hard
    }

    /// `RLIM_INFINITY`, and any limit above it, reads as this.
    public static let unlimited = Int(Int32.max)

    /// The most ``raiseSoft(to:)`` asks for: the kernel's default `fs.nr_open`, above which
    /// `setrlimit(2)` refuses even an unlimited hard limit.
    public static let ceiling = 1 << 20

    public var description: String { "soft \(soft), hard \(hard)" }

    /// The limits now in force.
    public static func current() throws(SystemCallError) -> OpenFileLimit {
        OpenFileLimit(try read())
    }

    private init(_ r: rlimit) {
        self.init(soft: Self.clamp(r.rlim_cur), hard: Self.clamp(r.rlim_max))
    }

    /// The raw limits: `setrlimit(2)` must get the hard limit back exactly as it was read.
    private static func read() throws(SystemCallError) -> rlimit {
        var r = rlimit()
        try systemCall("getrlimit", context: "RLIMIT_NOFILE") { getrlimit(resourceNoFile, &r) }
        return r
    }

    /// Raises the soft limit to `wanted`, or to the hard limit or ``ceiling`` if lower, and returns the
    /// limits then in force. Never lowers it. The hard limit is left alone: raising it needs
    /// `CAP_SYS_RESOURCE`, and an operator who set it meant it.
    @discardableResult
    public static func raiseSoft(to wanted: Int) throws(SystemCallError) -> OpenFileLimit {
        var r = try read()
        let now = OpenFileLimit(r)
        let target = min(wanted, now.hard, ceiling)
        guard target > now.soft else { return now }
        r.rlim_cur = rlim_t(target)
        try systemCall("setrlimit", context: "RLIMIT_NOFILE soft \(target)") { setrlimit(resourceNoFile, &r) }
        return try current()
    }

    /// `RLIM_INFINITY` is all ones, so it falls above ``unlimited`` too.
    private static func clamp(_ value: rlim_t) -> Int {
        value > rlim_t(unlimited) ? unlimited : Int(value)
    }

    /// `RLIMIT_NOFILE`, typed as `getrlimit(2)` wants it on this C library.
    private static var resourceNoFile: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}
