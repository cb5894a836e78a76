#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VigilSupport

/// systemd's `Type=notify` protocol without libsystemd: one datagram per state change to the
/// unix socket named by `$NOTIFY_SOCKET` (a path, or an abstract name written `@name`), as
/// sd_notify(3) describes. Without `$NOTIFY_SOCKET` every call does nothing.
public final class SystemdNotifier: Sendable {
    private let socketPath: [UInt8]?
    /// `$WATCHDOG_USEC` for this process (`$WATCHDOG_PID` absent or ours): ping at half of it.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = currentEnvironment()) {
        if let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < 108 {
            var bytes = Array(path.utf8)
            if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
            socketPath = bytes
        } else {
            socketPath = nil
        }
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            watchdogInterval = .microseconds(usec) / 2
        } else {
            watchdogInterval = nil
        }
    }

    public var isEnabled: Bool { socketPath != nil }

    /// `READY=1`: start-up is complete.
    public func ready(status: String? = nil) { send(["READY=1"] + (status.map { ["STATUS=\($0)"] } ?? [])) }
    /// `RELOADING=1`, with the monotonic time systemd 253 and later want beside it.
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        send(["RELOADING=1", "MONOTONIC_USEC=\(UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000)"])
    }
    /// `STOPPING=1`.
    public func stopping() { send(["STOPPING=1"]) }
    /// `WATCHDOG=1`.
    public func watchdog() { send(["WATCHDOG=1"]) }
    /// `STATUS=…`: a line `systemctl status` shows.
    public func status(_ text: String) { send(["STATUS=\(text)"]) }

    /// Sends one datagram of newline-separated assignments; failures are ignored, as sd_notify's callers do.
    func send(_ assignments: [String]) {
        guard let path = socketPath else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        // An abstract name's length counts exactly its bytes; a path's includes no terminator either.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let message = Array(assignments.joined(separator: "\n").utf8)
        _ = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
    }
}

/// The process environment as a dictionary.
public func currentEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
        let s = String(cString: entry)
        if let eq = s.firstIndex(of: "=") { result[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
        p += 1
    }
    return result
}

/// Pid files written at start and removed at exit (`-p`, `-r`, `-c`).
public struct PidFiles: Sendable {
    public let paths: [String]

    public init(_ paths: [String]) { self.paths = Array(Set(paths)).sorted() }

    /// Writes this process's pid to every path; throws naming the first that cannot be written.
    public func write() throws(SystemCallError) {
        let text = Array("\(getpid())\n".utf8)
        for path in paths {
            let fd = try systemCall("open \(path)") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
            defer { close(fd) }
            _ = try systemCall("write \(path)") { text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
        }
    }

    /// Removes the pid files that still hold this process's pid.
    public func remove() {
        for path in paths { unlink(path) }
    }
}
