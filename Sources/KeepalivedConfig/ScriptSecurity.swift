/// Owner and permission bits of one path, as `stat(2)` reports them (`st_uid`, `st_mode`).
public struct FileOwnership: Sendable, Hashable {
    public var uid: UInt32
    /// The whole `st_mode`: file type and permission bits.
    public var mode: UInt32

    public init(uid: UInt32, mode: UInt32) {
        self.uid = uid
        self.mode = mode
    }
}

/// keepalived's `enable_script_security` rule: the script and every directory above it must be owned
/// by root (or by the non-root user the script runs as) and not writable by group or others; a sticky
/// directory above the script may be writable. Returns why a script is refused, nil when it is safe.
/// `status` is `stat(2)` of one path, nil when it fails.
public func scriptSecurityViolation(path: String, runAsUID: UInt32 = 0, status: (String) -> FileOwnership?) -> String? {
    /// `S_IWGRP | S_IWOTH`.
    let writableByGroupOrOthers: UInt32 = 0o022
    /// `S_ISVTX`.
    let stickyBit: UInt32 = 0o1000
    guard path.hasPrefix("/") else { return "path is not absolute" }
    var components = path.split(separator: "/").map(String.init)
    var current = path
    while true {
        guard let st = status(current) else { return "cannot stat \(current)" }
        if st.uid != 0 && st.uid != runAsUID { return "\(current) is owned by uid \(st.uid), not root" }
        let writableByOthers = st.mode & writableByGroupOrOthers != 0
        let sticky = st.mode & stickyBit != 0
        if writableByOthers && !(sticky && current != path) { return "\(current) is writable by non-root users" }
        if components.isEmpty { break }
        components.removeLast()
        current = "/" + components.joined(separator: "/")
        if current == "/" && components.isEmpty {
            if let root = status("/"), root.uid != 0 { return "/ is not owned by root" }
            break
        }
    }
    return nil
}
