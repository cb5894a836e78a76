import IPVS
import IPVSAdm
import Testing
import VigilSupport

/// Captures what the drop-in ipvsadm prints, and feeds it standard input.
final class BufferTerminal: IPVSAdmTerminal, @unchecked Sendable {
    var out = ""
    var err = ""
    var input: [String]

    init(input: String = "") {
        var lines: [String] = []
        var current = ""
        for c in input {
            current.append(c)
            if c == "\n" { lines.append(current); current = "" }
        }
        if !current.isEmpty { lines.append(current) }
        self.input = lines
    }

    func write(_ text: String) { out += text }
    func writeError(_ text: String) { err += text }
    func readLine() -> String? { input.isEmpty ? nil : input.removeFirst() }
}

@Suite struct IPVSAdmDropInTests {
    func words(_ line: String) -> [String] { line.split(separator: " ").map(String.init) }

    func exit(_ line: String) -> IPVSAdmExit? {
        do {
            _ = try RuleParser.ipvsadm(arguments: words(line), program: "ipvsadm")
            return nil
        } catch {
            return error
        }
    }

    func op(_ line: String) throws -> IPVSOperation? {
        try RuleParser.ipvsadm(arguments: words(line), program: "ipvsadm").operation
    }

    /// Messages and statuses captured from Debian's ipvsadm 1.31 for the same command lines.
    static let refused: [(line: String, message: String, status: Int32)] = [
        ("-A -t 192.0.2.300:80", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t 192.0.2.1:99999", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t 192.0.2.1", "Zero port specified for non-persistent service\n", 2),
        ("-A -t 192.0.2.5:80 -o", "One-Packet Scheduling is only for UDP virtual services\n", 2),
        ("-A -t 192.0.2.7:80 -s rr -b sh-port", "incompatible scheduler flag `sh-port'\n", 2),
        ("-A -t 192.0.2.7:80 -s rr -b nope", "invalid scheduler flag `nope'\n", 2),
        ("-A -6 -f 44", "-6 used before -f\n\n", 2),
        ("-A -f 0", "invalid fwmark value `0' specified\n", 2),
        ("-A -f abc", "invalid fwmark value `abc' specified\n", 2),
        ("-A -t [2001:db8::3]:443 -p -M 200", "illegal ipv6 netmask specified\n", 2),
        ("-A -t 192.0.2.8:80 -M bogus -p", "illegal virtual server persistent mask specified\n", 2),
        ("-A -t 192.0.2.11:80 -p 0", "invalid timeout value `0' specified\n", 2),
        ("-A -t 192.0.2.11:80 -p abc", "invalid timeout value `abc' specified\n", 2),
        ("-a -t 192.0.2.1:80 -r 198.51.100.6 -i --tun-type gue",
         "You need to supply the 'tun-port' option for the 'gue' tunnel type\n", 2),
        ("-a -t 192.0.2.1:80 -r 198.51.100.6 -i --tun-type gre --tun-port 1",
         "Illegal 'tun-port' option with the 'gre' tunnel type\n", 2),
        ("-a -t 192.0.2.1:80 -r 198.51.100.6 -i --tun-type gue --tun-port 1 --tun-csum --tun-remcsum",
         "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type\n", 2),
        ("-a -t 192.0.2.1:80 -r 198.51.100.6 --tun-type gre", "Tunnel options conflict with forward method\n", 2),
        ("-a -t 192.0.2.1:80 -r 198.51.100.6 -i --tun-type xyz", "illegal tunnel type specified\n", 2),
        ("-a -t 192.0.2.1:80 -r 2001:db8::9 -m", "Different address family is allowed only for tunneling servers\n", 2),
        ("-a -t 192.0.2.1:80", "You need to supply the 'real-server' option for the 'add-server' command\n", 2),
        ("-a -t 192.0.2.1:80 -r 198.51.100.20 -g -m", "multiple 'forwarding-method' options specified\n", 2),
        ("-a -t 192.0.2.1:80 -r 198.51.100.20 -s rr", "Illegal 'scheduler' option with the 'add-server' command\n", 2),
        ("-d -t 192.0.2.1:80 -r 198.51.100.2 -w 3", "Illegal 'weight' option with the 'delete-server' command\n", 2),
        ("-a -t 192.0.2.1:80 -r 198.51.100.42 -w -1", "illegal weight specified\n", 2),
        ("-a -t 192.0.2.1:80 -r 198.51.100.43 -w 2147483648", "illegal weight specified\n", 2),
        ("-a -t 192.0.2.1:80 -r 198.51.100.44 --u-threshold=abc", "illegal u_threshold specified\n", 2),
        ("-Ln -c --stats", "options conflicts in the list command\n", 2),
        ("-L --timeout --daemon", "The option 'daemon' conflicts with the 'timeout' option in the 'list' command\n", 2),
        ("-Ln --timeout --persistent-conn", "options conflicts in the list command\n", 2),
        ("-L -c -t 192.0.2.1:80",
         "The option 'service-address' conflicts with the 'connection' option in the 'list' command\n", 2),
        ("--set 100 20", "--set option requires 3 timeout values\n", 2),
        ("--set 100 20 abc", "invalid timeout value `abc' specified\n", 2),
        ("--start-daemon slave", "illegal start-daemon parameter specified\n", 2),
        ("--stop-daemon nobody", "illegal start_daemon specified\n", 2),
        ("--start-daemon master --mcast-group 198.51.100.1", "invalid IPv4 mcast-group `198.51.100.1'\n", 2),
        ("--start-daemon master --syncid 300", "illegal syncid specified\n", 2),
        ("-A -t 192.0.2.53:80 -s", "-s: missing argument\n", 255),
        ("-A -t", "-t: missing argument\n", 255),
        ("-A -q", "-q: unknown option\n", 255),
        ("-A --bogus", "--bogus: unknown option\n", 255),
        ("-A -t 192.0.2.62:80 --ops=1", "--ops=1: option does not take an argument\n", 255),
        ("--bogus", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255),
        ("-t 192.0.2.1:80", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255),
        ("-A -E -t 192.0.2.54:80", "invalid option `-E'\n", 2),
        ("-A -t 192.0.2.55:80 -t 192.0.2.56:80", "multiple 'service-address' options specified\n", 2),
        ("-A -t 192.0.2.55:80 -f 9", "multiple 'service-address' options specified\n", 2),
        ("-A -t 192.0.2.55:80 extra", "unexpected argument extra\n", 2),
        ("-A -t 192.0.2.55:80 -r 198.51.100.1", "Illegal 'real-server' option with the 'add-service' command\n", 2),
        ("-A -t 192.0.2.55:80 -n", "Illegal 'numeric' option with the 'add-service' command\n", 2),
        ("-D -t 192.0.2.55:80 -s rr", "Illegal 'scheduler' option with the 'delete-service' command\n", 2),
        ("-C -t 192.0.2.1:80", "Illegal 'service-address' option with the 'flush' command\n", 2),
        ("-A -t 192.0.2.59:nosuchport", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t 192.0.2.63:80 -6", "-6 used before -f\n\n", 2),
        ("-A -t 12345", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t [2001:db8::5]", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t 2001:db8::6", "Zero port specified for non-persistent service\n", 2),
        ("-A -t [2001:db8::7:80", "illegal virtual server address[:port] specified\n", 2),
        ("-S -n -t 192.0.2.1:80", "Illegal 'service-address' option with the 'save' command\n", 2),
        ("-R -n", "Illegal 'numeric' option with the 'restore' command\n", 2),
        ("-A -- -t 192.0.2.65:80", "unexpected argument -t\n", 2),
        ("-A -t 192.0.2.66:80 -", "unexpected argument -\n", 2),
    ]

    @Test("refused command lines: ipvsadm's message and exit status", arguments: refused)
    func refusedLines(_ c: (line: String, message: String, status: Int32)) {
        let e = exit(c.line)
        #expect(e?.message == c.message, "\(c.line)")
        #expect(e?.status == c.status, "\(c.line)")
    }

    @Test("popt errors after the command return rather than exit, so -R goes on with the next line")
    func poptErrorsReturn() {
        #expect(exit("-A -q")?.immediate == false)
        #expect(exit("-A -t 192.0.2.1:99999")?.immediate == true)
        #expect(exit("--bogus")?.immediate == true)
    }

    @Test("option spellings popt accepts: bundles, attached values, --long=value, -p with and without a value")
    func spellings() throws {
        let v = IPAddress("192.0.2.50")!
        #expect(try op("-At 192.0.2.50:80") == .addService(Service(key: .address(.tcp, v, 80))))
        #expect(try op("-A -t192.0.2.50:80 -srr") == .addService(Service(key: .address(.tcp, v, 80), scheduler: "rr")))
        #expect(try op("-A --tcp-service=192.0.2.50:80 --scheduler=rr")
            == .addService(Service(key: .address(.tcp, v, 80), scheduler: "rr")))
        #expect(try op("-A -t 192.0.2.50:80 -p30")
            == .addService(Service(key: .address(.tcp, v, 80), flags: [.persistent], timeout: 30)))
        #expect(try op("-A -t 192.0.2.50:80 -p -s rr")
            == .addService(Service(key: .address(.tcp, v, 80), scheduler: "rr", flags: [.persistent], timeout: 360)))
        #expect(try op("-A -t 192.0.2.50:http -s rr --")
            == .addService(Service(key: .address(.tcp, v, 80), scheduler: "rr")))
        let svc = ServiceKey.address(.tcp, IPAddress("192.0.2.1")!, 80)
        #expect(try op("-a -t 192.0.2.1:80 -r 198.51.100.41 -mw 4") == .addDestination(svc,
            Destination(address: IPAddress("198.51.100.41")!, port: 80, forwarding: .masquerade, weight: 4)))
        // Weights above 65535 are accepted, as Debian's 1.31 accepts them.
        #expect(try op("-a -t 192.0.2.1:80 -r 198.51.100.7:8080 -w 70000") == .addDestination(svc,
            Destination(address: IPAddress("198.51.100.7")!, port: 80, forwarding: .route, weight: 70000)))
    }

    @Test("what each command asks the kernel for")
    func operations() throws {
        let svc = ServiceKey.address(.tcp, IPAddress("192.0.2.1")!, 80)
        #expect(try op("-A -t 192.0.2.6:80 -p 600 -M 255.255.255.0 -s sh -b sh-fallback,sh-port") == .addService(
            Service(key: .address(.tcp, IPAddress("192.0.2.6")!, 80), scheduler: "sh",
                    flags: [.persistent, .sched1, .sched2], timeout: 600, netmask: 0xFFFF_FF00)))
        #expect(try op("-A -f 43 -6 -s rr -p") == .addService(
            Service(key: .firewallMark(43, .inet6), scheduler: "rr", flags: [.persistent], timeout: 360)))
        #expect(try op("-A -t [2001:db8::2]:443 -p 100 -M 64") == .addService(
            Service(key: .address(.tcp, IPAddress("2001:db8::2")!, 443), flags: [.persistent], timeout: 100, netmask: 64)))
        #expect(try op("-A -u 192.0.2.9:5060 -p 60 --pe sip") == .addService(
            Service(key: .address(.udp, IPAddress("192.0.2.9")!, 5060), flags: [.persistent], timeout: 60,
                    persistenceEngine: "sip")))
        #expect(try op("-a -t 192.0.2.1:80 -r 198.51.100.4 -i --tun-type gue --tun-port 6080 --tun-csum")
            == .addDestination(svc, Destination(address: IPAddress("198.51.100.4")!, port: 80, forwarding: .tunnel,
                                                tunnelType: .gue, tunnelPort: 6080, tunnelFlags: .checksum)))
        #expect(try op("-a -t 192.0.2.1:80 -r [2001:db8::9]:80 -i") == .addDestination(svc,
            Destination(address: IPAddress("2001:db8::9")!, port: 80, forwarding: .tunnel)))
        #expect(try op("-d -t 192.0.2.1:80 -r 198.51.100.2")
            == .deleteDestination(svc, DestinationKey(IPAddress("198.51.100.2")!, 80)))
        #expect(try op("-Z") == .zero(nil))
        #expect(try op("-Z -t 192.0.2.1:80") == .zero(svc))
        #expect(try op("--set 100 20 30") == .setTimeouts(Timeouts(tcp: 100, tcpFin: 20, udp: 30)))
        #expect(try op("--start-daemon backup --mcast-interface lo --syncid 7 --sync-maxlen 1000 --mcast-group 224.0.0.99 --mcast-port 8849 --mcast-ttl 2")
            == .startDaemon(SyncDaemon(role: .backup, interface: "lo", syncID: 7, maxLength: 1000,
                                       multicastGroup: IPAddress("224.0.0.99"), multicastPort: 8849, multicastTTL: 2)))
        #expect(try op("--start-daemon master") == .startDaemon(SyncDaemon(role: .master, interface: "eth0")))
        #expect(try op("-C") == .flush)
        #expect(try op("-Ln") == nil)
    }

    func dropIn(_ ipvs: FakeIPVS, input: String = "") -> (IPVSAdmDropIn, BufferTerminal) {
        let t = BufferTerminal(input: input)
        return (IPVSAdmDropIn(program: "ipvsadm", ipvs: ipvs, terminal: t), t)
    }

    @Test("-h and -v print ipvsadm's text on standard output and exit 0")
    func helpAndVersion() async throws {
        let (adm, t) = dropIn(FakeIPVS())
        #expect(await adm.run(["-v"]) == 0)
        #expect(t.out == "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n")
        t.out = ""
        #expect(await adm.run(["-h"]) == 0)
        #expect(t.out.hasPrefix(IPVSAdmDropIn.version + "\nUsage:\n  ipvsadm -A|E virtual-service"))
        #expect(t.out.hasSuffix("  --mcast-ttl ttl                     Multicast TTL (default=1)\n"))
        #expect(t.err.isEmpty)
    }

    @Test("kernel refusals print libipvs's messages and exit 255; a missing service in -L exits 1")
    func kernelMessages() async throws {
        let (adm, t) = dropIn(FakeIPVS())
        #expect(await adm.run(words("-A -t 192.0.2.1:80 -s rr")) == 0)
        #expect(await adm.run(words("-A -t 192.0.2.1:80 -s rr")) == 255)
        #expect(await adm.run(words("-E -t 192.0.2.99:80 -s wlc")) == 255)
        #expect(await adm.run(words("-a -t 192.0.2.99:80 -r 198.51.100.1")) == 255)
        #expect(await adm.run(words("-d -t 192.0.2.1:80 -r 198.51.100.77")) == 255)
        #expect(await adm.run(words("-Ln -t 192.0.2.98:80")) == 1)
        #expect(t.err == "Service already exists\nNo such service\nService not defined\nNo such destination\nNo such service\n")
    }

    @Test("-Ln and -Sn print the listing and rules of ipvsadm")
    func listings() async throws {
        let (adm, t) = dropIn(FakeIPVS())
        for line in ["-A -t 192.0.2.1:80 -s rr", "-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 3", "-A -f 42 -s mh -b mh-port"] {
            #expect(await adm.run(words(line)) == 0)
        }
        #expect(await adm.run(["-Ln"]) == 0)
        #expect(t.out == """
            IP Virtual Server version 1.2.1 (size=4096)
            Prot LocalAddress:Port Scheduler Flags
              -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
            TCP  192.0.2.1:80 rr
              -> 198.51.100.1:8080            Masq    3      0          0         
            FWM  42 mh (mh-port)

            """)
        t.out = ""
        #expect(await adm.run(["-Sn"]) == 0)
        #expect(t.out == "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 3\n-A -f 42 -s mh -b mh-port\n")
        t.out = ""
        #expect(await adm.run(words("-L --timeout")) == 0)
        #expect(t.out == "Timeout (tcp tcpfin udp): 900 120 300\n")
    }

    @Test("-R runs line by line: kernel errors go on, syntax errors stop, the status is the last line's")
    func restore() async throws {
        let fake = FakeIPVS()
        var (adm, t) = dropIn(fake, input: "-A -t 192.0.2.71:80\n-A -t 192.0.2.71:80\nipvsadm -A -t 192.0.2.72:80\n\n")
        #expect(await adm.run(["-R"]) == 0)
        #expect(t.err == "Service already exists\n")
        (adm, t) = dropIn(fake, input: "-A -t 192.0.2.73:80\n-A -t 192.0.2.300:80\n-A -t 192.0.2.74:80\n")
        #expect(await adm.run(["-R"]) == 2)
        #expect(t.err == "illegal virtual server address[:port] specified\n")
        (adm, t) = dropIn(fake, input: "-A -t 192.0.2.77:80 -s wrr\n-A -t 192.0.2.77:80")
        #expect(await adm.run(["-R"]) == 255)
        (adm, t) = dropIn(fake, input: "# comment\n-A -t 192.0.2.75:80\n")
        #expect(await adm.run(["-R"]) == 255)
        #expect(t.err == "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n")
        (adm, t) = dropIn(fake, input: "-R\n")
        #expect(await adm.run(["-R"]) == 255)
        let keys = try await fake.table().map(\.service.key.description)
        #expect(keys == ["TCP 192.0.2.71:80", "TCP 192.0.2.72:80", "TCP 192.0.2.73:80", "TCP 192.0.2.77:80"])
    }
}
