#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import VigilTestSupport

/// The packaged `vigil` (static Swift runtime, `make package`) in the bare Debian root, against the
/// lab VM's IPVS kernel, with only the static pod's capabilities: the IPVS half works there too.
@Suite("packaged vigil in a Debian root without Swift, against IPVS", .serialized, .requiresIPVS, .tags(.ipvsKernel))
struct PackagedBinaryKernelTests {
    static let root = Lab.packageRoot + "/.package-cache/bookworm-minbase"
    static let binary = Lab.packageRoot + "/dist/root/usr/sbin/vigil"
    static let ready = FileManager.default.isExecutableFile(atPath: root + "/usr/bin/setpriv")
        && FileManager.default.isExecutableFile(atPath: binary)

    @Test("With only NET_ADMIN, NET_RAW and NET_BROADCAST it programs the virtual server and removes it when stopped",
          .enabled(if: ready, "needs `make package` (dist/root) and the cached Debian root (Scripts/package/build-chroot.sh)"))
    func ipvsHalfWithPodCapabilities() async throws {
        let ipvsadm = "/usr/sbin/ipvsadm"
        _ = Lab.run(ipvsadm, ["-C"])
        defer { _ = Lab.run(ipvsadm, ["-C"]) }
        let inside = "/tmp/vigil-pkg-\(getpid())"
        let stage = Self.root + inside
        try FileManager.default.createDirectory(atPath: stage, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: stage) }
        try FileManager.default.copyItem(atPath: Self.binary, toPath: stage + "/vigil")
        try """
        virtual_server 192.0.2.70 80 {
            delay_loop 1
            lb_algo wrr
            lb_kind NAT
            protocol TCP
            inhibit_on_failure
            real_server 127.0.0.1 9 {
                weight 2
                TCP_CHECK {
                    connect_timeout 1
                }
            }
        }
        """.write(toFile: stage + "/keepalived.conf", atomically: true, encoding: .utf8)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        daemon.arguments = ["--mount", "--propagation", "private", "sh", "-c",
                            "mount -t proc proc \"$0/proc\" && mount --rbind /sys \"$0/sys\" && exec chroot \"$0\" \"$@\"", Self.root,
                            "/usr/bin/setpriv", "--bounding-set=-all,+net_admin,+net_raw,+net_broadcast", "--inh-caps=-all",
                            inside + "/vigil", "-n", "-l", "-C", "-f", inside + "/keepalived.conf",
                            "--status-address", "none", "--control-socket", "none"]
        let log = stage + "/vigil.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        daemon.standardOutput = FileHandle(forWritingAtPath: log)
        daemon.standardError = daemon.standardOutput
        try daemon.run()
        var table = ""
        for _ in 0..<40 {
            table = Lab.capture(ipvsadm, ["-Ln"]).1
            if table.contains("TCP  192.0.2.70:80 wrr") && table.contains("127.0.0.1:9") { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let logged = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        #expect(table.contains("TCP  192.0.2.70:80 wrr"), "\(table)\n\(logged())")
        #expect(table.contains("-> 127.0.0.1:9"), "\(table)\n\(logged())")
        daemon.terminate()
        daemon.waitUntilExit()
        table = Lab.capture(ipvsadm, ["-Ln"]).1
        #expect(!table.contains("192.0.2.70:80"), "still in the table after a graceful stop:\n\(table)\n\(logged())")
    }
}
