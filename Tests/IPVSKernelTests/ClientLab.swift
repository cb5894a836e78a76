import CVigilSystem
import Foundation
@testable import IPVS
import Synchronization
import Testing
import VigilSupport
import VigilTestSupport

/// A throw-away network namespace with its own IPVS table and an ``IPVSClient`` bound to it, so
/// the client tests never race other suites that use the root namespace's table.
final class IPVSNamespace {
    let name: String
    let client: IPVSClient

    private static let counter = Mutex(0)

    init() throws {
        let n = Self.counter.withLock { c in c += 1; return c }
        name = "vigil-ipvs-\(getpid())-\(n)"
        let (status, output) = Shell.run("/usr/sbin/ip", ["netns", "add", name])
        guard status == 0 else { throw IPVSError(code: .system, message: "ip netns add failed: \(output)") }
        _ = Shell.run("/usr/sbin/ip", ["netns", "exec", name, "ip", "link", "set", "lo", "up"])
        do {
            client = try IPVSClient(networkNamespace: "/run/netns/\(name)")
        } catch {
            _ = Shell.run("/usr/sbin/ip", ["netns", "del", name])
            throw error
        }
    }

    deinit {
        _ = Shell.run("/usr/sbin/ip", ["netns", "del", name])
    }

    /// Runs ipvsadm inside the namespace; returns its status and combined output.
    @discardableResult
    func ipvsadm(_ arguments: [String], input: String? = nil) -> (Int32, String) {
        Shell.run("/usr/sbin/ip", ["netns", "exec", name, Lab.which("ipvsadm") ?? "ipvsadm"] + arguments, input: input)
    }
}

enum Shell {
    /// Runs a program to completion, feeding `input` on stdin, returning status and output.
    static func run(_ executable: String, _ arguments: [String], input: String? = nil) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        let inPipe = Pipe()
        if input != nil { p.standardInput = inPipe }
        do { try p.run() } catch { return (-1, "\(error)") }
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try? inPipe.fileHandleForWriting.close()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Addresses from the documentation ranges only.
enum Doc {
    static func v4(_ text: String) -> IPAddress { IPAddress(text)! }
    static let vip = v4("192.0.2.1")
    static let vip6 = IPAddress("2001:db8::1")!
    static func real(_ i: Int) -> IPAddress { .v4(0xC633_6400 | UInt32(i & 0xFF)) }  // 198.51.100.i
    static func real6(_ i: Int) -> IPAddress { IPAddress("2001:db8:1::\(String(i, radix: 16))")! }
}

/// Runs `body` on a fresh thread whose credentials alone drop to `nobody` (raw `setresuid`, which
/// changes only the calling thread), then waits for it.
func onUnprivilegedThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
    let result = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
    let t = Thread {
        _ = vigilDropThreadPrivileges()
        let value = body()
        result.withLock { $0 = value }
        done.signal()
    }
    t.start()
    done.wait()
    return result.withLock { $0! }
}

/// Drops the calling thread (only) to uid `nobody`, which clears its capabilities.
func vigilDropThreadPrivileges() -> Int {
    vigil_syscall3(Int(SYS_setresuid), 65534, 65534, 65534)
}
