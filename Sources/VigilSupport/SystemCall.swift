#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An `errno` value with the name and text the C library gives it.
public struct Errno: Error, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int32

    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current `errno`.
    public static var current: Errno { Errno(errno) }

    /// `strerror(3)` text, e.g. "No such file or directory".
    public var description: String { String(cString: strerror(rawValue)) }

    /// `EINTR`.
    public static let interrupted = Errno(EINTR)
    /// `EAGAIN` / `EWOULDBLOCK`.
    public static let wouldBlock = Errno(EAGAIN)
    /// `ENOENT`.
    public static let noEntry = Errno(ENOENT)
    /// `EEXIST`.
    public static let exists = Errno(EEXIST)
    /// `EPERM`.
    public static let notPermitted = Errno(EPERM)
    /// `EACCES`.
    public static let accessDenied = Errno(EACCES)
    /// `EINVAL`.
    public static let invalidArgument = Errno(EINVAL)
    /// `EMFILE`: the process's open-file limit is reached.
    public static let tooManyOpenFiles = Errno(EMFILE)
    /// `ENFILE`: the system's open-file table is full.
    public static let tooManyOpenFilesInSystem = Errno(ENFILE)
}

/// A failed system call: which call, on what, and the `errno` it returned.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    /// The failing call, e.g. "sendto".
    public var call: String
    public var errno: Errno
    /// What the call acted on, e.g. an interface or address; empty when nothing useful.
    public var context: String

    public init(call: String, errno: Errno, context: String = "") {
        self.call = call
        self.errno = errno
        self.context = context
    }

    public var description: String {
        context.isEmpty ? "\(call): \(errno)" : "\(call) (\(context)): \(errno)"
    }
}

/// The one funnel for system calls: retries on `EINTR` and turns `-1` into a typed error.
///
/// `body` must return `-1` and set `errno` on failure, as POSIX calls do.
@discardableResult
@inlinable
public func systemCall<T: FixedWidthInteger>(
    _ call: String, context: @autoclosure () -> String = "", _ body: () -> T
) throws(SystemCallError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let e = Errno.current
        if e == .interrupted { continue }
        throw SystemCallError(call: call, errno: e, context: context())
    }
}

/// Starts a detached POSIX thread named `name` running `body`, for loops that block outside
/// Swift's task pool (probe reactors, the VRRP event loop, background workers). `top -H` and
/// `ps -L` show the first 15 bytes of the name.
public func startDetachedThread(name: String, _ body: @escaping () -> Void) throws(SystemCallError) {
    final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
    let shortName = String(decoding: name.utf8.prefix(15), as: UTF8.self)
    let unmanaged = Unmanaged.passRetained(Box {
        nameCurrentThread(shortName)
        body()
    })
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { arg in
        Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
        return nil
    }, unmanaged.toOpaque())
    guard rc == 0 else {
        unmanaged.release()
        throw SystemCallError(call: "pthread_create", errno: Errno(rc))
    }
    pthread_detach(thread)
}

/// Names the calling thread through procfs (`prctl(PR_SET_NAME)` is variadic, so not callable
/// from Swift).
private func nameCurrentThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    writeAll(fd: fd, name)
    close(fd)
}

/// Writes text to standard error unbuffered (safe from any task; no shared `FILE*`).
public func writeStandardError(_ text: String) {
    writeAll(fd: 2, text)
}

/// Writes text to standard output unbuffered.
public func writeStandardOutput(_ text: String) {
    writeAll(fd: 1, text)
}

private func writeAll(fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = try? bytes.withUnsafeBytes { raw in
            try systemCall("write") { write(fd, raw.baseAddress, raw.count) }
        }
        guard let n, n > 0 else { return }
        bytes = bytes.dropFirst(n)
    }
}
