import HealthCheck
import IPVS
import KeepalivedConfig
import Testing
import VigilSupport

private let text = """
global_defs {
    router_id plan-test
}
virtual_server 192.0.2.1 80 {
    delay_loop 3
    lb_algo wrr
    lb_kind DR
    protocol TCP
    persistence_timeout 600
    quorum 2
    hysteresis 1
    sorry_server 203.0.113.9 8080
    sorry_server_inhibit
    real_server 198.51.100.1 80 {
        weight 3
        inhibit_on_failure
        notify_down "/usr/local/bin/down.sh 'two words'"
        HTTP_GET {
            url {
                path /health
                status_code 200-204 301
                digest 0123456789ABCDEF0123456789abcdef
            }
            connect_timeout 2
            retry 4
            delay_before_retry 2
        }
        TCP_CHECK {
            connect_port 8443
        }
    }
    real_server 198.51.100.2 80 {
        MISC_CHECK {
            misc_path "/usr/local/bin/check.sh --port 80"
            misc_timeout 4
            misc_dynamic
        }
    }
}
virtual_server 192.0.2.2 80 {
    delay_loop 3
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 80 {
        TCP_CHECK {
            connect_port 8443
        }
    }
}
"""

@Suite("From keepalived.conf to the checker plan")
struct LVSPlanTests {
    func plan() throws -> LVSPlan {
        let loaded = ConfigLoader.parse(text: text, fileName: "plan.conf", options: LoadOptions(hostName: "test", checkScripts: false))
        #expect(!loaded.hasErrors, "\(loaded.errors)")
        return LVSPlan(configuration: try #require(loaded.configuration))
    }

    @Test("services, destinations, quorum and sorry server follow the file")
    func services() throws {
        let p = try plan()
        #expect(p.virtualServers.count == 2)
        let vs = p.virtualServers[0]
        #expect(vs.service.key == .address(.tcp, IPAddress("192.0.2.1")!, 80))
        #expect(vs.service.scheduler == "wrr")
        #expect(vs.service.flags.contains(.persistent) && vs.service.timeout == 600)
        #expect(vs.quorum == 2 && vs.hysteresis == 1)
        #expect(vs.sorryServer?.key == DestinationKey(IPAddress("203.0.113.9")!, 8080))
        #expect(vs.sorryServerInhibit)
        let rs = vs.realServers[0]
        #expect(rs.destination.weight == 3 && rs.destination.forwarding == .route && rs.inhibitOnFailure)
        #expect(rs.notifyDown == ["/usr/local/bin/down.sh", "two words"])
        #expect(p.virtualServers[1].realServers[0].destination.forwarding == .masquerade)
    }

    @Test("checkers carry their settings and timers")
    func checks() throws {
        let p = try plan()
        let rs = p.virtualServers[0].realServers
        guard case .http(let h) = rs[0].checks[0].kind else { Issue.record("expected HTTP_GET"); return }
        #expect(h.urls[0].path == "/health")
        #expect(h.urls[0].statusCodes.contains(204) && h.urls[0].statusCodes.contains(301) && !h.urls[0].statusCodes.contains(205))
        #expect(h.urls[0].digest == "0123456789abcdef0123456789abcdef")
        #expect(h.connection.timeout == .seconds(2))
        #expect(rs[0].checks[0].timing.retry == 4 && rs[0].checks[0].timing.delayBeforeRetry == .seconds(2))
        #expect(rs[0].checks[0].timing.delayLoop == .seconds(3))
        guard case .tcp(let t) = rs[0].checks[1].kind else { Issue.record("expected TCP_CHECK"); return }
        #expect(t.port == 8443 && t.address == IPAddress("198.51.100.1"))
        guard case .misc(let m) = rs[1].checks[0].kind else { Issue.record("expected MISC_CHECK"); return }
        #expect(m.arguments == ["/usr/local/bin/check.sh", "--port", "80"])
        #expect(m.dynamic && m.timeout == .seconds(4))
    }

    @Test("the same check of the same backend under two virtual servers is one probe")
    func shared() throws {
        let p = try plan()
        let a = p.virtualServers[0].realServers[0].checks[1]
        let b = p.virtualServers[1].realServers[0].checks[0]
        #expect(a == b)
        #expect(Set(p.allChecks).count == p.allChecks.count - 1)
    }

    @Test("SSL_GET verifies certificates only when verify_ca is set (Vigil extension); HTTP_GET warns they are unknown")
    func sslVerification() throws {
        func ssl(_ extra: String, kind: String = "SSL_GET") -> LoadResult {
            ConfigLoader.parse(text: """
                virtual_server 192.0.2.1 443 {
                    real_server 198.51.100.1 443 {
                        \(kind) {
                            url {
                                path /
                            }
                            enable_sni
                            virtualhost api.example.com
                            \(extra)
                        }
                    }
                }
                """, fileName: "ssl.conf", options: LoadOptions(hostName: "test", checkScripts: false))
        }
        func tls(_ loaded: LoadResult) throws -> TLSSettings? {
            let plan = LVSPlan(configuration: try #require(loaded.configuration))
            guard case .http(let h) = plan.virtualServers[0].realServers[0].checks[0].kind else { return nil }
            return h.tls
        }
        #expect(try tls(ssl(""))?.verification == nil)
        let verified = ssl("verify_ca /etc/vigil/ca.pem\n verify_name lb.example.com")
        #expect(!verified.hasErrors)
        #expect(try tls(verified)?.verification == TLSVerification(caFile: "/etc/vigil/ca.pem", expectedName: "lb.example.com"))
        #expect(try tls(ssl("verify_ca /etc/vigil/ca.pem"))?.verification == TLSVerification(caFile: "/etc/vigil/ca.pem"))
        let nameOnly = ssl("verify_name lb.example.com")
        #expect(!nameOnly.hasErrors)
        #expect(nameOnly.diagnostics.contains { $0.message.contains("`verify_name` has no effect without `verify_ca`") })
        let plain = ssl("verify_ca /etc/vigil/ca.pem", kind: "HTTP_GET")
        #expect(plain.diagnostics.contains { $0.message.contains("unknown keyword `verify_ca` in HTTP_GET") })
    }

    @Test("command lines split like keepalived's, with no expansion")
    func split() {
        #expect(splitScriptCommand(#"/bin/x "a b" 'c d' e\ f $HOME"#) == ["/bin/x", "a b", "c d", "e f", "$HOME"])
    }
}
