import IPVS
import IPVSAdm
import Testing
import VigilSupport

@Suite struct RuleParserTests {
    func op(_ line: String) throws -> IPVSOperation {
        let rules = try RuleParser.parse(line, file: "t.rules")
        return try #require(rules.first).operation
    }

    func error(_ text: String) -> RuleSyntaxError? {
        do {
            _ = try RuleParser.parse(text, file: "bad.rules")
            return nil
        } catch {
            return error
        }
    }

    @Test("ipvsadm -S lines parse to the operations they describe")
    func services() throws {
        let v4 = IPAddress("192.0.2.2")!
        #expect(try op("-A -t 192.0.2.2:443 -s sh -p 600 -M 255.255.255.0 -b sh-fallback,sh-port") == .addService(
            Service(key: .address(.tcp, v4, 443), scheduler: "sh", flags: [.persistent, .sched1, .sched2],
                    timeout: 600, netmask: 0xFFFF_FF00)))
        #expect(try op("-A -u 192.0.2.3:53 -s lc -o")
            == .addService(Service(key: .address(.udp, IPAddress("192.0.2.3")!, 53), scheduler: "lc", flags: [.onePacket])))
        #expect(try op("-A -f 43 -6 -s wlc -p 300 -M 64")
            == .addService(Service(key: .firewallMark(43, .inet6), scheduler: "wlc", flags: [.persistent], timeout: 300, netmask: 64)))
        #expect(try op("-E --sctp-service 192.0.2.4:3868")
            == .editService(Service(key: .address(.sctp, IPAddress("192.0.2.4")!, 3868), scheduler: "wlc")))
        #expect(try op("-D -t [2001:db8::1]:80") == .deleteService(.address(.tcp, IPAddress("2001:db8::1")!, 80)))
        // -p without a value means 360 s, as in ipvsadm; a following option is not taken as the value.
        #expect(try op("-A -t 198.51.100.200:25 -s lblcr -p") == .addService(
            Service(key: .address(.tcp, IPAddress("198.51.100.200")!, 25), scheduler: "lblcr", flags: [.persistent], timeout: 360)))
        #expect(try op("-A -t 192.0.2.9:80 -p -s rr") == .addService(
            Service(key: .address(.tcp, IPAddress("192.0.2.9")!, 80), scheduler: "rr", flags: [.persistent], timeout: 360)))
        // Long options, --opt=value, attached short values and a named port.
        #expect(try op("--add-service --tcp-service=192.0.2.9:http -srr") == .addService(
            Service(key: .address(.tcp, IPAddress("192.0.2.9")!, 80), scheduler: "rr")))
    }

    @Test("real servers: forwarding, weight, thresholds, tunnels, port rules")
    func servers() throws {
        let svc = ServiceKey.address(.tcp, IPAddress("192.0.2.1")!, 80)
        #expect(try op("-a -t 192.0.2.1:80 -r 198.51.100.11:8080 -m -w 0 -x 100 -y 10") == .addDestination(svc,
            Destination(address: IPAddress("198.51.100.11")!, port: 8080, forwarding: .masquerade, weight: 0,
                        upperThreshold: 100, lowerThreshold: 10)))
        // Direct routing and tunnels use the service port whatever the server port says (ipvsadm does the same).
        #expect(try op("-a -t 192.0.2.1:80 -r 198.51.100.12:8080") == .addDestination(svc,
            Destination(address: IPAddress("198.51.100.12")!, port: 80, forwarding: .route, weight: 1)))
        #expect(try op("-e -t 192.0.2.1:80 -r 198.51.100.21 -i --tun-type gue --tun-port 6080 --tun-csum") == .editDestination(svc,
            Destination(address: IPAddress("198.51.100.21")!, port: 80, forwarding: .tunnel, weight: 1,
                        tunnelType: .gue, tunnelPort: 6080, tunnelFlags: .checksum)))
        #expect(try op("-a -f 42 -r 198.51.100.60:0 -g -w 1") == .addDestination(.firewallMark(42, .inet),
            Destination(address: IPAddress("198.51.100.60")!, port: 0, forwarding: .route, weight: 1)))
        #expect(try op("-d -t 192.0.2.1:80 -r 198.51.100.10:80")
            == .deleteDestination(svc, DestinationKey(IPAddress("198.51.100.10")!, 80)))
        #expect(try op("-a -t [2001:db8::1]:80 -r 198.51.100.40 -i") == .addDestination(
            .address(.tcp, IPAddress("2001:db8::1")!, 80),
            Destination(address: IPAddress("198.51.100.40")!, port: 80, forwarding: .tunnel, weight: 1)))
    }

    @Test("table-wide commands")
    func tableWide() throws {
        #expect(try op("-C") == .flush)
        #expect(try op("-Z") == .zero(nil))
        #expect(try op("-Z -f 42") == .zero(.firewallMark(42, .inet)))
        #expect(try op("--set 900 120 300") == .setTimeouts(Timeouts(tcp: 900, tcpFin: 120, udp: 300)))
        #expect(try op("--start-daemon master --mcast-interface eth1 --syncid 7")
            == .startDaemon(SyncDaemon(role: .master, interface: "eth1", syncID: 7)))
        #expect(try op("--stop-daemon backup") == .stopDaemon(.backup))
    }

    @Test("the varied fixture parses completely, comments and blank lines skipped")
    func fixture() throws {
        let rules = try RuleParser.parse(try Fixture.text("Fixtures/ipvs/varied.rules") + "\n# note\n\n", file: "varied.rules")
        #expect(rules.count == 35)
        #expect(rules.first?.line == 1)
    }

    @Test("syntax errors name the file, line, token and what was expected", arguments: [
        ("-A -t 192.0.2.1:80 -s rr\n-A -t 300.1.1.1:80", 2, "300.1.1.1:80", "invalid service address '300.1.1.1:80' after -t"),
        ("-A -t 192.0.2.1:70000", 1, "192.0.2.1:70000", "invalid port '70000'"),
        ("-A -t 192.0.2.1:80 -s fastest", 1, "fastest", "unknown scheduler 'fastest': expected one of rr, wrr"),
        ("-a -t 192.0.2.1:80 -r 198.51.100.1 -w -3", 1, "-3", "invalid weight '-3' after -w: expected an integer 0-2147483647"),
        ("-a -t 192.0.2.1:80 -r 198.51.100.1 -w heavy", 1, "heavy", "invalid weight 'heavy'"),
        ("-A -t 192.0.2.1:80 -r 198.51.100.1", 1, "-r", "option -r (--real-server) is not allowed with add-service"),
        ("-A -t 192.0.2.1:80 -q", 1, "-q", "unknown option '-q'"),
        ("-A -t 192.0.2.1:80 --bogus", 1, "--bogus", "unknown option '--bogus'"),
        ("-t 192.0.2.1:80", 1, nil, "expected a command"),
        ("-A -D -t 192.0.2.1:80", 1, "-D", "more than one command"),
        ("-A -t 192.0.2.1:80 -s rr -s wrr", 1, "-s", "given twice"),
        ("-A -t 192.0.2.1:80 -s", 1, "-s", "option -s needs a value: expected a scheduler"),
        ("-A -t 192.0.2.1:0 -s rr", 1, "192.0.2.1:0", "port 0 is only allowed for persistent services"),
        ("-A -t 192.0.2.1:80 -o", 1, "-o", "one-packet scheduling (-o) is only for UDP services"),
        ("-A -t 192.0.2.1:80 -s wlc -b sh-port", 1, "sh-port", "scheduler flag 'sh-port' needs scheduler sh"),
        ("-A -t 192.0.2.1:80 -M 255.255.0.300 -p", 1, "255.255.0.300", "invalid netmask"),
        ("-A -t 192.0.2.1:80 -p 0", 1, "0", "invalid persistence timeout '0'"),
        ("-A -f 0", 1, "0", "invalid firewall mark '0'"),
        ("-a -t 192.0.2.1:80 -r 198.51.100.1 -g --tun-type gue", 1, "--tun-type", "needs tunneling (-i)"),
        ("-a -t 192.0.2.1:80 -r 198.51.100.1 -i --tun-type gue", 1, "--tun-type", "the gue tunnel type needs --tun-port"),
        ("-a -t 192.0.2.1:80 -r 198.51.100.1 -i --tun-type vxlan", 1, "vxlan", "unknown tunnel type 'vxlan'"),
        ("-a -t 192.0.2.1:80 -r 198.51.100.1 -i --tun-type gre --tun-remcsum", 1, "--tun-remcsum", "does not apply to the gre tunnel type"),
        ("-a -t 192.0.2.1:80 -r 198.51.100.1 -m -g", 1, "-g", "more than one forwarding method"),
        ("-a -t 192.0.2.1:80 -r [2001:db8::1]:80 -m", 1, "[2001:db8::1]:80", "mixing families needs tunneling (-i)"),
        ("-a -t 192.0.2.1:80", 1, nil, "needs a real server"),
        ("-a -t 192.0.2.1:80 -r 198.51.100.1 -y 3", 1, "3", "lower threshold 3 is above the upper threshold 0"),
        ("-A -s rr", 1, nil, "add-service needs a service"),
        ("-L -n", 1, "-L", "'-L' is not a rule"),
        ("--set 1 2", 1, "2", "--set needs 3 timeouts"),
        ("-A -t 192.0.2.1:80 extra", 1, "extra", "unexpected argument 'extra'"),
        ("-A -t [2001:db8::1:80", 1, "[2001:db8::1:80", "invalid service address"),
    ])
    func syntaxErrors(text: String, line: Int, token: String?, message: String) throws {
        let e = try #require(error(text))
        #expect(e.line == line)
        #expect(e.token == token)
        #expect(e.description.hasPrefix("bad.rules:\(line): error: "), "\(e)")
        #expect(e.message.contains(message), "\(e.message)")
    }
}
