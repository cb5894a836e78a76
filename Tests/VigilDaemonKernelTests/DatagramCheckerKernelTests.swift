import Foundation
import Testing
import VigilTestSupport

/// UDP_CHECK, DNS_CHECK and PING_CHECK: `keepalived -C` and `vigil -C` run in turn on one file, and
/// each must leave the same IPVS table (which real servers are in, with which weights).
@Suite("Datagram checkers beside keepalived -C", .serialized, .requiresIPVS, .tags(.ipvsKernel))
struct DatagramCheckerKernelTests {
    /// UDP echo on 5301, DNS NOERROR on 5302 and NXDOMAIN on 5303 (both echo the question), on 127.0.0.1.
    static let responder = """
        import socket, threading
        def serve(port, answer):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", port))
            while True:
                d, a = s.recvfrom(4096); r = answer(d)
                if r is not None: s.sendto(r, a)
        def dns(rcode):
            return lambda q: q[:2] + bytes([0x81, 0x80 | rcode]) + q[4:] if len(q) >= 12 else None
        for port, answer in [(5301, lambda d: d), (5302, dns(0)), (5303, dns(3))]:
            threading.Thread(target=serve, args=(port, answer), daemon=True).start()
        threading.Event().wait()
        """

    static let config = """
        virtual_server 192.0.2.20 53 {
            delay_loop 1
            lb_algo wrr
            lb_kind NAT
            protocol UDP
            real_server 127.0.0.1 5301 {
                weight 2
                UDP_CHECK {
                    payload 01 02 03
                    require_reply 01 0x
                    connect_timeout 1
                    retry 0
                }
            }
            real_server 127.0.0.2 5301 {
                weight 3
                UDP_CHECK {
                    connect_port 5301
                    connect_ip 127.0.0.1
                    payload 01 02
                    require_reply 7f
                    connect_timeout 1
                    retry 0
                }
            }
            real_server 127.0.0.1 5399 {
                weight 4
                UDP_CHECK {
                    connect_timeout 1
                    retry 0
                }
            }
            real_server 127.0.0.1 5302 {
                weight 5
                DNS_CHECK {
                    type A
                    name example.com
                    connect_timeout 1
                    retry 0
                }
            }
            real_server 127.0.0.1 5303 {
                weight 6
                DNS_CHECK {
                    connect_timeout 1
                    retry 0
                }
            }
            real_server 127.0.0.4 53 {
                weight 7
                PING_CHECK {
                    connect_timeout 1
                    retry 0
                }
            }
            real_server 203.0.113.77 53 {
                weight 8
                PING_CHECK {
                    connect_timeout 1
                    retry 0
                }
            }
        }
        """

    @Test("same verdicts and weights: echo match, mismatch, port unreachable, NOERROR, NXDOMAIN, ping up and unroutable")
    func sideBySide() async throws {
        shell("/usr/sbin/ipvsadm", ["-C"])
        shell("/usr/sbin/ip", ["route", "add", "blackhole", "203.0.113.77"])
        defer {
            shell("/usr/sbin/ipvsadm", ["-C"])
            shell("/usr/sbin/ip", ["route", "del", "blackhole", "203.0.113.77"])
        }
        let scratch = NSTemporaryDirectory() + "vigil-dgram-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let conf = "\(scratch)/keepalived.conf"
        try Self.config.write(toFile: conf, atomically: true, encoding: .utf8)
        let responder = try VigilCheckerBinaryTests.Daemon(["-c", Self.responder], log: "\(scratch)/responder.log",
                                                          executable: "/usr/bin/python3")
        defer { _ = kill(responder.process.processIdentifier, SIGKILL) }
        let expected: [String: UInt32] = ["127.0.0.1:5301": 2, "127.0.0.1:5302": 5, "127.0.0.4:53": 7]
        let keepalived = try VigilCheckerBinaryTests.Daemon(
            ["-C", "-n", "-l", "-f", conf, "-p", "\(scratch)/k.pid", "-c", "\(scratch)/kc.pid"], log: "\(scratch)/keepalived.log",
            executable: "/usr/sbin/keepalived")
        #expect(await eventually("keepalived settles", within: 90) { $0["UDP 192.0.2.20:53"] == expected }, "\(keepalived.output.suffix(3000))")
        _ = await keepalived.stop()
        shell("/usr/sbin/ipvsadm", ["-C"])
        let vigil = try VigilCheckerBinaryTests.Daemon(["-C", "-n", "-l", "-f", conf], log: "\(scratch)/vigil.log")
        #expect(await eventually("vigil settles", within: 90) { $0["UDP 192.0.2.20:53"] == expected }, "\(vigil.output.suffix(3000))")
        #expect(await vigil.stop() == 0, "\(vigil.output.suffix(3000))")
    }
}
