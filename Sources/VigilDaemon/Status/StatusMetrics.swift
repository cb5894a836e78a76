import HealthCheck
import Metrics
import Prometheus
import VRRP

/// `GET /metrics`: the Prometheus text exposition of one status snapshot, through a
/// swift-prometheus registry made for the scrape (so a server removed by a reload leaves no
/// stale series). Names follow the exporters users already run where one names the value
/// (mehdy/keepalived-exporter for VRRP, gen2brain/keepalived_exporter and node_exporter's ipvs
/// collector for IPVS); Vigil's own are `vigil_*`. Docs/status.md lists each with its source.
enum StatusMetrics {
    /// Where swift-metrics' counters land once ``bootstrapEvents()`` ran (notify script runs):
    /// values only their events know, appended to every scrape.
    static let events = PrometheusCollectorRegistry()

    /// Routes swift-metrics to ``events``; once per process (the daemon calls it at start).
    static func bootstrapEvents() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: events))
    }

    struct Input: Sendable {
        var document: StatusDocument
        var statistics: ProbeStatistics?
        var repairs: Int?
        var operationsApplied: Int?
        var loops: [Liveness.Loop]
    }

    /// keepalived's state numbers, as mehdy/keepalived-exporter exports them.
    static func stateNumber(_ state: String) -> Double {
        switch state {
        case "BACKUP": 1
        case "MASTER": 2
        case "FAULT": 3
        default: 0
        }
    }

    /// mehdy/keepalived-exporter's per-instance counter for each of Vigil's drop reasons.
    static let dropCounters: [(name: String, help: String, reasons: Set<String>)] = [
        ("keepalived_packet_length_errors_total", "Packet length errors", [VRRPDropReason.badLength.rawValue]),
        ("keepalived_advertisements_interval_errors_total", "Advertisement interval errors", [VRRPDropReason.intervalMismatch.rawValue]),
        ("keepalived_ip_ttl_errors_total", "TTL errors", [VRRPDropReason.badTTL.rawValue]),
        ("keepalived_invalid_type_received_total", "Invalid type errors", [VRRPDropReason.badType.rawValue]),
        ("keepalived_address_list_errors_total", "Address list errors", [VRRPDropReason.addressMismatch.rawValue]),
        ("keepalived_authentication_invalid_total", "Authentication invalid", []),
        ("keepalived_authentication_mismatch_total", "Authentication mismatch", [VRRPDropReason.authTypeMismatch.rawValue]),
        ("keepalived_authentication_failure_total", "Authentication failure",
         [VRRPDropReason.authFailure, .badICV, .badSPI, .replayedSequence].map(\.rawValue).reduce(into: []) { $0.insert($1) }),
    ]

    static func render(_ input: Input) -> String {
        let r = PrometheusCollectorRegistry()
        let d = input.document
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Double) {
            r.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels).set(value)
        }
        func counter(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: UInt64) {
            r.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
                .increment(by: Int64(clamping: value))
        }
        func counter(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Int) {
            counter(name, help, labels, UInt64(max(0, value)))
        }

        gauge("keepalived_up", "Status", [], 1)
        gauge("vigil_uptime_seconds", "Seconds since Vigil started", [], d.daemon.uptimeSeconds)
        counter("vigil_reloads_total", "Configuration reloads by result", [("result", "applied")], d.daemon.reloads.applied)
        counter("vigil_reloads_total", "Configuration reloads by result", [("result", "refused")], d.daemon.reloads.refused)
        for loop in input.loops {
            gauge("vigil_loop_stalled", "1 when the loop has not turned within the bound (/healthz answers 503)",
                  [("loop", loop.name)], loop.stalled ? 1 : 0)
        }

        if let vrrp = d.vrrp {
            for i in vrrp.instances {
                let common = [("iname", i.name), ("intf", i.interface), ("vrid", String(i.virtualRouterId)), ("state", i.state)]
                for vip in i.virtualAddresses {
                    let parts = vip.split(separator: " ")
                    let address = parts.first.map { String($0.split(separator: "/").first ?? $0) } ?? vip
                    let intf = parts.count >= 3 && parts[1] == "dev" ? String(parts[2]) : i.interface
                    gauge("keepalived_vrrp_state", "State of vrrp",
                          [("iname", i.name), ("intf", intf), ("vrid", String(i.virtualRouterId)), ("ip_address", address)],
                          stateNumber(i.state))
                }
                let c = i.counters
                counter("keepalived_advertisements_received_total", "Advertisements received", common, c.advertisementsReceived)
                counter("keepalived_advertisements_sent_total", "Advertisements sent", common, c.advertisementsSent)
                counter("keepalived_become_master_total", "Became master", common, c.becameMaster)
                counter("keepalived_release_master_total", "Released master", common, c.releasedMaster)
                counter("keepalived_priority_zero_received_total", "Priority zero received", common, c.priorityZeroReceived)
                counter("keepalived_priority_zero_sent_total", "Priority zero sent", common, c.priorityZeroSent)
                for m in dropCounters {
                    counter(m.name, m.help, common, c.droppedByReason.filter { m.reasons.contains($0.key) }.values.reduce(0, +))
                }
                for (reason, n) in c.droppedByReason {
                    counter("vigil_vrrp_instance_dropped_packets_total", "Packets for this instance dropped, by reason",
                            [("iname", i.name), ("reason", reason)], n)
                }
                gauge("vigil_vrrp_effective_priority", "Priority after tracking", [("iname", i.name)], Double(i.effectivePriority))
                counter("vigil_vrrp_transitions_total", "State transitions", [("iname", i.name)], i.transitions)
            }
            var scripts: [String: Bool] = [:]
            for i in vrrp.instances { for s in i.trackedScripts { if let h = s.healthy { scripts[s.name] = h } } }
            for (name, healthy) in scripts {
                gauge("keepalived_script_status", "Tracker Script Status", [("name", name)], healthy ? 1 : 0)
            }
            for (reason, n) in vrrp.droppedByReason {
                counter("vigil_vrrp_dropped_packets_total", "VRRP packets dropped, by reason", [("reason", reason)], n)
            }
        }

        if let servers = d.virtualServers {
            var totals = (connections: UInt64(0), inPackets: UInt64(0), outPackets: UInt64(0), inBytes: UInt64(0), outBytes: UInt64(0))
            for vs in servers {
                let service = [("service", vs.key)]
                gauge("vigil_virtual_server_quorum_up", "1 while the live weight holds quorum", service, vs.quorum.up ? 1 : 0)
                gauge("vigil_virtual_server_live_weight", "Sum of the weights of alive real servers", service, Double(vs.quorum.liveWeight))
                gauge("vigil_sorry_server_active", "1 while the sorry server is in IPVS", service, vs.sorryServer?.active == true ? 1 : 0)
                let addr = vs.address.map { a in vs.port.map { "\(a.contains(":") ? "[\(a)]" : a):\($0)" } ?? a } ?? vs.key
                let proto = vs.protocolName ?? "FWM"
                if let t = vs.traffic {
                    let l = [("addr", addr), ("proto", proto)]
                    counter("keepalived_lvs_vip_conn", "VIP connections", l, t.connections)
                    counter("keepalived_lvs_vip_in_packets", "VIP in packets", l, t.inPackets)
                    counter("keepalived_lvs_vip_out_packets", "VIP out packets", l, t.outPackets)
                    counter("keepalived_lvs_vip_in_bytes", "VIP in bytes", l, t.inBytes)
                    counter("keepalived_lvs_vip_out_bytes", "VIP out bytes", l, t.outBytes)
                    totals.connections &+= t.connections
                    totals.inPackets &+= t.inPackets
                    totals.outPackets &+= t.outPackets
                    totals.inBytes &+= t.inBytes
                    totals.outBytes &+= t.outBytes
                }
                for rs in vs.realServers {
                    let l = [("service", vs.key), ("real_server", rs.key)]
                    gauge("vigil_real_server_up", "1 while every checker of the real server is up", l, rs.alive ? 1 : 0)
                    gauge("vigil_real_server_weight", "Weight Vigil wants in IPVS (0 when absent)", l, Double(rs.effectiveWeight))
                    gauge("vigil_real_server_configured_weight", "Weight in the configuration", l, Double(rs.configuredWeight))
                    for c in rs.checkers {
                        let cl = l + [("kind", c.kind), ("target", c.target)]
                        gauge("vigil_checker_up", "1 while the checker is up", cl, c.up ? 1 : 0)
                        gauge("vigil_checker_consecutive_failures", "Failed checks in a row", cl, Double(c.consecutiveFailures))
                        if let s = c.durationSeconds {
                            gauge("vigil_checker_last_duration_seconds", "How long the last check took", cl, s)
                        }
                    }
                    if let t = rs.traffic {
                        let rl = [("addr", rs.key), ("proto", proto)]
                        counter("keepalived_lvs_rs_conn", "RS connections", rl, t.connections)
                        counter("keepalived_lvs_rs_in_packets", "RS in packets", rl, t.inPackets)
                        counter("keepalived_lvs_rs_out_packets", "RS out packets", rl, t.outPackets)
                        counter("keepalived_lvs_rs_in_bytes", "RS in bytes", rl, t.inBytes)
                        counter("keepalived_lvs_rs_out_bytes", "RS out bytes", rl, t.outBytes)
                        let nl = [("local_address", vs.address ?? ""), ("local_port", String(vs.port ?? 0)),
                                  ("local_mark", vs.firewallMark.map(String.init) ?? ""), ("proto", vs.protocolName ?? ""),
                                  ("remote_address", rs.address), ("remote_port", String(rs.port))]
                        gauge("node_ipvs_backend_connections_active", "The current active connections by local and remote address.",
                              nl, Double(t.activeConnections ?? 0))
                        gauge("node_ipvs_backend_connections_inactive", "The current inactive connections by local and remote address.",
                              nl, Double(t.inactiveConnections ?? 0))
                        gauge("node_ipvs_backend_weight", "The current backend weight by local and remote address.",
                              nl, Double(rs.effectiveWeight))
                    }
                }
            }
            if servers.contains(where: { $0.traffic != nil }) {
                counter("node_ipvs_connections_total", "The total number of connections made.", [], totals.connections)
                counter("node_ipvs_incoming_packets_total", "The total number of incoming packets.", [], totals.inPackets)
                counter("node_ipvs_outgoing_packets_total", "The total number of outgoing packets.", [], totals.outPackets)
                counter("node_ipvs_incoming_bytes_total", "The total amount of incoming data.", [], totals.inBytes)
                counter("node_ipvs_outgoing_bytes_total", "The total amount of outgoing data.", [], totals.outBytes)
            }
        }
        if let s = input.statistics {
            counter("vigil_checks_total", "Checks finished", [], s.checks)
            counter("vigil_check_failures_total", "Checks that failed", [], s.failures)
            var cumulative = 0
            for (n, bound) in ProbeStatistics.latenessBounds.enumerated() {
                cumulative += s.latenessCounts[n]
                gauge("vigil_check_lateness_checks", "Checks that started at most `at_most_seconds` after their schedule (cumulative)",
                      [("at_most_seconds", String(bound))], Double(cumulative))
            }
            gauge("vigil_check_lateness_checks", "Checks that started at most `at_most_seconds` after their schedule (cumulative)",
                  [("at_most_seconds", "+Inf")], Double(s.checks))
            gauge("vigil_check_lateness_p99_seconds", "Upper bound of the bucket holding the 99th percentile of check lateness",
                  [], s.latenessQuantile(0.99).isFinite ? s.latenessQuantile(0.99) : 1e9)
        }
        if let repairs = input.repairs {
            counter("vigil_reconcile_repairs_total", "Reconcile passes that changed the kernel table", [], repairs)
        }
        if let ops = input.operationsApplied {
            counter("vigil_ipvs_operations_total", "IPVS operations applied", [], ops)
        }
        return r.emitToString() + events.emitToString()
    }
}
