#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HealthCheck
import IPVS
import VRRP
import VigilSupport

/// keepalived's signal dumps, written from the same views as `/status`: the statistics dump
/// (SIGUSR2, `/tmp/keepalived.stats`, keepalived's exact format), the JSON dump (SIGRTMIN+2,
/// `/tmp/keepalived.json`, keepalived's json_version 1 array of `{data, stats}` per VRRP instance)
/// and the data dump (SIGUSR1, `/tmp/keepalived.data` for VRRP with the lines exporters parse,
/// `/tmp/keepalived_check.data` for the LVS half).
enum KeepalivedDumps {
    /// keepalived 2.2.7's fixed paths.
    static let statsPath = "/tmp/keepalived.stats"
    static let jsonPath = "/tmp/keepalived.json"
    static let dataPath = "/tmp/keepalived.data"
    static let checkDataPath = "/tmp/keepalived_check.data"
    /// The LVS half beside the JSON dump: keepalived's file is an array of VRRP instances, which
    /// exporters decode as such, so the LVS half cannot be a key inside it.
    static let checkJSONPath = "/tmp/keepalived_check.json"

    /// keepalived's state numbers (vrrp.h): INIT 0, BACKUP 1, MASTER 2, FAULT 3, STOP 98.
    static func stateNumber(_ s: VRRPState) -> Int {
        switch s {
        case .initialize: 0
        case .backup: 1
        case .master: 2
        case .fault: 3
        case .stopped: 98
        }
    }

    /// The statistics one instance's counters give keepalived's fields, by keepalived's JSON key.
    static func statistics(_ a: VRRPInstanceActivity) -> JSONStats {
        let d = a.dropped
        return JSONStats(
            advert_rcvd: a.advertisementsReceived, advert_sent: a.advertisementsSent,
            become_master: a.becameMaster, release_master: a.releasedMaster,
            packet_len_err: d[.badLength, default: 0], advert_interval_err: d[.intervalMismatch, default: 0],
            ip_ttl_err: d[.badTTL, default: 0], invalid_type_rcvd: d[.badType, default: 0] + d[.badVersion, default: 0],
            addr_list_err: d[.addressMismatch, default: 0] + d[.badAddressCount, default: 0],
            invalid_authtype: 0, authtype_mismatch: d[.authTypeMismatch, default: 0],
            auth_failure: d[.authFailure, default: 0] + d[.badICV, default: 0] + d[.badSPI, default: 0] + d[.replayedSequence, default: 0],
            pri_zero_rcvd: a.priorityZeroReceived, pri_zero_sent: a.priorityZeroSent)
    }

    /// `/tmp/keepalived.stats`, line for line as keepalived 2.2.7 writes it.
    static func stats(_ v: StatusSources.VRRPView) -> String {
        var out = ""
        for s in v.status {
            let st = statistics(v.activity[s.name] ?? VRRPInstanceActivity())
            out += """
            VRRP Instance: \(s.name)
              Advertisements:
                Received: \(st.advert_rcvd)
                Sent: \(st.advert_sent)
              Became master: \(st.become_master)
              Released master: \(st.release_master)
              Packet Errors:
                Length: \(st.packet_len_err)
                TTL: \(st.ip_ttl_err)
                Invalid Type: \(st.invalid_type_rcvd)
                Advertisement Interval: \(st.advert_interval_err)
                Address List: \(st.addr_list_err)
              Authentication Errors:
                Invalid Type: \(st.invalid_authtype)
                Type Mismatch: \(st.authtype_mismatch)
                Failure: \(st.auth_failure)
              Priority Zero:
                Received: \(st.pri_zero_rcvd)
                Sent: \(st.pri_zero_sent)

            """
        }
        return out
    }

    /// keepalived's `stats` object (vrrp_json.c), one per instance.
    struct JSONStats: Codable, Equatable {
        var advert_rcvd: Int, advert_sent: Int, become_master: Int, release_master: Int
        var packet_len_err: Int, advert_interval_err: Int, ip_ttl_err: Int, invalid_type_rcvd: Int, addr_list_err: Int
        var invalid_authtype: Int, authtype_mismatch: Int, auth_failure: Int
        var pri_zero_rcvd: Int, pri_zero_sent: Int
    }

    /// keepalived's `data` object (vrrp_json.c, json_version 1).
    struct JSONData: Codable {
        var iname: String
        var dont_track_primary: Int
        var skip_check_adv_addr = 0
        var strict_mode = 0
        var vmac_ifname = ""
        var ifp_ifname: String
        var master_priority = 0
        var last_transition: Double
        var garp_delay: Int, garp_refresh: Int, garp_rep: Int, garp_refresh_rep: Int
        var garp_lower_prio_delay: Int, garp_lower_prio_rep: Int
        var lower_prio_no_advert: Int
        var higher_prio_send_advert: Int
        var vrid: Int
        var base_priority: Int
        var effective_priority: Int
        var vipset: Bool
        var promote_secondaries = false
        var adver_int: Double
        var master_adver_int: Double
        var accept = 1
        var nopreempt: Bool
        var preempt_delay: Double
        var state: Int
        var wantstate: Int
        var version: Int
        var smtp_alert = false
        var notify_deleted = false
        var vips: [String]
        var evips: [String]?
        var track_script: [String]?
        var auth_type: Int
    }

