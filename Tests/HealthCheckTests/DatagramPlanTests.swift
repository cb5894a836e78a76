import HealthCheck
import KeepalivedConfig
import Testing
import VigilSupport

@Suite("UDP_CHECK, DNS_CHECK, PING_CHECK, bind_if and fwmark from keepalived.conf")
struct DatagramPlanTests {
    static func load(_ checkers: String) -> LoadResult {
        ConfigLoader.parse(text: """
            virtual_server 192.0.2.1 53 {
                protocol UDP
                delay_loop 7
                real_server 198.51.100.1 53 {
            \(checkers)
                }
            }
            """, fileName: "dgram.conf", options: LoadOptions(hostName: "test", checkScripts: false))
    }

    static func kinds(_ checkers: String) throws -> [CheckKind] {
        let loaded = load(checkers)
        #expect(!loaded.hasErrors, "\(loaded.errors)")
        let plan = LVSPlan(configuration: try #require(loaded.configuration))
        #expect(plan.notes.isEmpty, "\(plan.notes)")
        return plan.virtualServers[0].realServers[0].checks.map(\.kind)
    }

    @Test("each checker is run, with its settings and keepalived's defaults")
    func mapped() throws {
        let k = try Self.kinds("""
                UDP_CHECK {
                    payload 01 02 0a0b
                    require_reply 01 0x
                    max_reply_length 16
                    connect_timeout 2
                }
                UDP_CHECK {
                }
                DNS_CHECK {
                    type aaaa
                    name example.com
                }
                PING_CHECK {
                    connect_ip 203.0.113.5
                }
            """)
        guard k.count == 4, case .udp(let u) = k[0], case .udp(let plain) = k[1], case .dns(let d) = k[2], case .ping(let p) = k[3] else {
            Issue.record("expected UDP, UDP, DNS, PING: \(k)")
            return
        }
        #expect(u.payload == [0x01, 0x02, 0x0A, 0x0B])
        #expect(u.requireReply && u.reply == [0x01, 0x00] && u.replyWildcard == [0, 0x0F])
        #expect(u.minimumReplyLength == 0 && u.maximumReplyLength == 16)
        #expect(u.connection.timeout == .seconds(2) && u.connection.port == 53)
        #expect(!plain.requireReply && plain.payload == UDPCheckSettings.defaultPayload && plain.maximumReplyLength == 255)
        #expect(d.type == "AAAA" && d.name == "example.com" && d.connection.port == 53)
        #expect(p.address == IPAddress("203.0.113.5"))
    }

    @Test("DNS_CHECK keeps keepalived's timers: retry 3, delay_before_retry = delay_loop")
    func dnsTiming() throws {
        let loaded = Self.load("DNS_CHECK {\n}")
        let plan = LVSPlan(configuration: try #require(loaded.configuration))
        let t = plan.virtualServers[0].realServers[0].checks[0].timing
        #expect(t.retry == 3 && t.delayBeforeRetry == .seconds(7))
    }

    @Test("bind_if and fwmark reach every network checker's connection")
    func bindIfAndMark() throws {
        let options = "bind_if eth1\n fwmark 77\n"
        let k = try Self.kinds("""
                TCP_CHECK {
                    \(options)
                }
                HTTP_GET {
                    url {
                        path /
                    }
                    \(options)
                }
                SSL_GET {
                    url {
                        path /
                    }
                    \(options)
                }
                SMTP_CHECK {
                    \(options)
                }
                UDP_CHECK {
                    \(options)
                }
                DNS_CHECK {
                    \(options)
                }
                PING_CHECK {
                    \(options)
                }
            """)
        #expect(k.count == 7)
        for kind in k {
            #expect(kind.connection?.interface == "eth1" && kind.connection?.firewallMark == 77, "\(kind.name)")
        }
    }

    @Test("bad hex, empty labels and overlong labels are errors that say where")
    func refused() {
        let cases = [
            ("UDP_CHECK {\n payload 01 zz\n}", "`payload` has `z`"),
            ("UDP_CHECK {\n payload 0x\n}", "`payload` has `x`"),
            ("UDP_CHECK {\n require_reply 01 g0\n}", "`require_reply` has `g`"),
            ("DNS_CHECK {\n name a..b\n}", "empty label"),
            ("DNS_CHECK {\n name \(String(repeating: "a", count: 64)).com\n}", "longer than 63"),
        ]
        for (text, message) in cases {
            let loaded = Self.load(text)
            #expect(loaded.errors.contains { $0.message.contains(message) }, "\(text): \(loaded.errors.map(\.message))")
        }
        let warned = Self.load("UDP_CHECK {\n require_reply 01\n min_reply_length 9\n max_reply_length 4\n}")
        #expect(warned.diagnostics.contains { $0.message.contains("always fails") })
    }
}
