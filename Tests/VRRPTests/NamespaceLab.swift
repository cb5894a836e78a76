#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import VigilTestSupport

/// A throw-away L2 segment: one bridge namespace and node namespaces joined by veth pairs.
///
/// Names are unique per process and lab; ``tearDown()`` kills every process started here and
/// deletes the namespaces (also from `deinit`, so a failing test cleans up too).
final class NamespaceLab: @unchecked Sendable {
    let prefix: String
    private(set) var namespaces: [String] = []
    private var processes: [Process] = []
    let directory: URL
    private static let counter = Counter()

    /// `nodes` node namespaces on 192.0.2.0/24 (node i has 192.0.2.(10+i)); plus an observer.
    init(nodes: Int) throws {
        prefix = "vv\(getpid() % 100_000)x\(NamespaceLab.counter.next())"
        directory = URL(fileURLWithPath: "/tmp/\(prefix)")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let sw = "\(prefix)sw"
        try add(sw)
        try ip(["-n", sw, "link", "add", "br0", "type", "bridge"])
        try ip(["-n", sw, "link", "set", "br0", "up"])
        try ip(["-n", sw, "link", "set", "lo", "up"])
        for n in 0...nodes {
            let ns = node(n)
            try add(ns)
            // No duplicate address detection: link-local addresses are usable at once.
            _ = Self.capture("/usr/sbin/ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0",
                                              "net.ipv6.conf.all.accept_dad=0"])
            try ip(["-n", ns, "link", "set", "lo", "up"])
            try ip(["link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "p\(n)", "netns", sw])
            try ip(["-n", sw, "link", "set", "p\(n)", "master", "br0"])
            try ip(["-n", sw, "link", "set", "p\(n)", "up"])
            try ip(["-n", ns, "addr", "add", "\(address(n))/24", "dev", "eth0"])
            try ip(["-n", ns, "link", "set", "eth0", "up"])
        }
    }

    deinit { tearDown() }

    /// Namespace of node `n` (0 is the observer).
    func node(_ n: Int) -> String { "\(prefix)n\(n)" }

    /// Address of node `n`.
    func address(_ n: Int) -> String { "192.0.2.\(10 + n)" }

    private func add(_ ns: String) throws {
        try ip(["netns", "add", ns])
        namespaces.append(ns)
    }

    func ip(_ args: [String]) throws {
        let (status, out) = Self.capture("/usr/sbin/ip", args)
        if status != 0 { throw LabError(message: "ip \(args.joined(separator: " ")): \(out)") }
    }

    /// Whether `address` is on node `n`'s eth0.
    func holds(_ n: Int, _ address: String) -> Bool {
        Self.capture("/usr/sbin/ip", ["-n", node(n), "-o", "addr", "show", "dev", "eth0"]).1.contains(" \(address)/")
    }

    /// The nodes holding `address`.
    func holders(of address: String, among nodes: [Int]) -> [Int] { nodes.filter { holds($0, address) } }

    /// Polls (bounded) until `condition` holds; returns whether it did.
    func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// Writes a file in the lab directory and returns its path.
    func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        chmod(url.path, mode_t(mode))
        return url.path
    }

    /// Starts `command` inside node `n`'s namespace; output goes to `log` in the lab directory.
    ///
    /// An untracked process (`tracked: false`) is never waited for: it dies with the namespace in
    /// ``tearDown()`` (for tools like tshark whose helper children outlive a SIGKILL of the parent).
    @discardableResult
    func start(_ n: Int, _ command: [String], log: String, tracked: Bool = true) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", node(n)] + command
        let url = directory.appendingPathComponent(log)
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        if tracked { processes.append(p) }
        return p
    }

    func log(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }

    /// Sends `signal` to a started process and waits (bounded) for it to exit.
    func signal(_ p: Process, _ signal: Int32) {
        guard p.isRunning else { return }
        kill(p.processIdentifier, signal)
        for _ in 0..<100 where p.isRunning { usleep(50_000) }
    }

    func tearDown() {
        for p in processes where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        processes.removeAll()
        // Processes started by `ip netns exec` keep the namespace busy: kill anything left inside.
        for ns in namespaces.reversed() {
            let pids = Self.capture("/usr/sbin/ip", ["netns", "pids", ns]).1.split(whereSeparator: \.isNewline)
            for pid in pids { if let p = Int32(pid) { kill(p, SIGKILL) } }
            _ = Self.capture("/usr/sbin/ip", ["netns", "del", ns])
        }
        namespaces.removeAll()
        try? FileManager.default.removeItem(at: directory)
    }

    static func capture(_ exe: String, _ args: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The built `vigil` binary (next to the test bundle, else `.build/debug/vigil`).
    static var vigilBinary: String? { Lab.builtProduct("vigil") }
}

struct LabError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
