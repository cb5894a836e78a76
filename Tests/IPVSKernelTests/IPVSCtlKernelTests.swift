import Foundation
import Testing
import VigilTestSupport

/// Runs programs for the ipvsctl cross-checks and captures what they print.
enum IPVSCtlLab {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let ipvsctl = root.appendingPathComponent(".build/debug/ipvsctl").path
    static let varied = root.appendingPathComponent("Fixtures/ipvs/varied.rules").path

    struct Result {
        var status: Int32
        var out: String
        var err: String
    }

    /// Runs `executable` with `arguments` (and optional standard input) to completion.
    static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input == nil ? FileHandle.nullDevice : inp
        try p.run()
        if let input {
            inp.fileHandleForWriting.write(Data(input.utf8))
            try inp.fileHandleForWriting.close()
        }
        // Read both pipes before waiting so large outputs cannot block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self),
                      err: String(decoding: e, as: UTF8.self))
    }

    static func ctl(_ args: String..., input: String? = nil) throws -> Result {
        try run(ipvsctl, args, input: input)
    }

    static func ctl(_ args: [String], input: String? = nil) throws -> Result {
        try run(ipvsctl, args, input: input)
    }

    @discardableResult
    static func adm(_ args: String..., input: String? = nil) throws -> Result {
        try run(Lab.which("ipvsadm") ?? "/usr/sbin/ipvsadm", args, input: input)
    }

    static func adm(_ args: [String], input: String? = nil) throws -> Result {
        try run(Lab.which("ipvsadm") ?? "/usr/sbin/ipvsadm", args, input: input)
    }

    /// Empties the table and resets timeouts (tests start and end clean).
    static func reset() throws {
        try adm("-C")
        try adm("--set", "900", "120", "300")
        try adm("--stop-daemon", "master")
        try adm("--stop-daemon", "backup")
    }
}

/// ipvsctl against the real kernel, cross-checked with Debian's ipvsadm (an independent implementation).
@Suite(.tags(.ipvsKernel, .reference), .requiresIPVS, .serialized)
struct IPVSCtlKernelTests {
    typealias L = IPVSCtlLab

    init() throws {
        #expect(FileManager.default.isExecutableFile(atPath: L.ipvsctl), "build first: swift build --build-tests")
        try L.reset()
    }