    struct JSONInstance: Codable {
        var data: JSONData
        var stats: JSONStats
    }

    /// `ADDRESS dev IF scope global[ set]`, as keepalived lists a VIP (`set` while it holds it).
    static func vipLine(_ a: VRRPVirtualAddress, interface: String, held: Bool) -> String {
        let scope = a.scope == 0 ? "global" : a.scope == 254 ? "host" : a.scope == 253 ? "link" : "\(a.scope)"
        return "\(a.address) dev \(a.device ?? interface) scope \(scope)" + (held ? " set" : "")
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The JSON dump: keepalived's array of instances.
    static func json(_ v: StatusSources.VRRPView) throws -> Data {
        let byName = Dictionary((v.settings?.instances ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let scripts = Dictionary((v.settings?.scripts ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let instances = v.status.compactMap { s -> JSONInstance? in
            guard let i = byName[s.name] else { return nil }
            let a = v.activity[s.name] ?? VRRPInstanceActivity()
            let held = s.state == .master
            let interval = Double(i.advertIntervalCentiseconds) / 100
            let auth: Int
            switch i.authentication {
            case .none: auth = 0
            case .password: auth = 1
            case .authenticationHeader: auth = 2
            }
            let data = JSONData(
                iname: s.name, dont_track_primary: i.dontTrackPrimary ? 1 : 0, ifp_ifname: i.interface,
                last_transition: a.lastTransition?.at.timeIntervalSince1970 ?? 0,
                garp_delay: Int(seconds(i.gratuitous.masterDelay)), garp_refresh: Int(i.gratuitous.masterRefresh.map(seconds) ?? 0),
                garp_rep: i.gratuitous.masterRepeat, garp_refresh_rep: i.gratuitous.refreshRepeat,
                garp_lower_prio_delay: Int(seconds(i.gratuitous.lowerPriorityDelay)), garp_lower_prio_rep: i.gratuitous.lowerPriorityRepeat,
                lower_prio_no_advert: i.lowerPriorityNoAdvert ? 1 : 0, higher_prio_send_advert: i.higherPrioritySendAdvert ? 1 : 0,
                vrid: Int(i.virtualRouterID), base_priority: Int(i.priority), effective_priority: Int(s.effectivePriority),
                vipset: held, adver_int: interval, master_adver_int: interval, nopreempt: !i.preempt,
                preempt_delay: seconds(i.preemptDelay), state: stateNumber(s.state), wantstate: stateNumber(s.state),
                version: Int(i.version.rawValue),
                vips: i.virtualAddresses.map { vipLine($0, interface: i.interface, held: held) },
                evips: i.excludedAddresses.isEmpty ? nil : i.excludedAddresses.map { vipLine($0, interface: i.interface, held: held) },
                track_script: i.trackScripts.isEmpty ? nil : i.trackScripts.map { "'\(scripts[$0.name]?.command ?? $0.name)'" },
                auth_type: auth)
            return JSONInstance(data: data, stats: statistics(a))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        return try encoder.encode(instances)
    }

    /// `Thu Dec  3 17:30:35.552032 2026`, as keepalived prints a time beside its epoch value.
    static func ctime(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%a %b %e %H:%M:%S", &parts)
        let micro = Int((date.timeIntervalSince1970 - Double(t)) * 1_000_000)
        let head = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(head).\(String(format: "%06d", micro)) \(parts.tm_year + 1900)"
    }

    /// `/tmp/keepalived.data`: keepalived's section and line layout for what Vigil has (the
    /// lines mehdy/keepalived-exporter reads: each instance's State, Wantstate, Interface,
    /// Gratuitous ARP delay, Virtual Router ID and Virtual IP list, each script's Status and State).
    static func data(_ v: StatusSources.VRRPView, routerID: String) -> String {
        let byName = Dictionary((v.settings?.instances ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var lines = ["------< Global definitions >------", " Router ID = \(routerID)", "------< VRRP Topology >------"]
        for s in v.status {
            guard let i = byName[s.name] else { continue }
            let a = v.activity[s.name] ?? VRRPInstanceActivity()
            let held = s.state == .master
            lines.append(" VRRP Instance = \(s.name)")
            lines.append("   VRRP Version = \(i.version.rawValue)")
            lines.append("   State = \(s.state.rawValue)")
            lines.append("   Wantstate = \(s.state.rawValue)")
            if let t = a.lastTransition?.at {
                lines.append("   Last transition = \(String(format: "%.6f", t.timeIntervalSince1970)) (\(ctime(t)))")
            }
            lines.append("   Interface = \(i.interface)")
            if let src = i.sourceAddress { lines.append("   Using src_ip = \(src)") }
            if i.unicastPeers.isEmpty {
                lines.append("   Multicast address \(i.version == .v3 && i.sourceAddress?.family == .inet6 ? "ff02::12" : "224.0.0.18")")
            } else {
                lines.append("   Unicast Peer(s) :")
                lines += i.unicastPeers.map { "     \($0)" }
            }
            lines.append("   Gratuitous ARP delay = \(Int(seconds(i.gratuitous.masterDelay)))")
            lines.append("   Gratuitous ARP repeat = \(i.gratuitous.masterRepeat)")
            lines.append("   Gratuitous ARP refresh = \(Int(i.gratuitous.masterRefresh.map(seconds) ?? 0))")
            lines.append("   Gratuitous ARP refresh repeat = \(i.gratuitous.refreshRepeat)")
            lines.append("   Gratuitous ARP lower priority delay = \(Int(seconds(i.gratuitous.lowerPriorityDelay)))")
            lines.append("   Gratuitous ARP lower priority repeat = \(i.gratuitous.lowerPriorityRepeat)")
            lines.append("   Virtual Router ID = \(i.virtualRouterID)")
            lines.append("   Priority = \(i.priority)")
            lines.append("   Effective priority = \(s.effectivePriority)")
            let interval = Double(i.advertIntervalCentiseconds) / 100
            lines.append("   Advert interval = \(interval == interval.rounded() ? "\(Int(interval)) sec" : "\(Int(interval * 1000)) milli-sec")")
            lines.append("   Preempt = \(i.preempt ? "enabled" : "disabled")")
            if i.preemptDelay > .zero { lines.append("   Preempt delay = \(seconds(i.preemptDelay)) secs") }
            switch i.authentication {
            case .none: lines.append("   Authentication type = none")
            case .password: lines.append("   Authentication type = SIMPLE_PASSWORD")
            case .authenticationHeader: lines.append("   Authentication type = IPSEC_AH")
            }
            lines.append("   Virtual IP (\(i.virtualAddresses.count)):")
            lines += i.virtualAddresses.map { "     " + vipLine($0, interface: i.interface, held: held) }
            if !i.excludedAddresses.isEmpty {
                lines.append("   Virtual IP Excluded (\(i.excludedAddresses.count)):")
                lines += i.excludedAddresses.map { "     " + vipLine($0, interface: i.interface, held: held) }
            }
            if !i.trackScripts.isEmpty {
                lines.append("   Tracked scripts :")
                lines += i.trackScripts.map { "     \($0.name) weight \($0.weight)" }
            }
        }
        let scripts = v.settings?.scripts ?? []
        if !scripts.isEmpty {
            lines.append("------< VRRP Scripts >------")
            for s in scripts {
                lines.append(" VRRP Script = \(s.name)")
                lines.append("   Command = '\(s.command)'")
                lines.append("   Interval = \(Int(seconds(s.interval))) sec")
                lines.append("   Timeout = \(Int(s.timeout.map(seconds) ?? 0)) sec")
                lines.append("   Weight = \(s.weight)\(s.reverse ? " reverse" : "")")
                lines.append("   Rise = \(s.rise)")
                lines.append("   Fall = \(s.fall)")
                let healthy = v.scripts[s.name]
                lines.append("   Status = \(healthy == false ? "BAD" : healthy == true ? "GOOD" : "INIT")")
                lines.append("   State = idle")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `/tmp/keepalived_check.data`: the LVS half in keepalived's `key = value` style (Vigil's
    /// layout; keepalived says its own is not a stable format).
    static func checkData(_ document: StatusDocument) -> String {
        var lines = ["------< LVS Topology >------"]
        for vs in document.virtualServers ?? [] {
            lines.append(" Virtual Server = \(vs.key)")
            lines.append("   lb_algo = \(vs.scheduler)")
            lines.append("   quorum = \(vs.quorum.required), hysteresis = \(vs.quorum.hysteresis)")
            lines.append("   Quorum state = \(vs.quorum.up ? "UP" : "DOWN") (live weight \(vs.quorum.liveWeight))")
            if let sorry = vs.sorryServer {
                lines.append("   sorry server = \(sorry.address):\(sorry.port)\(sorry.active ? " (active)" : "")")
            }
            for rs in vs.realServers {
                lines.append("   Real Server = \(rs.key)")
                lines.append("     Weight = \(rs.configuredWeight)")
                lines.append("     Effective weight = \(rs.effectiveWeight)")
                lines.append("     Alive = \(rs.alive ? "yes" : "no")")
                if let o = rs.override { lines.append("     Override = \(o)") }
                for c in rs.checkers {
                    lines.append("     Checker = \(c.kind) \(c.target): \(c.up ? "UP" : "DOWN")" + (c.reason.map { " (\($0))" } ?? ""))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `text` to `path`, mode 0600 (keepalived's umask 0177), replacing what was there.
    static func write(_ bytes: Data, to path: String) throws {
        let temporary = path + ".vigil-tmp"
        unlink(temporary)
        guard FileManager.default.createFile(atPath: temporary, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
