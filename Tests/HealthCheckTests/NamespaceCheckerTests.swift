#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import HealthCheck
import Synchronization
import Testing
import VigilSupport

/// A namespace joined to this one by a veth pair, on a /29 of 198.51.100.0/24 picked per process:
/// this side has .1, the namespace .2, with a TCP listener and a UDP echo on ``tcpPort`` and
/// ``udpPort``. Torn down (processes killed, namespace and rules deleted) in `deinit`.
final class PeerNamespace: @unchecked Sendable {
    let name: String
    let hostLink: String
    let hostAddress: IPAddress
    let peerAddress: IPAddress
    let tcpPort: UInt16 = 7070
    let udpPort: UInt16 = 7071
    /// Policy rules added by ``unreachable(forMark:)``: priority, table.
    private var rules: [(Int, Int)] = []

    init() throws {
        let n = Self.instances.wrappingAdd(1, ordering: .relaxed).oldValue
        let id = Int(getpid()) % 10_000
        name = "vhc\(id)x\(n)"
        hostLink = "vhc\(id)x\(n)h"
        let base = 8 * ((id + n) % 30)
        hostAddress = IPAddress("198.51.100.\(base + 1)")!
        peerAddress = IPAddress("198.51.100.\(base + 2)")!
        Self.run(["ip", "netns", "del", name])
        try Self.must(["ip", "netns", "add", name])
        try Self.must(["ip", "link", "add", hostLink, "type", "veth", "peer", "name", "eth0", "netns", name])
        try Self.must(["ip", "addr", "add", "\(hostAddress)/29", "dev", hostLink])
        try Self.must(["ip", "link", "set", hostLink, "up"])
        try Self.must(["ip", "-n", name, "addr", "add", "\(peerAddress)/29", "dev", "eth0"])
        try Self.must(["ip", "-n", name, "link", "set", "eth0", "up"])
        try Self.must(["ip", "-n", name, "link", "set", "lo", "up"])
        let script = """
            import socket, threading
            t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", \(tcpPort))); t.listen(64)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", \(udpPort)))
            def echo():
                while True:
                    d, a = u.recvfrom(65535); u.sendto(d, a)
            threading.Thread(target=echo, daemon=True).start()
            while True:
                c, _ = t.accept(); c.close()
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", name, "/usr/bin/python3", "-c", script]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
    }

    deinit {
        for (priority, table) in rules {
            Self.run(["ip", "rule", "del", "priority", "\(priority)"])
            Self.run(["ip", "route", "flush", "table", "\(table)"])
        }
        if let pids = try? Self.output(["ip", "netns", "pids", name]) {
            for pid in pids.split(separator: "\n") { kill(pid_t(pid) ?? 0, SIGKILL) }
        }
        // The veth goes with the namespace only once the kernel has destroyed it, later: delete it now.
        Self.run(["ip", "link", "del", hostLink])
        Self.run(["ip", "netns", "del", name])
    }

    private static let instances = Atomic<Int>(0)

    /// Waits (bounded) until the namespace's TCP listener accepts.
    func ready() async -> Bool {
        let c = ConnectionSettings(address: peerAddress, port: tcpPort, timeout: .milliseconds(300))
        for _ in 0..<50 {
            if await TCPChecker(settings: c, reactor: testReactor).check().isSuccess { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Makes packets carrying `mark` unroutable to the peer: a policy rule sends them to a table
    /// holding only an unreachable route. Only this process's probes set that mark.
    func unreachable(forMark mark: UInt32) throws {
        let priority = 20_000 + Int(mark % 1000), table = 20_000 + Int(mark % 1000)
        try Self.must(["ip", "rule", "add", "fwmark", "\(mark)", "lookup", "\(table)", "priority", "\(priority)"])
        rules.append((priority, table))
        try Self.must(["ip", "route", "add", "unreachable", "\(peerAddress)", "table", "\(table)"])
    }

    func sysctl(_ setting: String) throws { try Self.must(["ip", "netns", "exec", name, "sysctl", "-qw", setting]) }

    @discardableResult
    static func run(_ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    static func must(_ args: [String]) throws {
        if run(args) != 0 { throw CocoaError(.fileWriteUnknown, userInfo: ["command": args.joined(separator: " ")]) }
    }

    static func output(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether this process may make namespaces (root on the lab host); the reason when not.
    static var unavailable: String? {
        getuid() != 0 ? "needs root to create network namespaces" : nil
    }
}

private func failure(_ r: CheckResult) -> String? {
    if case .failure(let why) = r { return why }
    return nil
}

@Suite("Checkers against a peer namespace", .serialized, .enabled(if: PeerNamespace.unavailable == nil, "needs root to create network namespaces"))
struct NamespaceCheckerTests {
    @Test("PING_CHECK: the peer answers; with echo replies off it times out")
    func ping() async throws {
        let peer = try PeerNamespace()
        #expect(await peer.ready())
        let checker = PingChecker(settings: ConnectionSettings(address: peer.peerAddress, port: 0, timeout: .seconds(1)), reactor: testReactor)
        #expect(await checker.check() == .success(weight: nil))
        try peer.sysctl("net.ipv4.icmp_echo_ignore_all=1")
        #expect(failure(await checker.check())?.contains("no echo reply") == true)
    }

    @Test("fwmark marks every checker's packets: a policy rule routes marked packets to an unreachable route")
    func firewallMark() async throws {
        let peer = try PeerNamespace()
        #expect(await peer.ready())
        let mark = UInt32(0x7E00_0000) | UInt32(getpid() % 1000)
        try peer.unreachable(forMark: mark)
        func settings(_ port: UInt16, mark: UInt32?) -> ConnectionSettings {
            ConnectionSettings(address: peer.peerAddress, port: port, timeout: .seconds(1), firewallMark: mark)
        }
        for m in [nil, mark] {
            let results: [(String, CheckResult)] = [
                ("TCP", await TCPChecker(settings: settings(peer.tcpPort, mark: m), reactor: testReactor).check()),
                ("UDP", await UDPChecker(settings: UDPCheckSettings(connection: settings(peer.udpPort, mark: m), requireReply: true),
                                         reactor: testReactor).check()),
                ("PING", await PingChecker(settings: settings(0, mark: m), reactor: testReactor).check()),
            ]
            for (kind, r) in results {
                if m == nil {
                    #expect(r == .success(weight: nil), "\(kind) without the mark: \(r)")
                } else {
                    #expect(failure(r)?.contains("No route to host") == true, "\(kind) with the mark: \(r)")
                }
            }
        }
    }

    @Test("bind_if: bound to the link towards the peer passes; bound to lo it does not")
    func bindInterface() async throws {
        let peer = try PeerNamespace()
        #expect(await peer.ready())
        for (interface, up) in [(peer.hostLink, true), ("lo", false)] {
            var c = ConnectionSettings(address: peer.peerAddress, port: peer.tcpPort, timeout: .seconds(1))
            c.interface = interface
            let tcp = await TCPChecker(settings: c, reactor: testReactor).check()
            let ping = await PingChecker(settings: c, reactor: testReactor).check()
            #expect(tcp.isSuccess == up && ping.isSuccess == up, "bind_if \(interface): TCP \(tcp), PING \(ping)")
        }
    }
}