    @Test("ipvsctl restore of the varied rules: ipvsadm -Sn prints the same rules ipvsadm -R produces")
    func restoreThenIpvsadmSave() throws {
        try L.adm("-C")
        let viaIpvsadm = try L.adm("-R", input: try String(contentsOfFile: L.varied, encoding: .utf8))
        #expect(viaIpvsadm.status == 0, "\(viaIpvsadm.err)")
        let expectedSave = try L.adm("-Sn").out
        let expectedThresholds = try L.adm("-Ln", "--thresholds").out
        let expectedTunnels = try L.adm("-Ln", "--tun-info").out
        try L.adm("-C")

        let r = try L.ctl("restore", L.varied)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.isEmpty)
        #expect(try L.adm("-Sn").out == expectedSave)
        #expect(try L.adm("-Ln", "--thresholds").out == expectedThresholds)
        #expect(try L.adm("-Ln", "--tun-info").out == expectedTunnels)
        // Restoring from standard input works the same.
        try L.adm("-C")
        let stdin = try L.ctl("restore", input: try String(contentsOfFile: L.varied, encoding: .utf8))
        #expect(stdin.status == 0, "\(stdin.err)")
        #expect(try L.adm("-Sn").out == expectedSave)
        try L.reset()
    }

    @Test("after ipvsadm -R, every ipvsctl listing equals ipvsadm's")
    func listingsMatch() throws {
        _ = try L.adm("-R", input: try String(contentsOfFile: L.varied, encoding: .utf8))
        let numericCases: [[String]] = [
            [], ["--stats"], ["--rate"], ["--thresholds"], ["--persistent-conn"], ["--exact"], ["--tun-info"],
            ["--stats", "--exact"], ["--nosort"], ["-t", "192.0.2.2:443"], ["--sctp-service", "192.0.2.4:3868"],
            ["-t", "[2001:db8::1]:80"], ["-f", "43", "-6"], ["--rate", "-u", "192.0.2.3:53"],
        ]
        for options in numericCases {
            let expected = try L.adm(["-L", "-n"] + options)
            let actual = try L.ctl(["list", "-n"] + options)
            #expect(actual.status == expected.status, "\(actual.err)")
            #expect(actual.out == expected.out, "ipvsctl list -n \(options.joined(separator: " "))")
        }
        // Name resolution (reverse lookups and /etc/services), as ipvsadm does it.
        for options in [[], ["--stats"], ["-u", "192.0.2.7:5060"]] {
            let expected = try L.adm(["-L"] + options)
            let actual = try L.ctl(["list"] + options)
            #expect(actual.out == expected.out, "ipvsctl list \(options.joined(separator: " "))")
        }
        try L.reset()
    }

    @Test("ipvsctl save -n and save equal ipvsadm -Sn and -S")
    func saveMatches() throws {
        _ = try L.adm("-R", input: try String(contentsOfFile: L.varied, encoding: .utf8))
        #expect(try L.ctl("save", "-n").out == (try L.adm("-Sn").out))
        #expect(try L.ctl("save").out == (try L.adm("-S").out))
        // save --with-thresholds keeps -x/-y, and restoring it reproduces the thresholds.
        let full = try L.ctl("save", "-n", "--with-thresholds").out
        #expect(full.contains("-x 100 -y 10"))
        let thresholds = try L.adm("-Ln", "--thresholds").out
        try L.adm("-C")
        #expect(try L.ctl("restore", input: full).status == 0)
        #expect(try L.adm("-Ln", "--thresholds").out == thresholds)
        try L.reset()
    }

    @Test("timeouts, sync daemons and the connection table match ipvsadm")
    func timeoutsDaemonsConnections() throws {
        #expect(try L.ctl("list", "--timeout").out == (try L.adm("-L", "--timeout").out))
        #expect(try L.ctl("timeout", "901", "121", "301").status == 0)
        #expect(try L.adm("-L", "--timeout").out == "Timeout (tcp tcpfin udp): 901 121 301\n")
        #expect(try L.ctl("timeout").out == "Timeout (tcp tcpfin udp): 901 121 301\n")

        _ = try L.run("/sbin/ip", ["link", "add", "vigilctl0", "type", "dummy"])
        _ = try L.run("/sbin/ip", ["link", "set", "vigilctl0", "up"])
        _ = try L.run("/sbin/ip", ["addr", "add", "192.0.2.254/24", "dev", "vigilctl0"])
        defer { _ = try? L.run("/sbin/ip", ["link", "del", "vigilctl0"]) }
        #expect(try L.ctl("daemon", "start", "master", "--mcast-interface", "vigilctl0", "--syncid", "7").status == 0)
        try L.adm("--start-daemon", "backup", "--mcast-interface", "vigilctl0", "--syncid", "9")
        #expect(try L.ctl("list", "--daemon").out == (try L.adm("-L", "--daemon").out))
        #expect(try L.ctl("daemon", "list").out == (try L.adm("-L", "--daemon").out))
        #expect(try L.ctl("daemon", "stop", "master").status == 0)
        #expect(try L.adm("-L", "--daemon").out.hasPrefix("backup"))

        _ = try L.adm("-R", input: try String(contentsOfFile: L.varied, encoding: .utf8))
        for _ in 0..<2 {
            _ = try L.run("/usr/bin/timeout", ["1", "bash", "-c", "echo > /dev/tcp/192.0.2.1/80"])
        }
        func masked(_ s: String) -> String {
            s.split(separator: "\n").map { line in
                line.hasPrefix("TCP ") ? String(line.prefix(4)) + "xx:xx" + String(line.dropFirst(9)) : String(line)
            }.joined(separator: "\n")
        }
        for options in [["-n"], [], ["-n", "--persistent-conn"]] {
            let expected = try L.adm(["-L", "-c"] + options).out
            let actual = try L.ctl(["list", "-c"] + options).out
            #expect(expected.contains("SYN_RECV"))
            #expect(masked(actual) == masked(expected), "list -c \(options)")
        }
        try L.reset()
    }

    @Test("service and server subcommands round-trip through the kernel")
    func subcommands() throws {
        func save() throws -> String { try L.adm("-Sn").out }
        #expect(try L.ctl("add-service", "-t", "192.0.2.10:80", "-s", "wrr", "-p", "120").status == 0)
        #expect(try L.ctl("add-server", "-t", "192.0.2.10:80", "-r", "198.51.100.5:8080", "-m", "-w", "3").status == 0)
        #expect(try L.ctl("add-server", "-t", "192.0.2.10:80", "-r", "198.51.100.6", "-g").status == 0)
        #expect(try save() == """
            -A -t 192.0.2.10:80 -s wrr -p 120
            -a -t 192.0.2.10:80 -r 198.51.100.5:8080 -m -w 3
            -a -t 192.0.2.10:80 -r 198.51.100.6:80 -g -w 1

            """)
        #expect(try L.ctl("edit-service", "-t", "192.0.2.10:80", "-s", "sh", "-b", "sh-port").status == 0)
        #expect(try L.ctl("edit-server", "-t", "192.0.2.10:80", "-r", "198.51.100.5:8080", "-m", "-w", "0").status == 0)
        #expect(try L.ctl("delete-server", "-t", "192.0.2.10:80", "-r", "198.51.100.6").status == 0)
        #expect(try save() == """
            -A -t 192.0.2.10:80 -s sh -b sh-port
            -a -t 192.0.2.10:80 -r 198.51.100.5:8080 -m -w 0

            """)
        #expect(try L.ctl("zero", "-t", "192.0.2.10:80").status == 0)
        #expect(try L.ctl("zero").status == 0)
        let json = try L.ctl("list", "--json")
        #expect(json.status == 0)
        #expect(json.out.contains("\"scheduler\" : \"sh\""))
        let info = try L.ctl("info")
        #expect(info.out.contains("services: 1"))
        let watch = try L.ctl("watch", "-n", "--count", "2", "--interval", "0.2", "--no-clear")
        #expect(watch.status == 0)
        #expect(watch.out.contains("TCP  192.0.2.10:80"))
        #expect(try L.ctl("delete-service", "-t", "192.0.2.10:80").status == 0)
        #expect(try save() == "")
        #expect(try L.ctl("restore", L.varied).status == 0)
        #expect(try L.ctl("flush").status == 0)
        #expect(try save() == "")
        try L.reset()
    }

    @Test("bad input: a clear one-line error, non-zero exit, nothing applied")
    func badInput() throws {
        func fails(_ args: [String], input: String? = nil, _ message: String) throws {
            let r = try L.ctl(args, input: input)
            #expect(r.status != 0, "\(args)")
            #expect(r.err.contains(message), "\(args): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "one line: \(r.err)")
        }
        try fails(["add-service", "-t", "300.1.1.1:80"], "invalid service address '300.1.1.1:80'")
        try fails(["add-service", "-t", "192.0.2.1:65536"], "invalid port '65536'")
        try fails(["add-service", "-t", "192.0.2.1:80", "-s", "fastest"], "unknown scheduler 'fastest'")
        try fails(["add-server", "-t", "192.0.2.1:80", "-r", "198.51.100.1", "-w", "-1"], "invalid weight '-1'")
        try fails(["edit-service", "-t", "192.0.2.77:80"], "TCP 192.0.2.77:80")
        try fails(["list", "-t", "192.0.2.99:80"], "192.0.2.99:80")
        #expect(try L.adm("-Sn").out == "")

        let rules = """
            -A -t 192.0.2.1:80 -s rr
            -a -t 192.0.2.1:80 -r 198.51.100.1 -m
            -a -t 192.0.2.1:80 -r 198.51.100.2 -m -w lots
            """
        try fails(["restore"], input: rules, "<stdin>:3: error: invalid weight 'lots'")
        #expect(try L.adm("-Sn").out == "", "a syntax error applies nothing")

        _ = try L.adm("-A", "-t", "192.0.2.1:80")
        try fails(["restore"], input: "-A -t 192.0.2.5:80\n-A -t 192.0.2.1:80 -s rr\n",
                  "<stdin>:2: error: service already exists (rule: -A -t 192.0.2.1:80 -s rr)")
        #expect(try L.adm("-Sn").out == "-A -t 192.0.2.1:80 -s wlc\n", "nothing applied")
        try L.reset()
    }
}
