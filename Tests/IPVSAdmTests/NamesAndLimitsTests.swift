import Foundation
import IPVS
import IPVSAdm
import Testing
import VigilSupport

/// Resolves every address to a fixed, long name.
private struct LongNames: NameResolving {
    var name: String
    func hostName(for address: IPAddress) -> String? { name }
    func serviceName(port: UInt16, protocol proto: IPVSProtocol?) -> String? { proto == nil ? nil : "svc\(port)" }
}

@Suite struct NamesAndLimitsTests {
    let entry = ServiceEntry(
        service: Service(key: .address(.tcp, IPAddress("192.0.2.1")!, 80), scheduler: "rr"),
        destinations: [Destination(address: IPAddress("198.51.100.1")!, port: 8080, forwarding: .masquerade)])

    @Test("IPv4 names are cut like ipvsadm's buffers: 33 characters per service, 28 per server")
    func truncation() {
        let p = IPVSAdmPrinter(names: LongNames(name: "a-very-long-host-name.example.internal"))
        let lines = p.listing(entry: entry, options: ListingOptions()).split(separator: "\n")
        #expect(lines[2] == "TCP  a-very-long-host-name.exampl rr")
        #expect(lines[3].hasPrefix("  -> a-very-long-host-name.exampl Masq    1"))
        // Rule lines are never cut.
        #expect(p.rules(table: [entry]).hasPrefix("-A -t a-very-long-host-name.example.internal:svc80 -s rr\n"))
    }

    @Test("large counters are abbreviated with K/M/G/T as ipvsadm's print_largenum, or printed in full with --exact")
    func largeCounters() {
        var stats = Statistics()
        stats.connections = 99_999_999
        stats.inPackets = 123_456_789
        stats.outPackets = 12_345_678_901
        stats.inBytes = 1_234_567_890_123
        stats.outBytes = 123_456_789_012_345
        var e = entry
        e.service.statistics = stats
        e.destinations[0].statistics = stats
        let p = IPVSAdmPrinter(names: NumericNames())
        let short = p.listing(entry: e, options: ListingOptions(columns: .stats)).split(separator: "\n")
        #expect(short[2] == "TCP  192.0.2.1:80                 99999999  123456K   12345M    1234G     123T")
        #expect(short[3] == "  -> 198.51.100.1:8080            99999999  123456K   12345M    1234G     123T")
        let exact = p.listing(entry: e, options: ListingOptions(columns: .stats, exact: true)).split(separator: "\n")
        #expect(exact[2] == "TCP  192.0.2.1:80                 99999999 123456789 12345678901 1234567890123 123456789012345")
    }

    @Test("IPv6 names are bracketed and not cut; firewall-mark ports stay numeric")
    func ipv6AndFwmark() {
        let p = IPVSAdmPrinter(names: LongNames(name: "six.example"))
        let v6 = ServiceEntry(
            service: Service(key: .address(.udp, IPAddress("2001:db8::1")!, 53), scheduler: "rr"),
            destinations: [Destination(address: IPAddress("2001:db8::2")!, port: 53, forwarding: .masquerade)])
        let out = p.listing(entry: v6, options: ListingOptions())
        #expect(out.contains("UDP  [six.example]:svc53 rr\n"))
        #expect(out.contains("  -> [six.example]:svc53" + String(repeating: " ", count: 10) + "Masq"))
        let fwm = ServiceEntry(service: Service(key: .firewallMark(9, .inet)),
                               destinations: [Destination(address: IPAddress("198.51.100.1")!, port: 80)])
        #expect(p.listing(entry: fwm, options: ListingOptions()).contains("  -> six.example:80 "))
    }

    @Test("hostnames and service names are accepted in rules, as ipvsadm does")
    func forwardNames() throws {
        let op = try RuleParser.parse(arguments: ["-t", "localhost:http", "-s", "rr"], verb: .addService)
        #expect(op == .addService(Service(key: .address(.tcp, IPAddress("127.0.0.1")!, 80), scheduler: "rr")))
        #expect(throws: RuleSyntaxError.self) {
            try RuleParser.parse(arguments: ["-t", "192.0.2.1:no-such-service-name"], verb: .addService)
        }
    }
}

/// The built `ipvsctl` rejects bad input before touching the kernel: one line, exit status 2.
@Suite struct CommandLineInputTests {
    static let binary = Fixture.root.appendingPathComponent(".build/debug/ipvsctl").path

    func run(_ args: [String], input: String? = nil) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input == nil ? FileHandle.nullDevice : inp
        try p.run()
        if let input {
            inp.fileHandleForWriting.write(Data(input.utf8))
            try inp.fileHandleForWriting.close()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test("bad input", .enabled(if: FileManager.default.isExecutableFile(atPath: binary), "build ipvsctl first"),
          arguments: [
            (["add-service", "-t", "192.0.2.300:80"], "ipvsctl: invalid service address '192.0.2.300:80' after -t"),
            (["add-service", "-u", "192.0.2.1:99999"], "ipvsctl: invalid port '99999' in '192.0.2.1:99999'"),
            (["add-service", "-t", "192.0.2.1:80", "-s", "roundrobin"], "ipvsctl: unknown scheduler 'roundrobin'"),
            (["add-server", "-t", "192.0.2.1:80", "-r", "198.51.100.1", "-w", "2147483648"], "ipvsctl: invalid weight '2147483648'"),
            (["add-server", "-t", "192.0.2.1:80", "-r", "198.51.100.1:x1"], "ipvsctl: invalid port 'x1'"),
            (["delete-server", "-t", "192.0.2.1:80"], "ipvsctl: delete-server needs a real server"),
            (["timeout", "900", "120", "forever"], "ipvsctl: invalid timeout 'forever'"),
            (["daemon", "start", "primary"], "ipvsctl: invalid sync daemon role 'primary'"),
            (["zero", "-f", "0"], "ipvsctl: invalid firewall mark '0'"),
          ])
    func badInput(args: [String], message: String) throws {
        let (status, out, err) = try run(args)
        #expect(status == 2)
        #expect(out.isEmpty)
        #expect(err.hasPrefix(message), "\(err)")
        #expect(err.filter { $0 == "\n" }.count == 1)
    }

    @Test("a rule file with a syntax error names file and line and applies nothing",
          .enabled(if: FileManager.default.isExecutableFile(atPath: binary), "build ipvsctl first"))
    func badRuleFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ipvsctl-bad-\(getpid()).rules").path
        try "-A -t 192.0.2.1:80 -s rr\n\n-a -t 192.0.2.1:80 -r 198.51.100.1 -q\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (status, _, err) = try run(["restore", path])
        #expect(status == 2)
        #expect(err == "ipvsctl: \(path):3: error: unknown option '-q'\n")
        let (s2, _, e2) = try run(["restore", "/nonexistent/rules"])
        #expect(s2 == 2)
        #expect(e2 == "ipvsctl: /nonexistent/rules: cannot read the rule file\n")
    }
}
