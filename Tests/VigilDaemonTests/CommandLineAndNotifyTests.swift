import Foundation
import Testing
@testable import VigilDaemon

@Suite("keepalived's command line and systemd's notify protocol")
struct CommandLineAndNotifyTests {
    @Test("--signum prints keepalived's numbers; an unknown name has none")
    func signum() {
        #expect(KeepalivedCommandLine.signumRequest(["-n", "--signum=JSON"]) == "JSON")
        #expect(KeepalivedCommandLine.signumRequest(["--signum", "RELOAD"]) == "RELOAD")
        #expect(["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON"].map(KeepalivedCommandLine.signalNumber) == [15, 1, 10, 12, 63, 36])
        #expect(KeepalivedCommandLine.signalNumber("TDATA") == nil)
    }

    @Test("unsupported flags are refused by name, alone or bundled, with the reason")
    func refusals() {
        #expect(KeepalivedCommandLine.refusal(["-n", "-l"]) == nil)
        #expect(KeepalivedCommandLine.refusal(["-V"])?.hasPrefix("-V/--dont-release-vrrp: ") == true)
        #expect(KeepalivedCommandLine.refusal(["-nlx"])?.contains("SNMP") == true)
        #expect(KeepalivedCommandLine.refusal(["--snmp-agent-socket=/x"])?.contains("SNMP") == true)
        #expect(KeepalivedCommandLine.refusal(["-f", "/etc/keepalived/keepalived.conf"]) == nil)
    }

    @Test("-g takes its default file when none follows; -t=FILE becomes the report file")
    func optionalArguments() {
        #expect(KeepalivedCommandLine.normalise(["-g", "-n"]) == ["--log-file", "/tmp/keepalived.log", "-n"])
        #expect(KeepalivedCommandLine.normalise(["-g", "/var/log/vigil.log"]) == ["--log-file", "/var/log/vigil.log"])
        #expect(KeepalivedCommandLine.normalise(["-g"]) == ["--log-file", "/tmp/keepalived.log"])
        #expect(KeepalivedCommandLine.normalise(["--config-test=/tmp/r"]) == ["-t", "--config-test-file", "/tmp/r"])
    }

    @Test("-S accepts 0-7, local0-7, user and daemon, as <syslog.h> codes")
    func facilities() {
        #expect(SyslogFacility("daemon") == .daemon)
        #expect(SyslogFacility("local3")?.code == Int32(19 << 3))
        #expect(SyslogFacility("5")?.description == "local5")
        #expect(SyslogFacility("local8") == nil)
        #expect(SyslogFacility("kern") == nil)
    }

    @Test("READY, RELOADING and STOPPING reach $NOTIFY_SOCKET, an abstract name too; the watchdog interval is half of WATCHDOG_USEC")
    func notify() throws {
        let name = "vigil-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in name.utf8.enumerated() { raw[i + 1] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + name.utf8.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        try #require(bound == 0)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "4000000"])
        #expect(notifier.watchdogInterval == .seconds(2))
        notifier.ready(status: "running")
        notifier.reloading()
        notifier.stopping()
        var got: [String] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            got.append(String(decoding: buffer[..<n], as: UTF8.self))
        }
        #expect(got.count == 3)
        #expect(got.first == "READY=1\nSTATUS=running")
        #expect(got.dropFirst().first?.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") == true)
        #expect(got.last == "STOPPING=1")
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"]).watchdogInterval == nil, "another process's watchdog")
        #expect(!SystemdNotifier(environment: [:]).isEnabled)
    }
}
