import Foundation
import Testing
import VigilTestSupport

/// One command line of the drop-in comparison, with optional standard input (for `-R`).
struct AdmStep: CustomStringConvertible {
    var arguments: [String]
    var input: String?

    init(_ line: String, input: String? = nil) {
        arguments = line.split(separator: " ").map(String.init)
        self.input = input
    }

    var description: String {
        "ipvsadm " + arguments.joined(separator: " ") + (input.map { " <<< \($0.debugDescription)" } ?? "")
    }
}

/// `ipvsctl` invoked as `ipvsadm` (through a symlink) beside Debian's ipvsadm 1.31, on the same
/// command lines against the same kernel table.
@Suite(.tags(.ipvsKernel, .reference), .requiresIPVS, .serialized)
final class IPVSAdmDropInKernelTests {
    typealias L = IPVSCtlLab

    /// Where the symlink lives: the guest's tmpfs when there is one (the shared root has no page
    /// cache, so a debug binary there loads slowly on every run).
    let directory: String

    init() throws {
        #expect(FileManager.default.isExecutableFile(atPath: L.ipvsctl), "build first: swift build --build-tests")
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        directory = base + "/vigil-ipvsadm-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: L.ipvsctl, toPath: directory + "/ipvsctl")
        try FileManager.default.createSymbolicLink(atPath: directory + "/ipvsadm", withDestinationPath: directory + "/ipvsctl")
        try L.reset()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `ipvsadm` found through PATH, as scripts call it (so argv[0] is `ipvsadm` for both).
    func run(_ step: AdmStep, path: String, command: String = "exec ipvsadm \"$@\"") throws -> IPVSCtlLab.Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", command, "ipvsadm"] + step.arguments
        p.environment = ["PATH": path, "LC_ALL": "C"]
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = step.input == nil ? FileHandle.nullDevice : inp
        try p.run()
        if let input = step.input {
            inp.fileHandleForWriting.write(Data(input.utf8))
            try inp.fileHandleForWriting.close()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return .init(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self),
                     err: String(decoding: e, as: UTF8.self))
    }

