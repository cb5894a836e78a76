import KeepalivedConfig
import Testing

@Suite("lvs_sync_daemon_interface inside an instance")
struct SyncDaemonInterfaceTests {
    @Test("is keepalived's deprecated form of lvs_sync_daemon IFACE INSTANCE: a warning, mapped to the global setting")
    func deprecatedForm() throws {
        let r = parse("""
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 51
                lvs_sync_daemon_interface eth1
                virtual_ipaddress {
                    192.0.2.100
                }
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        #expect(r.warnings.contains { $0.code == .deprecatedKeyword && $0.message.contains("lvs_sync_daemon eth1 VI_1") && $0.line == 4 })
        let d = try #require(r.configuration?.global.lvsSyncDaemon)
        #expect(d.interface == "eth1")
        #expect(d.vrrpInstance == "VI_1")
    }

    @Test("gives way to a global lvs_sync_daemon, with a warning")
    func globalWins() throws {
        let r = parse("""
            global_defs {
                lvs_sync_daemon eth2 VI_1 id 3
            }
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 51
                lvs_sync_daemon_interface eth1
                virtual_ipaddress {
                    192.0.2.100
                }
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        #expect(r.configuration?.global.lvsSyncDaemon?.interface == "eth2")
        #expect(r.warnings.contains { $0.message.contains("ignored") })
    }
}
