#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// What the machine running the tests offers, and why a lab-only test is skipped when it does not.
///
/// `make test` provides everything: it runs host tests directly and IPVS tests inside the lab VM
/// (Debian's stock kernel under virtme-ng). A bare `swift test` elsewhere skips what it cannot run,
/// and Swift Testing prints the reason below for each skipped test.
public enum Lab {
    /// True when the running kernel has IPVS loaded (or loadable and we are root).
    public static let hasIPVS: Bool = {
        if FileManager.default.fileExists(atPath: "/proc/net/ip_vs") { return true }
        guard getuid() == 0 else { return false }
        _ = run("/sbin/modprobe", ["ip_vs"])
        return FileManager.default.fileExists(atPath: "/proc/net/ip_vs")
    }()

    /// Reason printed for tests that need IPVS.
    public static let ipvsReason: Comment =
        "needs a kernel with IPVS (this one has none): run `make test`, which boots the lab VM"

    /// True when we are root and `ip netns` works (namespace-based network tests).
    public static let hasNamespaces: Bool = {
        guard getuid() == 0, let ip = which("ip") else { return false }
        let name = "vigil-probe-\(getpid())"
        guard run(ip, ["netns", "add", name]) == 0 else { return false }
        _ = run(ip, ["netns", "del", name])
        return true
    }()

    /// Reason printed for tests that need network namespaces.
    public static let namespacesReason: Comment =
        "needs root and network namespaces (ip netns): run as root with iproute2, or `make test`"

    /// True when Debian's keepalived is installed (interop and reference tests).
    public static let hasKeepalived: Bool = which("keepalived") != nil

    public static let keepalivedReason: Comment =
        "needs Debian's keepalived as a reference implementation: run `make setup`"

    /// True when ipvsadm is installed.
    public static let hasIpvsadm: Bool = which("ipvsadm") != nil

    /// Full path of an executable on PATH (or in the sbin directories), if any.
    public static func which(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// A product of this package built next to the test bundle (e.g. `.build/debug/vigil`), else
    /// in `.build/debug` of the current directory; nil when neither exists.
    public static func builtProduct(_ name: String) -> String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let fallback = FileManager.default.currentDirectoryPath + "/.build/debug/" + name
        return FileManager.default.isExecutableFile(atPath: fallback) ? fallback : nil
    }

    /// The package's root directory (for Scripts/ and Docs/).
    public static let packageRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// A python3 that has jsonschema and prometheus_client (PyPI), for Scripts/status/check.py:
    /// the one on PATH, else pyenv's (the lab VM's PATH leaves pyenv out); nil when none has them.
    public static let statusPython: String? = {
        var candidates = [which("python3")].compactMap { $0 }
        let versions = "/root/.pyenv/versions"
        for v in (try? FileManager.default.contentsOfDirectory(atPath: versions)) ?? [] { candidates.append("\(versions)/\(v)/bin/python3") }
        candidates.append("/usr/bin/python3")
        return candidates.first { run($0, ["-c", "import jsonschema, prometheus_client"]) == 0 }
    }()

    public static let statusPythonReason: Comment = "needs python3 with jsonschema and prometheus_client: run `make setup`"

    /// Scripts/status/check.py against a status server at `base` (`--vrrp`, `--lvs`, `--kernel`):
    /// its exit status and output (one JSON line of what it read, or the problem).
    public static func checkStatus(_ base: String, _ flags: [String]) -> (Int32, String) {
        guard let python = statusPython else { return (-1, "\(statusPythonReason)") }
        return capture(python, [packageRoot + "/Scripts/status/check.py", base] + flags)
    }

    /// GET `url` (curl): the HTTP status (0 when unreachable) and the body.
    public static func httpGet(_ url: String, method: String = "GET") -> (Int, String) {
        let (rc, out) = capture("/usr/bin/curl", ["-s", "-m", "10", "-X", method, "-w", "\n%{http_code}", url])
        guard rc == 0, let nl = out.lastIndex(of: "\n") else { return (0, out) }
        return (Int(out[out.index(after: nl)...]) ?? 0, String(out[..<nl]))
    }

    /// Runs a program to completion: its exit status (-1 if it could not start) and its standard
    /// output followed by its standard error.
    public static func capture(_ executable: String, _ arguments: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs a program to completion and returns its exit status (-1 if it could not start).
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Makes namespace `ns` with a veth pair `interface`/`peer` (both up, `address` on
    /// `interface`) and loopback up; the `ip` commands that failed, so empty means ready.
    public static func vethNamespace(_ ns: String, interface: String, peer: String, address: String) -> [String] {
        var failed: [String] = []
        if run("/sbin/ip", ["netns", "add", ns]) != 0 { failed.append("netns add \(ns)") }
        for args in [["link", "add", interface, "type", "veth", "peer", "name", peer], ["addr", "add", address, "dev", interface],
                     ["link", "set", interface, "up"], ["link", "set", peer, "up"], ["link", "set", "lo", "up"]]
            where run("/sbin/ip", ["-n", ns] + args) != 0 {
            failed.append(args.joined(separator: " "))
        }
        return failed
    }

    /// Starts `command` inside namespace `ns` (`ip netns exec`), its output discarded.
    public static func startInNamespace(_ ns: String, _ command: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/sbin/ip")
        p.arguments = ["netns", "exec", ns] + command
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// What a non-blocking reader of a FIFO or pipe finds in it now, as lines.
    public static func availableLines(_ fd: Int32) -> [String] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only where the kernel has IPVS (the lab VM under `make test`).
    public static var requiresIPVS: Self { .enabled(if: Lab.hasIPVS, Lab.ipvsReason) }
    /// Runs the test only where network namespaces can be created.
    public static var requiresNamespaces: Self { .enabled(if: Lab.hasNamespaces, Lab.namespacesReason) }
    /// Runs the test only where Debian's keepalived is installed.
    public static var requiresKeepalived: Self { .enabled(if: Lab.hasKeepalived, Lab.keepalivedReason) }
}

extension Tag {
    /// Needs a kernel with IPVS: runs inside the lab VM.
    @Tag public static var ipvsKernel: Self
    /// Needs root and network namespaces on the host.
    @Tag public static var namespaces: Self
    /// Compares against or interoperates with keepalived / ipvsadm.
    @Tag public static var reference: Self
}
