import Foundation
import HealthCheck
import IPVS
import VRRP
import VigilSupport

/// `GET /status`'s document, version ``StatusDocument/currentVersion`` (Docs/status.md, and
/// Docs/status.schema.json for its JSON Schema). Encoded with snake_case keys. Virtual and
/// real servers carry their addresses: they are identified by them, never by position.
public struct StatusDocument: Sendable, Codable {
    public static let currentVersion = 1

    public var schemaVersion = StatusDocument.currentVersion
    public var generatedAt: Date
    public var daemon: DaemonStatus
    public var vrrp: VRRPStatus?
    public var virtualServers: [VirtualServerStatus]?

    public struct DaemonStatus: Sendable, Codable {
        public var pid: Int32
        public var configFile: String
        /// SHA-256 of the main configuration file as last loaded (start or applied reload).
        public var configSha256: String?
        public var startedAt: Date
        public var uptimeSeconds: Double
        public var reloads: Reloads
    }

    public struct Reloads: Sendable, Codable {
        public var applied: Int
        public var refused: Int
        public var last: LastReload?
    }

    public struct LastReload: Sendable, Codable {
        /// `applied` or `refused`.
        public var result: String
        public var finishedAt: Date
        public var changes: [String]
        public var diagnostics: [String]
    }

    public struct VRRPStatus: Sendable, Codable {
        public var instances: [VRRPInstance]
        /// Packets dropped before any instance matched them (bad header, unknown VRID), and all drops, by reason.
        public var droppedByReason: [String: Int]
        public var advertisementsSent: Int
        public var advertisementsReceived: Int
    }

    public struct VRRPInstance: Sendable, Codable {
        public var name: String
        /// INIT, BACKUP, MASTER, FAULT or STOP.
        public var state: String
        public var interface: String
        public var virtualRouterId: Int
        public var version: Int
        public var configuredPriority: Int
        public var effectivePriority: Int
        public var masterAddress: String?
        public var virtualAddresses: [String]
        public var transitions: Int
        public var lastTransition: Transition?
        public var faults: [String]
        public var trackedScripts: [TrackedScript]
        public var trackedInterfaces: [TrackedInterface]
        public var counters: VRRPInstanceCounters
    }

    public struct Transition: Sendable, Codable {
        public var from: String
        public var to: String
        public var at: Date
        public var reason: String
    }

    public struct TrackedScript: Sendable, Codable {
        public var name: String
        public var weight: Int
        public var healthy: Bool?
    }

    public struct TrackedInterface: Sendable, Codable {
        public var name: String
        public var weight: Int
        public var up: Bool?
    }

    public struct VRRPInstanceCounters: Sendable, Codable {
        public var advertisementsSent: Int
        public var advertisementsReceived: Int
        public var priorityZeroSent: Int
        public var priorityZeroReceived: Int
        public var becameMaster: Int
        public var releasedMaster: Int
        public var droppedByReason: [String: Int]
    }

    public struct VirtualServerStatus: Sendable, Codable {
        /// `TCP 203.0.113.10:80`, `UDP [2001:db8::1]:53` or `FWM 5`: ipvsadm's spelling.
        public var key: String
        public var protocolName: String?
        public var address: String?
        public var port: Int?
        public var firewallMark: Int?
        public var scheduler: String
        public var quorum: Quorum
        public var sorryServer: SorryServer?
        public var realServers: [RealServerStatus]
        /// Real servers a reload removed, at weight 0 until their connections end.
        public var draining: [Draining]
        public var traffic: Traffic?
    }

    public struct Quorum: Sendable, Codable {
        public var required: Int
        public var hysteresis: Int
        public var liveWeight: Int
        public var up: Bool
    }

    public struct SorryServer: Sendable, Codable {
        public var address: String
        public var port: Int
        public var active: Bool
    }

    public struct RealServerStatus: Sendable, Codable {
        public var address: String
        public var port: Int
        /// `ADDRESS:PORT` (`[IPv6]:PORT`).
        public var key: String
        public var alive: Bool
        public var configuredWeight: Int
        /// The weight Vigil wants in IPVS now: 0 when down (inhibit_on_failure) or absent.
        public var effectiveWeight: Int
        /// Whether Vigil wants it in the IPVS table now.
        public var inIpvs: Bool
        /// The operator's override from `vigil ctl` (`weight N`, `draining`, `drained (removed)`,
        /// `disabled (maintenance)`), kept across reloads and restarts; nil when none.
        public var override: String?
        public var checkers: [CheckerStatus]
        public var traffic: Traffic?
    }

    public struct CheckerStatus: Sendable, Codable {
        /// TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK or MISC_CHECK.
        public var kind: String
        public var target: String
        public var up: Bool
        /// False until its first check has finished.
        public var hasVerdict: Bool
        /// `success`, `failure`, or nil before the first result.
        public var lastResult: String?
        /// The failure's reason; nil after a success.
        public var reason: String?
        public var durationSeconds: Double?
        public var secondsSinceResult: Double?
        public var consecutiveFailures: Int
        public var checks: Int
        public var nextCheckInSeconds: Double?
    }

    public struct Draining: Sendable, Codable {
        public var address: String
        public var port: Int
        public var sinceSeconds: Double
    }

    /// The kernel's counters (STATS64) and rates for a service or destination; nil when IPVS
    /// cannot be read.
    public struct Traffic: Sendable, Codable {
        public var connections: UInt64
        public var inPackets: UInt64
        public var outPackets: UInt64
        public var inBytes: UInt64
        public var outBytes: UInt64
        public var connectionsPerSecond: UInt64
        public var inPacketsPerSecond: UInt64
        public var outPacketsPerSecond: UInt64
        public var inBytesPerSecond: UInt64
        public var outBytesPerSecond: UInt64
        public var activeConnections: UInt32?
        public var inactiveConnections: UInt32?
    }

    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return e
    }()

    public static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .iso8601
        return d
    }()
}

extension StatusDocument.Traffic {
    init(_ s: Statistics, active: UInt32? = nil, inactive: UInt32? = nil) {
        self.init(connections: s.connections, inPackets: s.inPackets, outPackets: s.outPackets, inBytes: s.inBytes,
                  outBytes: s.outBytes, connectionsPerSecond: s.cps, inPacketsPerSecond: s.inPPS, outPacketsPerSecond: s.outPPS,
                  inBytesPerSecond: s.inBPS, outBytesPerSecond: s.outBPS, activeConnections: active, inactiveConnections: inactive)
    }
}

extension Duration {
    var asSeconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
