#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Why a notify FIFO could not be opened, in the house error shape: a code, a message, context.
public struct NotifyFIFOError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// `mkfifo` failed for another reason than the path existing.
        case createFailed = "create-failed"
        /// The path exists and is not a FIFO (a symbolic link is not followed).
        case notAFIFO = "not-a-fifo"
        /// `open` failed.
        case openFailed = "open-failed"
        /// The owner given with the FIFO is not a known user or group.
        case unknownOwner = "unknown-owner"
    }

    public var code: Code
    public var message: String
    /// The FIFO's path.
    public var context: String

    public init(_ code: Code, _ message: String, path: String) {
        self.code = code
        self.message = message
        self.context = path
    }

    public var description: String { "notify FIFO \(context): \(message) [\(code.rawValue)]" }
}

private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int) -> Int { write(fd, p, n) }
private func posixClose(_ fd: Int32) { close(fd) }

/// What happened to one line handed to a ``NotifyFIFOWriter``.
public enum NotifyFIFOWrite: Sendable, Hashable {
    case written
    /// The pipe was full (no reader keeping up): the line was dropped, nothing blocked.
    case droppedFull
    /// Another write error (errno text); the line was dropped.
    case failed(String)
    /// The writer is closed.
    case closed
}

/// One keepalived notify FIFO, opened for writing lines that never block the daemon.
///
/// As keepalived does, the FIFO is created when missing (mode 0600, then given to `owner`), and
/// opened `O_RDWR | O_NONBLOCK`: the open never waits for a reader, and since this process holds
/// a read end too, a reader that goes away and comes back does not see end of file. Each line is
/// one `write(2)` under `PIPE_BUF`, so lines from several threads never interleave. A full pipe
/// drops the line and reports it; ``close()`` unlinks the FIFO only if this writer created it.
public final class NotifyFIFOWriter: Sendable {
    public let path: String
    /// True when this writer made the FIFO (and so removes it on close).
    public let created: Bool
    private let fd: Mutex<Int32>

    /// Creates (if needed) and opens the FIFO at `path`; `user`/`group` own a FIFO it creates.
    public init(path: String, user: String? = nil, group: String? = nil) throws(NotifyFIFOError) {
        self.path = path
        var uid: uid_t = getuid(), gid: gid_t = getgid()
        if let user {
            guard let pw = getpwnam(user) else { throw NotifyFIFOError(.unknownOwner, "unknown user \(user)", path: path) }
            uid = pw.pointee.pw_uid
            gid = pw.pointee.pw_gid
        }
        if let group {
            guard let gr = getgrnam(group) else { throw NotifyFIFOError(.unknownOwner, "unknown group \(group)", path: path) }
            gid = gr.pointee.gr_gid
        }
        var made = false
        if mkfifo(path, 0o600) == 0 {
            made = true
            if uid != getuid() || gid != getgid() { _ = chown(path, uid, gid) }
        } else if errno != EEXIST {
            throw NotifyFIFOError(.createFailed, "cannot create: \(Errno.current)", path: path)
        }
        let opened = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
        guard opened >= 0 else {
            let e = Errno.current
            if made { unlink(path) }
            throw NotifyFIFOError(e.rawValue == ELOOP ? .notAFIFO : .openFailed,
                                  e.rawValue == ELOOP ? "is a symbolic link, not a FIFO" : "cannot open: \(e)", path: path)
        }
        var st = stat()
        guard fstat(opened, &st) == 0, (st.st_mode & S_IFMT) == S_IFIFO else {
            posixClose(opened)
            throw NotifyFIFOError(.notAFIFO, "exists and is not a FIFO", path: path)
        }
        self.created = made
        self.fd = Mutex(opened)
    }

    /// Writes `line` and a newline without waiting.
    @discardableResult
    public func write(_ line: String) -> NotifyFIFOWrite {
        let bytes = Array((line + "\n").utf8)
        return fd.withLock { fd -> NotifyFIFOWrite in
            guard fd >= 0 else { return .closed }
            while true {
                let n = bytes.withUnsafeBytes { posixWrite(fd, $0.baseAddress, $0.count) }
                if n == bytes.count { return .written }
                if n >= 0 { return .failed("short write of \(n) of \(bytes.count) bytes") }
                switch errno {
                case EINTR: continue
                case EAGAIN: return .droppedFull
                default: return .failed("\(Errno.current)")
                }
            }
        }
    }

    /// Unlinks the FIFO if this writer created it (first, so a reader looping on it cannot
    /// reopen it), then closes it. Later writes report ``NotifyFIFOWrite/closed``.
    public func close() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            if created { unlink(path) }
            posixClose(fd)
            fd = -1
        }
    }

    deinit { close() }
}
