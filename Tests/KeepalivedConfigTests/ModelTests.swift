import Foundation
import KeepalivedConfig
import Testing
import VigilSupport

/// Resolved values: keepalived's defaults and inheritance, every block kind, and cross-checks.
@Suite struct ModelTests {
    @Test func checkerTimersInheritVirtualServerThenRealServerThenChecker() throws {
        let r = parse("""
            virtual_server 192.0.2.1 80 {
                lvs_sched rr
                protocol TCP
                delay_loop 10
                retry 4
                connect_timeout 2
                alpha
                inhibit_on_failure
                real_server 198.51.100.1 8080 {
                    delay_before_retry 7
                    warmup 0
                    TCP_CHECK {
                        connect_timeout 1.5
                    }
                    HTTP_GET {
                        url { path /health }
                        retry 9
                    }
                }
                real_server 198.51.100.2 {
                    inhibit_on_failure off
                    MISC_CHECK {
                        misc_path /bin/true
                    }
                    DNS_CHECK {
                    }
                }
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        let vs = try #require(r.configuration?.virtualServers.first)
        let rs1 = vs.realServers[0]
        #expect(rs1.address.port == 8080)
        #expect(rs1.inhibitOnFailure)
        #expect(rs1.checkers[0].timing == CheckerTiming(delayLoop: 10, retry: 4, delayBeforeRetry: 7, connectTimeout: 1.5, warmup: 0, alpha: true))
        #expect(rs1.checkers[1].timing == CheckerTiming(delayLoop: 10, retry: 9, delayBeforeRetry: 7, connectTimeout: 2, warmup: 0, alpha: true))
        let rs2 = vs.realServers[1]
        #expect(rs2.address.port == 80, "real server port defaults to the virtual server's")
        #expect(!rs2.inhibitOnFailure)
        // MISC_CHECK and DNS_CHECK keep their own retry / delay_before_retry defaults only where nothing is set.
        #expect(rs2.checkers[0].timing == CheckerTiming(delayLoop: 10, retry: 4, delayBeforeRetry: 1, connectTimeout: 2, warmup: 10, alpha: true))
        #expect(rs2.checkers[1].timing == CheckerTiming(delayLoop: 10, retry: 4, delayBeforeRetry: 10, connectTimeout: 2, warmup: 10, alpha: true))
        if case .misc(let m) = rs2.checkers[0] { #expect(m.timeout == 10, "misc_timeout defaults to delay_loop") }
    }

    @Test func keepalivedDefaultsWhenNothingIsSet() throws {
        let r = parse("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n  TCP_CHECK {\n  }\n  HTTP_GET {\n   url {\n    path /\n   }\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n  DNS_CHECK {\n  }\n }\n}\n")
        let vs = try #require(r.configuration?.virtualServers.first)
        // keepalived 2.2.7 defaults a missing protocol to UDP and a missing scheduler to wlc, with warnings.
        #expect(vs.protocol == .udp)
        #expect(vs.scheduler == "wlc")
        #expect(vs.forwardingMethod == .nat)
        #expect(vs.quorum == 1 && vs.hysteresis == 0)
        #expect(r.diagnostics.filter { $0.code == .defaultApplied }.count == 2)
        let timings = vs.realServers[0].checkers.map { $0.timing! }
        #expect(timings[0] == CheckerTiming(delayLoop: 60, retry: 1, delayBeforeRetry: 1, connectTimeout: 5, warmup: 60, alpha: false))
        #expect(timings[1].delayBeforeRetry == 3, "HTTP_GET delay_before_retry defaults to 3 s")
        #expect(timings[2].retry == 0, "MISC_CHECK retry defaults to 0")
        #expect(timings[3].retry == 3 && timings[3].delayBeforeRetry == 60, "DNS_CHECK: retry 3, delay_before_retry = delay_loop")
        guard case .http(let h) = vs.realServers[0].checkers[1] else { Issue.record("http"); return }
        #expect(h.urls[0].statusCodes == [HTTPStatusRange(200, 299)])
        #expect(h.urls[0].accepts(statusCode: 204) && !h.urls[0].accepts(statusCode: 301))
        #expect(h.httpProtocol == "1.0")
        guard case .dns(let d) = vs.realServers[0].checkers[3] else { Issue.record("dns"); return }
        #expect(d.type == "SOA" && d.name == ".")
    }

    @Test func vrrpInstanceDefaultsAndGlobalInheritance() throws {
        let r = parse("""
            global_defs {
                vrrp_version 3
                vrrp_strict
                vrrp_garp_master_delay 2
                vrrp_garp_master_repeat 3
            }
            vrrp_instance A {
                interface eth0
                virtual_router_id 1
                advert_int 0.25
            }
            vrrp_instance B {
                interface eth0
                virtual_router_id 2
                version 2
                strict_mode off
                garp_master_repeat 7
                nopreempt
                preempt_delay 30
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        let c = try #require(r.configuration)
        let a = c.vrrpInstances[0]
        #expect(a.version == 3 && a.advertInterval == 0.25)
        #expect(a.strictMode && !a.accept)
        #expect(a.priority == 100 && a.initialState == .backup && a.preempt)
        #expect(a.unicastTTL == 255)
        #expect(a.garp == GratuitousARPSettings(masterDelay: 2, masterRepeat: 3, lowerPriorityDelay: 2, lowerPriorityRepeat: 3))
        let b = c.vrrpInstances[1]
        #expect(b.version == 2 && b.advertInterval == 1)
        #expect(!b.strictMode && b.accept)
        #expect(b.garp.masterRepeat == 7 && b.garp.lowerPriorityRepeat == 7 && b.garp.masterDelay == 2)
        #expect(!b.preempt && b.preemptDelay == 30)
    }

    @Test func fractionalV2AdvertIntervalIsRoundedWithAWarning() throws {
        let r = parse("vrrp_instance A {\n interface eth0\n virtual_router_id 1\n advert_int 1.4\n}\n")
        #expect(r.configuration?.vrrpInstances.first?.advertInterval == 1)
        #expect(r.codes == [.valueAdjusted])
    }

    @Test func fullVRRPInstance() throws {
        let r = parse("""
            vrrp_script chk { script "/bin/true"
              weight 10 reverse
              timeout 2 }
            vrrp_instance VI_6 {
                state MASTER
                interface bond0
                virtual_router_id 60
                priority 200
                mcast_src_ip 192.0.2.2
                unicast_ttl 10
                authentication {
                    auth_type AH
                    auth_pass abc
                }
                virtual_ipaddress {
                    192.0.2.10/24 brd 192.0.2.255 dev bond0.10 scope global label bond0:vip
                    2001:db8::10/64 dev bond0
                }
                virtual_ipaddress_excluded {
                    203.0.113.5
                }
                virtual_routes {
                    src 192.0.2.10 to 198.51.100.0/24 via 192.0.2.1 dev bond0 table 100 metric 5
                    blackhole 203.0.113.0/24
                }
                track_interface {
                    eth9 weight -20
                }
                track_script {
                    chk weight 5 reverse
                }
                notify "/usr/local/bin/notify.sh"
                notify_stop /usr/local/bin/stop.sh
                garp_master_refresh 60
                accept
                dont_track_primary
                use_vmac vrrp.60
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        let v = try #require(r.configuration?.vrrpInstances.first)
        #expect(v.authentication == VRRPAuthentication(type: .ah, password: "abc"))
        #expect(v.multicastSourceIP == IPAddress("192.0.2.2"))
        #expect(v.unicastTTL == 10)
        let vip = v.virtualIPAddresses[0]
        #expect(vip.prefixLength == 24 && vip.broadcast == IPAddress("192.0.2.255") && vip.device == "bond0.10")
        #expect(vip.scope == "global" && vip.label == "bond0:vip")
        #expect(v.virtualIPAddresses[1].address == IPAddress("2001:db8::10") && v.virtualIPAddresses[1].prefixLength == 64)
        #expect(v.virtualIPAddressesExcluded.map(\.address.description) == ["203.0.113.5"])
        let route = v.virtualRoutes[0]
        #expect(route.source == IPAddress("192.0.2.10") && route.destination == IPAddress("198.51.100.0") && route.prefixLength == 24)
        #expect(route.gateway == IPAddress("192.0.2.1") && route.device == "bond0" && route.table == "100" && route.metric == 5)
        #expect(v.virtualRoutes[1].type == "blackhole" && v.virtualRoutes[1].prefixLength == 24)
        #expect(v.trackInterfaces == [TrackedInterface(name: "eth9", weight: -20)])
        #expect(v.trackScripts == [TrackedScript(name: "chk", weight: 5, reverse: true)])
        #expect(v.notify.generic == "/usr/local/bin/notify.sh" && v.notify.stop == "/usr/local/bin/stop.sh")
        #expect(v.garp.masterRefresh == 60)
        #expect(v.accept && v.dontTrackPrimary && v.useVMAC == "vrrp.60")
        let s = try #require(r.configuration?.vrrpScripts.first)
        #expect(s.weight == 10 && s.weightReverse && s.timeout == 2 && s.interval == 1)
    }

    @Test func syncGroupsResolveMembersAndIgnoreTrackedScriptWeights() throws {
        let r = parse("""
            vrrp_script chk { script /bin/true
              weight -10 }
            vrrp_sync_group G {
                group {
                    A
                    B
                }
                notify_master "/bin/echo master"
            }
            vrrp_instance A {
                interface eth0
                virtual_router_id 1
                track_script {
                    chk
                }
            }
            vrrp_instance B {
                interface eth1
                virtual_router_id 1
            }
            """)
        #expect(!r.hasErrors)
        let c = try #require(r.configuration)
        #expect(c.vrrpSyncGroups.first?.group == ["A", "B"])
        #expect(c.vrrpSyncGroups.first?.notify.master == "/bin/echo master")
        #expect(c.vrrpInstances.map(\.syncGroup) == ["G", "G"])
        #expect(c.vrrpInstances[0].trackScripts == [TrackedScript(name: "chk", weight: 0)])
        #expect(r.diagnostics.map(\.code) == [.syncGroupTrackWeight])
        #expect(r.diagnostics[0].message.contains("weight -10 of tracked script `chk` is ignored"))
    }

    @Test func defaultInterfaceStandsInForAMissingInterface() throws {
        let r = parse("global_defs {\n default_interface bond1\n}\nvrrp_instance A {\n virtual_router_id 1\n}\n")
        #expect(r.configuration?.vrrpInstances.first?.interface == "bond1")
    }

    @Test func sameVRIDOnDifferentInterfacesIsFine() {
        let r = parse("vrrp_instance A {\n interface eth0\n virtual_router_id 1\n}\nvrrp_instance B {\n interface eth1\n virtual_router_id 1\n}\n")
        #expect(!r.hasErrors)
    }

    @Test func virtualServerGroupsWithRangesAndFirewallMarks() throws {
        let r = parse("""
            virtual_server_group web {
                192.0.2.10-20 80
                192.0.2.30 443
                2001:db8::a-1f 80
                fwmark 7
            }
            virtual_server group web {
                lvs_sched rr
                protocol TCP
                real_server 198.51.100.1 80 {
                }
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        let c = try #require(r.configuration)
        let g = try #require(c.virtualServerGroup(named: "web"))
        #expect(g.entries == [
            .range(first: IPAddress("192.0.2.10")!, last: IPAddress("192.0.2.20")!, port: 80),
            .address(SocketAddress(IPAddress("192.0.2.30")!, 443)),
            .range(first: IPAddress("2001:db8::a")!, last: IPAddress("2001:db8::1f")!, port: 80),
            .firewallMark(7),
        ])
        #expect(c.virtualServers[0].address == .group("web"))
        #expect(c.virtualServers[0].family == .inet)
    }

    @Test func firewallMarkServiceWithSchedulerFlagsSorryServerAndQuorum() throws {
        let r = parse("""
            virtual_server fwmark 42 {
                lvs_sched mh
                mh-port
                mh-fallback
                lvs_method DR
                persistence_granularity 255.255.255.0
                sorry_server 203.0.113.9 8080
                sorry_server_inhibit
                quorum 3
                hysteresis 1
                quorum_up "/bin/echo up"
                quorum_down /bin/echo down
                omega
                ha_suspend
                virtualhost www.example.net
                real_server 198.51.100.1 80 {
                    weight 3
                    uthreshold 1000
                    lthreshold 10
                    notify_up "/bin/echo rs up"
                    HTTP_GET {
                        url {
                            path /a
                            status_code 200-204 301 400-499
                            digest 9B3A0C85A887A256D6939DA88AABD8CD
                        }
                        url {
                            path /b
                            virtualhost b.example.net
                        }
                        http_protocol 1.1
                        connect_ip 198.51.100.50
                        connect_port 8081
                        bindto 198.51.100.200
                        bind_port 4000
                        fast_recovery
                    }
                    SSL_GET {
                        url { path / }
                        enable_sni
                        virtualhost ssl.example.net
                    }
                }
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        let vs = try #require(r.configuration?.virtualServers.first)
        #expect(vs.address == .firewallMark(42) && vs.port == 0)
        #expect(vs.scheduler == "mh" && vs.schedulerFlags == SchedulerFlags(flag1: true, flag2: true))
        #expect(vs.forwardingMethod == .directRouting)
        #expect(vs.persistenceTimeout == 360, "a granularity without a timeout implies keepalived's 6 minutes")
        #expect(vs.persistenceGranularity == IPAddress("255.255.255.0"))
        #expect(vs.sorryServer == SorryServer(address: SocketAddress(IPAddress("203.0.113.9")!, 8080), forwardingMethod: .directRouting, inhibit: true))
        #expect(vs.quorum == 3 && vs.hysteresis == 1 && vs.quorumUp == "/bin/echo up" && vs.quorumDown == "/bin/echo down")
        #expect(vs.omega && vs.haSuspend)
        let rs = vs.realServers[0]
        #expect(rs.address.port == 80 && rs.weight == 3 && rs.upperThreshold == 1000 && rs.lowerThreshold == 10)
        #expect(rs.notifyUp == "/bin/echo rs up")
        guard case .http(let h) = rs.checkers[0], case .ssl(let s) = rs.checkers[1] else { Issue.record("checkers"); return }
        #expect(h.urls[0].statusCodes == [HTTPStatusRange(200, 204), HTTPStatusRange(301, 301), HTTPStatusRange(400, 499)])
        #expect(h.urls[0].digest == "9b3a0c85a887a256d6939da88aabd8cd")
        #expect(h.urls[1].virtualhost == "b.example.net")
        #expect(h.virtualhost == "www.example.net", "virtualhost inherits from the virtual server")
        #expect(h.httpProtocol == "1.1" && h.fastRecovery)
        #expect(h.connection == CheckerConnection(connectIP: IPAddress("198.51.100.50")!, connectPort: 8081,
                                                  bindTo: IPAddress("198.51.100.200")!, bindPort: 4000))
        #expect(s.useTLS && s.enableSNI && s.virtualhost == "ssl.example.net")
        #expect(r.diagnostics.allSatisfy { $0.code != .defaultApplied }, "fwmark services need no protocol")
    }

    @Test func udpPingFileAndDNSCheckersAreModelled() throws {
        let r = parse("""
            track_file maint {
                file /run/maint
                weight -5
            }
            virtual_server 2001:db8::1 53 {
                lvs_sched sh
                sh-port
                protocol UDP
                ops
                real_server 2001:db8::10 53 {
                    UDP_CHECK {
                        payload 00 01 ab
                        require_reply 00xx
                        min_reply_length 2
                        max_reply_length 512
                    }
                    PING_CHECK {
                        delay_loop 2
                    }
                    FILE_CHECK {
                        track_file maint
                        weight 3 reverse
                    }
                    DNS_CHECK {
                        type A
                        name example.net
                    }
                }
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        let vs = try #require(r.configuration?.virtualServers.first)
        #expect(vs.family == .inet6 && vs.protocol == .udp && vs.onePacketScheduling && vs.schedulerFlags.flag2)
        let checks = vs.realServers[0].checkers
        #expect(checks.map(\.kind) == [.udp, .ping, .file, .dns])
        guard case .udp(let u) = checks[0], case .ping(let p) = checks[1], case .file(let f) = checks[2], case .dns(let d) = checks[3] else {
            Issue.record("kinds"); return
        }
        #expect(u.payload == "00 01 ab" && u.requireReply && u.replyData == "00xx" && u.minimumReplyLength == 2 && u.maximumReplyLength == 512)
        #expect(p.timing.delayLoop == 2 && p.connection.connectIP == IPAddress("2001:db8::10"))
        #expect(f == FileCheck(trackFile: "maint", weight: 3, reverse: true))
        #expect(checks[2].timing == nil)
        #expect(d.type == "A" && d.name == "example.net" && d.connection.connectPort == 53)
        #expect(r.configuration?.trackFiles == [TrackFile(name: "maint", file: "/run/maint", weight: -5)])
        let config = try #require(r.configuration)
        #expect(try KeepalivedConfiguration.fromJSON(config.jsonString()) == config, "every checker kind survives the JSON dump")
    }

    @Test func globalDefinitions() throws {
        let r = parse("""
            global_defs {
                router_id LB_A
                notification_email {
                    ops@example.net
                    noc@example.net
                }
                notification_email_from lb@example.net
                smtp_server 192.0.2.25 2525
                smtp_helo_name lb.example.net
                smtp_connect_timeout 12
                script_user keepalived_script nogroup
                enable_script_security
                vrrp_mcast_group4 224.0.0.19
                lvs_timeouts tcp 900 tcpfin 30 udp 60
                lvs_flush
                lvs_sync_daemon eth1 VI_1 id 5 maxlen 1400 port 8848 ttl 2 group 224.0.0.81
                max_auto_priority 10
                vrrp_skip_check_adv_addr
                dynamic_interfaces
            }
            vrrp_instance VI_1 {
                interface eth1
                virtual_router_id 1
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        let g = try #require(r.configuration?.global)
        #expect(g.routerID == "LB_A" && g.notificationEmail == ["ops@example.net", "noc@example.net"])
        #expect(g.notificationEmailFrom == "lb@example.net" && g.smtpServer == SocketAddress(IPAddress("192.0.2.25")!, 2525))
        #expect(g.smtpHeloName == "lb.example.net" && g.smtpConnectTimeout == 12)
        #expect(g.scriptUser == "keepalived_script" && g.scriptGroup == "nogroup" && g.enableScriptSecurity)
        #expect(g.vrrpMulticastGroup4 == IPAddress("224.0.0.19"))
        #expect(g.lvsTimeouts == LVSTimeouts(tcp: 900, tcpFin: 30, udp: 60))
        #expect(g.lvsFlush)
        #expect(g.lvsSyncDaemon == LVSSyncDaemon(interface: "eth1", vrrpInstance: "VI_1", syncID: 5, maxLength: 1400, port: 8848, ttl: 2,
                                                  group: IPAddress("224.0.0.81")))
        #expect(g.maxAutoPriority == 10)
        #expect(g.otherSettings == ["vrrp_skip_check_adv_addr": "", "dynamic_interfaces": ""])
        #expect(r.renderedSupported.isEmpty, "\(r.rendered)")
    }

    @Test func scriptChecksWarnAboutMissingAndNonExecutableScripts() throws {
        let dir = TemporaryDirectory()
        dir.write("ok.sh", "#!/bin/sh\nexit 0\n", executable: true)
        dir.write("noexec.sh", "#!/bin/sh\nexit 0\n")
        let r = parse("""
            global_defs {
                enable_script_security
            }
            vrrp_script a { script "\(dir.path)/ok.sh arg" }
            vrrp_script b { script "\(dir.path)/noexec.sh" }
            vrrp_script c { script "\(dir.path)/missing.sh" }
            vrrp_script d { script "</dev/tcp/127.0.0.1/80" }
            """, checkScripts: true)
        #expect(r.codes == [.scriptNotExecutable, .scriptNotFound])
        #expect(r.configuration != nil, "script problems are warnings")
        let insecure = parse("vrrp_script a {\n script /bin/true\n}\n", checkScripts: true)
        #expect(insecure.codes == [.scriptSecurity])
    }

    @Test func legacySpellingsLoadWithDeprecationWarnings() throws {
        let r = parse("""
            virtual_server 192.0.2.1 80 {
                lb_algo wrr
                lb_kind TUN
                nat_mask 255.255.255.0
                protocol TCP
                real_server 198.51.100.1 80 {
                    TCP_CHECK {
                        nb_get_retry 5
                    }
                }
            }
            """)
        let vs = try #require(r.configuration?.virtualServers.first)
        #expect(vs.scheduler == "wrr" && vs.forwardingMethod == .tunnel)
        #expect(vs.realServers[0].checkers[0].timing?.retry == 5)
        #expect(r.rendered == [
            "2:5: warning: `lb_algo` is deprecated; use `lvs_sched`",
            "3:5: warning: `lb_kind` is deprecated; use `lvs_method`",
            "4:5: warning: `nat_mask` is accepted by keepalived but not supported by Vigil: obsolete; keepalived ignores it too",
            "8:13: warning: `nb_get_retry` is deprecated; use `retry`",
        ])
    }

    @Test func jsonDumpRoundTrips() throws {
        for f in Fixtures.files(in: "seeds", suffix: ".conf") {
            let c = try #require(Fixtures.load("seeds/" + f).configuration)
            let json = try c.jsonString()
            #expect(json.contains("\"schemaVersion\" : 1"))
            #expect(try KeepalivedConfiguration.fromJSON(json) == c, "\(f)")
        }
    }

    @Test func jsonShapesOfTaggedValues() throws {
        let c = try #require(Fixtures.load("seeds/003-openshift-lvs.conf").configuration)
        let json = try c.jsonString()
        #expect(json.contains("\"type\" : \"TCP_CHECK\""))
        #expect(json.contains("\"type\" : \"ip\""))
        #expect(json.contains("\"forwardingMethod\" : \"DR\""))
    }
}
