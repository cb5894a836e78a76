#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CVigilSystem
import Synchronization

/// Watches files through inotify and reports each one written, replaced or removed: keepalived's
/// `track_file` monitoring (its directory is watched, so a file created later, renamed into place
/// or deleted is seen too). No polling: a thread blocks in `poll(2)` on the inotify descriptor and
/// an eventfd that ``stop()`` writes.
public final class FileWatcher: Sendable {
    private let inotify: Int32
    private let wake: Int32
    private let stopped = Atomic<Bool>(false)
    /// Watch descriptor → directory, and the watched file names in it.
    private let directories: [Int32: (directory: String, names: Set<String>)]

    /// Starts watching `paths` (absolute or relative to the working directory); `changed` gets
    /// each path on its thread after the file was closed after writing, moved in, moved out or deleted.
    public init(paths: [String], name: String = "file-watch", changed: @escaping @Sendable (String) -> Void) throws(SystemCallError) {
        let fd = try systemCall("inotify_init1") { inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK)) }
        let w: Int32
        do { w = try systemCall("eventfd") { eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)) } } catch {
            close(fd)
            throw error
        }
        var byDirectory: [String: Set<String>] = [:]
        for path in paths {
            let (directory, file) = Self.split(path)
            byDirectory[directory, default: []].insert(file)
        }
        var watches: [Int32: (directory: String, names: Set<String>)] = [:]
        let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM) | UInt32(IN_MOVED_TO)
        for (directory, names) in byDirectory {
            do {
                let wd = try systemCall("inotify_add_watch", context: directory) { inotify_add_watch(fd, directory, mask) }
                watches[wd] = (directory, names)
            } catch {
                close(fd)
                close(w)
                throw error
            }
        }
        self.inotify = fd
        self.wake = w
        self.directories = watches
        try startDetachedThread(name: name) { [self] in self.loop(changed) }
    }

    /// Ends the watching thread; no report follows once it returns from its current one.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    /// `path`'s directory and file name (`.` for a bare name).
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    private func loop(_ changed: @Sendable (String) -> Void) {
        defer {
            close(inotify)
            close(wake)
        }
        var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        let bufferSize = 64 * (MemoryLayout<inotify_event>.size + Int(NAME_MAX) + 1)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        while !stopped.load(ordering: .acquiring) {
            guard (try? systemCall("poll") { poll(&fds, 2, -1) }) != nil else { return }
            if stopped.load(ordering: .acquiring) || fds[1].revents != 0 { return }
            while true {
                let n = read(inotify, buffer, bufferSize)
                if n <= 0 { break }
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                    let nameStart = offset + MemoryLayout<inotify_event>.size
                    offset = nameStart + Int(event.len)
                    guard event.len > 0, event.mask & UInt32(IN_ISDIR) == 0, let watch = directories[event.wd] else { continue }
                    let name = String(cString: buffer.advanced(by: nameStart).assumingMemoryBound(to: CChar.self))
                    guard watch.names.contains(name) else { continue }
                    if stopped.load(ordering: .acquiring) { return }
                    changed(watch.directory == "." ? name : watch.directory == "/" ? "/" + name : watch.directory + "/" + name)
                }
            }
        }
    }
}

/// The number in a tracked file as keepalived reads it: `strtol(text, NULL, 0)` of its first
/// 127 bytes (decimal, `0x` hex or leading-0 octal, leading blanks and a sign allowed; trailing
/// text ignored); 0 when the file is missing, unreadable or holds no number.
public func trackedFileValue(_ path: String) -> Int64 {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [CChar](repeating: 0, count: 128)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 127) }
    guard n > 0 else { return 0 }
    return Int64(strtol(buffer, nil, 0))
}

/// keepalived's `init_file [VALUE] [overwrite]`: writes `value` and a newline to `path` when it does
/// not exist, or always with `overwrite`.
public func initialiseTrackedFile(_ path: String, value: Int64, overwrite: Bool) throws(SystemCallError) {
    let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL)
    let fd: Int32
    do { fd = try systemCall("open", context: path) { open(path, flags, 0o644) } } catch {
        if error.errno == .exists { return }
        throw error
    }
    defer { close(fd) }
    let text = Array("\(value)\n".utf8)
    _ = try systemCall("write", context: path) { text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
}