    /// Connection expiry counts down between the two runs: mask it (`pro expire state ...`).
    func masked(_ s: String) -> String {
        s.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            guard line.count > 10, line.dropFirst(4).prefix(5).allSatisfy({ $0.isNumber || $0 == ":" }) else {
                return String(line)
            }
            return String(line.prefix(4)) + "xx:xx" + String(line.dropFirst(9))
        }.joined(separator: "\n")
    }

    /// Runs every step through both, from the same empty table, and compares each step's output.
    func compare(_ steps: [AdmStep]) throws {
        let realPath = "/usr/sbin:/usr/bin:/sbin:/bin"
        let oursPath = directory + ":" + realPath
        // The comparison is only worth something if PATH finds the symlink, not Debian's ipvsadm.
        let found = try run(AdmStep(""), path: oursPath, command: "command -v ipvsadm")
        #expect(found.out == directory + "/ipvsadm\n", "PATH lookup: \(found.out)\(found.err)")
        try L.reset()
        let expected = try steps.map { try run($0, path: realPath) }
        try L.reset()
        let actual = try steps.map { try run($0, path: oursPath) }
        try L.reset()
        for (i, step) in steps.enumerated() {
            let (e, a) = (expected[i], actual[i])
            #expect(a.status == e.status, "\(step): status")
            #expect(masked(a.out) == masked(e.out), "\(step): standard output")
            #expect(a.err == e.err, "\(step): standard error")
        }
    }

    @Test("services and servers: adds, edits, deletes in every forwarding method, fwmark, IPv6, persistence")
    func servicesAndServers() throws {
        try compare([
            "-A -t 192.0.2.1:80 -s rr", "-A -t 192.0.2.1:80 -s rr", "-A -t 192.0.2.3:0 -p",
            "-A -u 192.0.2.4:53 -o", "-A -t 192.0.2.6:80 -p 600 -M 255.255.255.0 -s sh -b sh-fallback,sh-port",
            "-A -f 42 -s mh -b mh-port", "-A -f 43 -6 -s rr -p", "-A -t [2001:db8::1]:80 -s wrr",
            "-A -t [2001:db8::2]:443 -p 100 -M 64", "-A -u 192.0.2.9:5060 -p 60 --pe sip",
            "--add-service --sctp-service 192.0.2.12:3868 -s lc", "-At 192.0.2.50:80", "-A -t192.0.2.51:80 -srr",
            "-A --tcp-service=192.0.2.52:80 --scheduler=rr", "-A -t 192.0.2.58:http", "-A -t 192.0.2.60:80 -p30",
            "-A -t 192.0.2.61:80 -p -s rr", "-A -t 192.0.2.57:80 -p 30 -s rr -M 255.255.0.0",
            "-E -t 192.0.2.1:80 -s wlc", "-E -t 192.0.2.50:80 -s sh -b sh-port -p 20",
            "-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 3", "-a -t 192.0.2.1:80 -r 198.51.100.2 -g",
            "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -i",
            "-a -t 192.0.2.1:80 -r 198.51.100.4 -i --tun-type gue --tun-port 6080 --tun-csum",
            "-a -t 192.0.2.1:80 -r 198.51.100.5 -i --tun-type gre --tun-nocsum",
            "-a -t 192.0.2.1:80 -r 198.51.100.7 -w 70000", "-a -t 192.0.2.1:80 -r 198.51.100.8 -x 100 -y 50 -w 2",
            "-a -t 192.0.2.1:80 -r [2001:db8::9]:80 -i", "-a -t 192.0.2.1:80 -r 198.51.100.40 --weight=4 --masquerading",
            "-a -t 192.0.2.1:80 -r 198.51.100.41 -mw 4", "-a -t 192.0.2.1:80 -r 198.51.100.45:0 -m",
            "-a -t [2001:db8::1]:80 -r [2001:db8::100]:80 -m -w 2", "-a -f 42 -r 198.51.100.30 -w 0",
            "-a -f 43 -6 -r 2001:db8::31 -g", "--add-server --sctp-service 192.0.2.12:3868 -r 198.51.100.50 -m",
            "-e -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 7", "-e -t 192.0.2.1:80 -r 198.51.100.8 -x 10 -y 5",
            "-e -t 192.0.2.1:80 -r 198.51.100.3 -i --tun-type gre --tun-csum",
            "-Ln", "-Ln --thresholds", "-Ln --tun-info", "-Sn",
            "-d -t 192.0.2.1:80 -r 198.51.100.2", "-d -f 42 -r 198.51.100.30", "-D -t 192.0.2.50:80",
            "-D -f 43 -6", "-Ln", "-Sn", "-C", "-Ln",
        ].map { AdmStep($0) })
    }

    @Test("listings: -L variants, names, one service, --timeout, -c, -Z")
    func listings() throws {
        try compare([
            "-A -t 192.0.2.1:80 -s rr", "-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 3",
            "-a -t 192.0.2.1:80 -r 198.51.100.3 -i --tun-type gue --tun-port 6080 --tun-remcsum",
            "-A -u 192.0.2.4:53 -p 30", "-a -u 192.0.2.4:53 -r 198.51.100.9 -m", "-A -f 42 -6 -s sh -b flag-3",
            "-A -t [2001:db8::1]:443 -s wrr", "-a -t [2001:db8::1]:443 -r [2001:db8::100]:8443 -m",
            "-L", "-Ln", "-l -n", "-Ln --stats", "-Ln --rate", "-Ln --stats --exact", "-L -n --exact", "-Ln -X",
            "-Ln --thresholds", "-Ln --persistent-conn", "-Ln --tun-info", "-Ln --nosort", "-Ln --sort",
            "-L -n --stats --rate", "-Ln -t 192.0.2.1:80", "-Ln -t 192.0.2.98:80", "-Ln -f 42 -6", "-Ln -f 42",
            "-L -u 192.0.2.4:53 --stats", "-Ln -t [2001:db8::1]:443 --persistent-conn", "-S", "-Sn", "-S -n",
            "-Lnc", "-Ln -c --persistent-conn", "-L -c", "-Ln --timeout", "-Ln --daemon",
            "-Z", "-Z -t 192.0.2.1:80", "-Z -t 192.0.2.98:80", "-Z -f 42 -6",
        ].map { AdmStep($0) })
    }

    @Test("timeouts, sync daemons, -R/-S round trip, help and version")
    func timeoutsDaemonsRestore() throws {
        _ = try L.run("/sbin/ip", ["link", "add", "vigiladm0", "type", "dummy"])
        _ = try L.run("/sbin/ip", ["link", "set", "vigiladm0", "up"])
        _ = try L.run("/sbin/ip", ["addr", "add", "203.0.113.254/24", "dev", "vigiladm0"])
        defer { _ = try? L.run("/sbin/ip", ["link", "del", "vigiladm0"]) }
        let varied = try String(contentsOfFile: L.varied, encoding: .utf8)
        try compare([
            AdmStep("--set 100 20 30"), AdmStep("-L --timeout"), AdmStep("--set 0 0 0"), AdmStep("-L --timeout"),
            AdmStep("--set 900 120 300"),
            AdmStep("--start-daemon master --mcast-interface vigiladm0 --syncid 5"),
            AdmStep("--start-daemon master --mcast-interface vigiladm0"),
            AdmStep("--start-daemon backup --mcast-interface vigiladm0 --syncid 7 --sync-maxlen 1000 --mcast-group 224.0.0.99 --mcast-port 8849 --mcast-ttl 2"),
            AdmStep("-L --daemon"), AdmStep("-Ln --daemon"), AdmStep("--stop-daemon master"),
            AdmStep("--stop-daemon master"), AdmStep("-L --daemon"), AdmStep("--stop-daemon backup"),
            AdmStep("--start-daemon master --mcast-interface nosuchif0"), AdmStep("--start-daemon master"),
            AdmStep("-R", input: varied), AdmStep("-Sn"), AdmStep("-Ln"), AdmStep("-S"),
            AdmStep("-R", input: "-A -t 192.0.2.71:80\n-A -t 192.0.2.71:80\nipvsadm -A -t 192.0.2.72:80\n\n"),
            AdmStep("-R", input: "-A -t 192.0.2.73:80\n-A -t 192.0.2.300:80\n-A -t 192.0.2.74:80\n"),
            AdmStep("-R", input: "# comment\n-A -t 192.0.2.75:80\n"),
            AdmStep("-R", input: "\n  -A\t-t 192.0.2.76:80 -s \"rr\"\n"),
            AdmStep("-R", input: "-R\n"), AdmStep("-R", input: "-A -t 192.0.2.77:80 -s wrr\n-A -t 192.0.2.77:80"),
            AdmStep("-R", input: "-L -n\n-A -q\n-C\n"), AdmStep("-Sn"), AdmStep("-C"), AdmStep("-R", input: "-h\n-C\n"),
            AdmStep("-h"), AdmStep("--help"), AdmStep("-v"), AdmStep("--version"), AdmStep(""),
        ])
    }

    @Test("refused command lines: bad addresses, unknown scheduler, missing service, conflicting options")
    func errors() throws {
        try compare([
            "-A -t 192.0.2.1:80 -s rr", "-a -t 192.0.2.1:80 -r 198.51.100.1 -m",
            "-A -t 192.0.2.2:80 -s nosuch", "-A -u 192.0.2.10:5060 -p 60 --pe nope", "-A -t 192.0.2.300:80",
            "-A -t 192.0.2.1:99999", "-A -t 192.0.2.1", "-A -t 192.0.2.5:80 -o", "-A -t 192.0.2.7:80 -s rr -b sh-port",
            "-A -t 192.0.2.7:80 -s rr -b nope", "-A -6 -f 44", "-A -f 0", "-A -f abc",
            "-A -t [2001:db8::3]:443 -p -M 200", "-A -t 192.0.2.8:80 -M bogus -p", "-A -t 192.0.2.11:80 -p 0",
            "-A -t 192.0.2.11:80 -p abc", "-E -t 192.0.2.99:80 -s wlc", "-D -t 192.0.2.99:80",
            "-a -t 192.0.2.1:80 -r 198.51.100.6 -i --tun-type gue",
            "-a -t 192.0.2.1:80 -r 198.51.100.6 -i --tun-type gre --tun-port 1",
            "-a -t 192.0.2.1:80 -r 198.51.100.6 -i --tun-type gue --tun-port 1 --tun-csum --tun-remcsum",
            "-a -t 192.0.2.1:80 -r 198.51.100.6 --tun-type gre", "-a -t 192.0.2.1:80 -r 198.51.100.6 -i --tun-type xyz",
            "-a -t 192.0.2.1:80 -r 198.51.100.8 -x 10 -y 50", "-a -t 192.0.2.1:80 -r 198.51.100.1 -m",
            "-a -t 192.0.2.1:80 -r 2001:db8::9 -m", "-a -t 192.0.2.99:80 -r 198.51.100.1", "-a -t 192.0.2.1:80",
            "-a -t 192.0.2.1:80 -r 198.51.100.20 -g -m", "-a -t 192.0.2.1:80 -r 198.51.100.20 -s rr",
            "-e -t 192.0.2.1:80 -r 198.51.100.77 -m -w 7", "-d -t 192.0.2.1:80 -r 198.51.100.77",
            "-d -t 192.0.2.1:80 -r 198.51.100.2 -w 3", "-a -t 192.0.2.1:80 -r 198.51.100.42 -w -1",
            "-a -t 192.0.2.1:80 -r 198.51.100.43 -w 2147483648", "-a -t 192.0.2.1:80 -r 198.51.100.44 --u-threshold=abc",
            "-a -t 192.0.2.1:80 -r host.invalid", "-Ln -c --stats", "-L --timeout --daemon",
            "-Ln --timeout --persistent-conn", "-L -c -t 192.0.2.1:80", "--set 100 20", "--set 100 20 abc",
            "--start-daemon slave", "--stop-daemon nobody", "--start-daemon master --mcast-group 198.51.100.1",
            "--start-daemon master --mcast-group ff02::zz", "--start-daemon master --syncid 300",
            "-A -t 192.0.2.53:80 -s", "-A -t", "-A -q", "-A --bogus", "--bogus", "-t 192.0.2.1:80",
            "-A -E -t 192.0.2.54:80", "-A -t 192.0.2.55:80 -t 192.0.2.56:80", "-A -t 192.0.2.55:80 -f 9",
            "-A -t 192.0.2.55:80 extra", "-A -t 192.0.2.55:80 -r 198.51.100.1", "-A -t 192.0.2.55:80 -n",
            "-D -t 192.0.2.55:80 -s rr", "-C -t 192.0.2.1:80", "-A -t 192.0.2.59:nosuchport",
            "-A -t 192.0.2.62:80 --ops=1", "-A -t 192.0.2.63:80 -6", "-A -t 12345", "-A -t [2001:db8::5]",
            "-A -t 2001:db8::6", "-A -t [2001:db8::7:80", "-S -n -t 192.0.2.1:80", "-R -n",
            "-A -- -t 192.0.2.65:80", "-A -t 192.0.2.66:80 -", "-Lq", "-L -n -n", "-A -t 192.0.2.1:80 -Ln",
            "-A -t [192.0.2.80]:80", "-A -t 192.0.2.81:+80", "-A -t 0xc0.0.2.84:82", "-A -t 192.0.2.83:80 -s verylongschedulername",
            "-Ln",
        ].map { AdmStep($0) })
    }
}
