#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IPVS
import VigilSupport

/// The documented JSON shape of `ipvsctl list --json` (see Docs/ipvsctl.md). Field names are
/// stable; fields that do not apply are omitted.
public struct JSONTable: Codable, Sendable, Hashable {
    /// IPVS version, e.g. "1.2.1".
    public var version: String?
    public var connectionTableSize: UInt32?
    public var services: [JSONService]

    public init(info: IPVSInfo?, table: [ServiceEntry], sorted: Bool = true) {
        version = info?.versionString
        connectionTableSize = info?.connectionTableSize
        services = (sorted ? IPVSAdmOrder.sorted(table) : table).map { JSONService($0, sorted: sorted) }
    }
}

/// Counters and rates (`IPVS_STATS_ATTR_*`): totals since creation or the last zero, and per-second rates.
public struct JSONStats: Codable, Sendable, Hashable {
    public var connections, inPackets, outPackets, inBytes, outBytes: UInt64
    public var connectionsPerSecond, inPacketsPerSecond, outPacketsPerSecond: UInt64
    public var inBytesPerSecond, outBytesPerSecond: UInt64

    public init(_ s: Statistics) {
        connections = s.connections; inPackets = s.inPackets; outPackets = s.outPackets
        inBytes = s.inBytes; outBytes = s.outBytes
        connectionsPerSecond = s.cps; inPacketsPerSecond = s.inPPS; outPacketsPerSecond = s.outPPS
        inBytesPerSecond = s.inBPS; outBytesPerSecond = s.outBPS
    }
}

/// One virtual service.
public struct JSONService: Codable, Sendable, Hashable {
    /// "inet" or "inet6".
    public var family: String
    /// "TCP", "UDP" or "SCTP"; absent for firewall-mark services.
    public var `protocol`: String?
    public var address: String?
    public var port: UInt16?
    public var firewallMark: UInt32?
    public var scheduler: String
    /// Named flags: "persistent", "one-packet", "sh-fallback", "sh-port", "mh-fallback", "mh-port", "flag-1"…"flag-3".
    public var flags: [String]
    /// Persistence timeout in seconds (persistent services only).
    public var persistenceTimeout: UInt32?
    /// Persistence granularity: an IPv4 netmask ("255.255.255.0") or an IPv6 prefix length ("64").
    public var persistenceNetmask: String?
    public var persistenceEngine: String?
    public var stats: JSONStats
    public var destinations: [JSONDestination]

    init(_ e: ServiceEntry, sorted: Bool) {
        let s = e.service
        family = s.key.family.description
        switch s.key {
        case .address(let p, let a, let port):
            self.protocol = p.description; address = a.description; self.port = port
        case .firewallMark(let m, _):
            firewallMark = m
        }
        scheduler = s.scheduler
        var f: [String] = []
        if s.flags.contains(.persistent) { f.append("persistent") }
        if s.flags.contains(.onePacket) { f.append("one-packet") }
        let sched = IPVSAdmPrinter(names: NumericNames()).schedulerFlagsText(s)
        if !sched.isEmpty { f += sched.split(separator: ",").map(String.init) }
        flags = f
        if s.flags.contains(.persistent) {
            persistenceTimeout = s.timeout
            persistenceNetmask = s.key.family == .inet ? IPAddress.v4(s.netmask).description : String(s.netmask)
        }
        persistenceEngine = s.persistenceEngine.flatMap { $0.isEmpty ? nil : $0 }
        stats = JSONStats(s.statistics ?? Statistics())
        destinations = (sorted ? IPVSAdmOrder.sorted(e.destinations) : e.destinations).map(JSONDestination.init)
    }
}

/// One real server.
public struct JSONDestination: Codable, Sendable, Hashable {
    public var address: String
    public var port: UInt16
    /// "masquerade", "route", "tunnel", "local" or "bypass".
    public var forwarding: String
    public var weight: UInt32
    public var upperThreshold: UInt32
    public var lowerThreshold: UInt32
    public var activeConnections: UInt32
    public var inactiveConnections: UInt32
    public var persistentConnections: UInt32
    /// Tunnel encapsulation ("tunnel" forwarding only).
    public var tunnel: JSONTunnel?
    public var stats: JSONStats

    init(_ d: Destination) {
        address = d.address.description
        port = d.port
        forwarding = switch d.forwarding {
        case .masquerade: "masquerade"
        case .route: "route"
        case .tunnel: "tunnel"
        case .localNode: "local"
        case .bypass: "bypass"
        }
        weight = d.weight
        upperThreshold = d.upperThreshold
        lowerThreshold = d.lowerThreshold
        activeConnections = d.activeConnections ?? 0
        inactiveConnections = d.inactiveConnections ?? 0
        persistentConnections = d.persistentConnections ?? 0
        if d.forwarding == .tunnel {
            tunnel = JSONTunnel(
                type: "\(d.tunnelType)", port: d.tunnelType == .gue ? d.tunnelPort : nil,
                checksum: d.tunnelFlags.contains(.remoteChecksum) ? "remote" : d.tunnelFlags.contains(.checksum) ? "checksum" : "none")
        }
        stats = JSONStats(d.statistics ?? Statistics())
    }
}

/// Tunnel settings of a destination.
public struct JSONTunnel: Codable, Sendable, Hashable {
    /// "ipip", "gue" or "gre".
    public var type: String
    /// GUE destination port.
    public var port: UInt16?
    /// "none", "checksum" or "remote" (remote checksum offload).
    public var checksum: String
}

/// `ipvsctl list --timeout --json`.
public struct JSONTimeouts: Codable, Sendable, Hashable {
    public var tcp, tcpFin, udp: UInt32
    public init(_ t: Timeouts) { tcp = t.tcp; tcpFin = t.tcpFin; udp = t.udp }
}

/// `ipvsctl list --daemon --json`: one element per running sync daemon.
public struct JSONDaemon: Codable, Sendable, Hashable {
    /// "master" or "backup".
    public var role: String
    public var interface: String
    public var syncID: UInt32
    public var maxLength: UInt16?
    public var multicastGroup: String?
    public var multicastPort: UInt16?
    public var multicastTTL: UInt8?

    public init(_ d: SyncDaemon) {
        role = d.role == .master ? "master" : "backup"
        interface = d.interface
        syncID = d.syncID
        maxLength = d.maxLength == 0 ? nil : d.maxLength
        multicastGroup = d.multicastGroup?.description
        multicastPort = d.multicastPort == 0 ? nil : d.multicastPort
        multicastTTL = d.multicastTTL == 0 ? nil : d.multicastTTL
    }
}

/// `ipvsctl list --connection --json`: one element per connection.
public struct JSONConnection: Codable, Sendable, Hashable {
    public var `protocol`: String
    public var client: String
    public var virtual: String
    public var destination: String
    public var state: String
    public var expiresSeconds: UInt32
    public var persistenceEngine: String?
    public var persistenceData: String?

    public init(_ c: ConnectionEntry) {
        self.protocol = c.protocolName
        client = c.client.description
        virtual = c.virtual.description
        destination = c.destination.description
        state = c.state
        expiresSeconds = c.expires
        persistenceEngine = c.persistenceEngine
        persistenceData = c.persistenceData
    }
}

/// Encodes any of the JSON documents above: pretty-printed, keys sorted, trailing newline.
public func encodeJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(value) else { return "{}\n" }
    return String(decoding: data, as: UTF8.self) + "\n"
}
