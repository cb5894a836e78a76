#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import HealthCheck
import Synchronization
import Testing
import VigilSupport

/// A namespace joined to this one by a veth pair, on a /29 of 198.51.100.0/24 picked per instance:
/// this side has .1, the namespace .2, with a TCP listener and a UDP echo on ``tcpPort`` and
/// ``udpPort``. Commands run through ``ProgramRunner`` (no thread blocks on a child); `deinit`
/// tears everything down (processes, link, namespace, policy rules) in the background.
final class PeerNamespace: @unchecked Sendable {
    let name: String
    let hostLink: String
    let hostAddress: IPAddress
    let peerAddress: IPAddress
    let tcpPort: UInt16 = 7070
    let udpPort: UInt16 = 7071
    /// Policy rules added by ``unreachable(forMark:)``: priority, table.
    private var rules: [(Int, Int)] = []

    private init(_ n: Int) {
        let id = Int(getpid()) % 10_000
        name = "vhc\(id)x\(n)"
        hostLink = "vhc\(id)x\(n)h"
        let base = 8 * ((id + n) % 30)
        hostAddress = IPAddress("198.51.100.\(base + 1)")!
        peerAddress = IPAddress("198.51.100.\(base + 2)")!
    }

    static func make() async throws -> PeerNamespace {
        let peer = PeerNamespace(instances.wrappingAdd(1, ordering: .relaxed).oldValue)
        let (name, link) = (peer.name, peer.hostLink)
        try await must("""
            ip netns add \(name) && ip link add \(link) type veth peer name eth0 netns \(name) && \
            ip addr add \(peer.hostAddress)/29 dev \(link) && ip link set \(link) up && \
            ip -n \(name) addr add \(peer.peerAddress)/29 dev eth0 && ip -n \(name) link set eth0 up && ip -n \(name) link set lo up
            """)
        // The listener drops descriptors inherited from this process first (SwiftNIO's sockets
        // are not close-on-exec), which would otherwise keep other tests' ports open meanwhile.
        let script = """
            import os; os.closerange(3, 65536)
            import socket, threading
            t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", \(peer.tcpPort))); t.listen(64)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", \(peer.udpPort)))
            def echo():
                while True:
                    d, a = u.recvfrom(65535); u.sendto(d, a)
            threading.Thread(target=echo, daemon=True).start()
            while True:
                c, _ = t.accept(); c.close()
            """
        Task.detached { _ = await ProgramRunner.run(["/usr/sbin/ip", "netns", "exec", name, "/usr/bin/python3", "-c", script], timeout: .seconds(300)) }
        return peer
    }

    private var tornDown = false

    private var cleanup: String {
        var c = "\(Self.path) ip netns pids \(name) | xargs -r kill -9; ip link del \(hostLink); ip netns del \(name)"
        for (priority, table) in rules { c += "; ip rule del priority \(priority); ip route flush table \(table)" }
        return c
    }

    /// Removes everything this namespace added; call at the end of a test (deinit is the fallback).
    func tearDown() async {
        tornDown = true
        _ = await ProgramRunner.run(["/bin/sh", "-c", cleanup], timeout: .seconds(30))
    }

    deinit {
        guard !tornDown else { return }
        let command = cleanup
        Task.detached { _ = await ProgramRunner.run(["/bin/sh", "-c", command], timeout: .seconds(30)) }
    }

    private static let path = "PATH=/usr/sbin:/usr/bin:/sbin:/bin;"

    private static let instances = Atomic<Int>(0)

    /// Waits (bounded) until the namespace's TCP listener accepts.
    func ready() async -> Bool {
        let c = ConnectionSettings(address: peerAddress, port: tcpPort, timeout: .milliseconds(300))
        for _ in 0..<100 {
            if await TCPChecker(settings: c, reactor: testReactor).check().isSuccess { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Makes packets carrying `mark` unroutable to the peer: a policy rule sends them to a table
    /// holding only an unreachable route. Only this process's probes set that mark.
    func unreachable(forMark mark: UInt32) async throws {
        let priority = 20_000 + Int(mark % 1000), table = 20_000 + Int(mark % 1000)
        rules.append((priority, table))
        try await Self.must("ip rule add fwmark \(mark) lookup \(table) priority \(priority) && ip route add unreachable \(peerAddress) table \(table)")
    }

    func sysctl(_ setting: String) async throws { try await Self.must("ip netns exec \(name) sysctl -qw \(setting)") }

    static func must(_ command: String) async throws {
        let outcome = await ProgramRunner.run(["/bin/sh", "-c", path + command], timeout: .seconds(30))
        if outcome != .exited(0) { throw CocoaError(.fileWriteUnknown, userInfo: ["command": command, "outcome": "\(outcome)"]) }
    }

    /// Why this process cannot make namespaces, or nil.
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
        let peer = try await PeerNamespace.make()
        #expect(await peer.ready())
        let checker = PingChecker(settings: ConnectionSettings(address: peer.peerAddress, port: 0, timeout: .seconds(1)), reactor: testReactor)
        #expect(await checker.check() == .success(weight: nil))
        try await peer.sysctl("net.ipv4.icmp_echo_ignore_all=1")
        #expect(failure(await checker.check())?.contains("no echo reply") == true)
        await peer.tearDown()
    }

    @Test("fwmark marks every checker's packets: a policy rule routes marked packets to an unreachable route")
    func firewallMark() async throws {
        let peer = try await PeerNamespace.make()
        #expect(await peer.ready())
        let mark = UInt32(0x7E00_0000) | UInt32(getpid() % 1000)
        try await peer.unreachable(forMark: mark)
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
        await peer.tearDown()
    }

    @Test("bind_if: bound to the link towards the peer passes; bound to lo it does not")
    func bindInterface() async throws {
        let peer = try await PeerNamespace.make()
        #expect(await peer.ready())
        for (interface, up) in [(peer.hostLink, true), ("lo", false)] {
            var c = ConnectionSettings(address: peer.peerAddress, port: peer.tcpPort, timeout: .seconds(1))
            c.interface = interface
            let tcp = await TCPChecker(settings: c, reactor: testReactor).check()
            let ping = await PingChecker(settings: c, reactor: testReactor).check()
            #expect(tcp.isSuccess == up && ping.isSuccess == up, "bind_if \(interface): TCP \(tcp), PING \(ping)")
        }
        await peer.tearDown()
    }
}
