import VigilSupport

/// The transport protocol of an IPVS service.
public enum IPVSProtocol: UInt16, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// `IPPROTO_TCP`.
    case tcp = 6
    /// `IPPROTO_UDP`.
    case udp = 17
    /// `IPPROTO_SCTP`.
    case sctp = 132

    /// The name ipvsadm prints: `TCP`, `UDP`, `SCTP`.
    public var description: String {
        switch self {
        case .tcp: "TCP"
        case .udp: "UDP"
        case .sctp: "SCTP"
        }
    }
}

/// What identifies a virtual service in the kernel.
public enum ServiceKey: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A (protocol, address, port) service.
    case address(IPVSProtocol, IPAddress, UInt16)
    /// A firewall-mark service of the given family.
    case firewallMark(UInt32, AddressFamily)

    public var family: AddressFamily {
        switch self {
        case .address(_, let a, _): a.family
        case .firewallMark(_, let f): f
        }
    }

    /// Human form used in errors and logs: `TCP 192.0.2.1:80`, `TCP [2001:db8::1]:80`, `FWM 42`.
    public var description: String {
        switch self {
        case .address(let p, let a, let port): "\(p) \(SocketAddress(a, port))"
        case .firewallMark(let m, let f): f == .inet ? "FWM \(m)" : "FWM \(m) (IPv6)"
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*` in linux/ip_vs.h).
public struct ServiceFlags: OptionSet, Sendable, Hashable, Codable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `IP_VS_SVC_F_PERSISTENT`.
    public static let persistent = ServiceFlags(rawValue: 0x0001)
    /// `IP_VS_SVC_F_HASHED` (kernel-internal; reported, never set).
    public static let hashed = ServiceFlags(rawValue: 0x0002)
    /// `IP_VS_SVC_F_ONEPACKET`: one-packet scheduling for UDP.
    public static let onePacket = ServiceFlags(rawValue: 0x0004)
    /// `IP_VS_SVC_F_SCHED1`: `sh-fallback` / `mh-fallback`.
    public static let sched1 = ServiceFlags(rawValue: 0x0008)
    /// `IP_VS_SVC_F_SCHED2`: `sh-port` / `mh-port`.
    public static let sched2 = ServiceFlags(rawValue: 0x0010)
    /// `IP_VS_SVC_F_SCHED3`.
    public static let sched3 = ServiceFlags(rawValue: 0x0020)
}

/// Traffic counters and rates, as the kernel reports them (`IPVS_STATS_ATTR_*`).
public struct Statistics: Sendable, Hashable, Codable {
    public var connections: UInt64 = 0
    public var inPackets: UInt64 = 0
    public var outPackets: UInt64 = 0
    public var inBytes: UInt64 = 0
    public var outBytes: UInt64 = 0
    /// Connections per second.
    public var cps: UInt64 = 0
    public var inPPS: UInt64 = 0
    public var outPPS: UInt64 = 0
    /// Bytes per second in.
    public var inBPS: UInt64 = 0
    /// Bytes per second out.
    public var outBPS: UInt64 = 0

    public init() {}
}

/// A virtual service: its key and scheduling settings, plus kernel-reported statistics.
public struct Service: Sendable, Hashable, Codable {
    public var key: ServiceKey
    /// Scheduler module name without the `ip_vs_` prefix: rr, wrr, lc, wlc, sh, mh, …
    public var scheduler: String
    public var flags: ServiceFlags
    /// Persistence timeout in seconds (meaningful with `.persistent`).
    public var timeout: UInt32
    /// Persistence granularity: an IPv4 netmask in host order (e.g. 0xFFFFFFFF),
    /// or an IPv6 prefix length (e.g. 128), as the kernel stores it.
    public var netmask: UInt32
    /// Persistence engine name (e.g. "sip"), if any.
    public var persistenceEngine: String?
    /// Counters read from the kernel; ignored when writing.
    public var statistics: Statistics?

    public init(
        key: ServiceKey, scheduler: String = "wlc", flags: ServiceFlags = [],
        timeout: UInt32 = 0, netmask: UInt32? = nil, persistenceEngine: String? = nil,
        statistics: Statistics? = nil
    ) {
        self.key = key
        self.scheduler = scheduler
        self.flags = flags
        self.timeout = timeout
        self.netmask = netmask ?? (key.family == .inet ? 0xFFFF_FFFF : 128)
        self.persistenceEngine = persistenceEngine
        self.statistics = statistics
    }
}

/// How IPVS forwards packets to a destination (`IP_VS_CONN_F_FWD_MASK` values).
public enum ForwardingMethod: UInt32, Sendable, Hashable, Codable, CaseIterable {
    /// `IP_VS_CONN_F_MASQ`: NAT ("Masq").
    case masquerade = 0
    /// `IP_VS_CONN_F_LOCALNODE` ("Local").
    case localNode = 1
    /// `IP_VS_CONN_F_TUNNEL`: IP-in-IP, GUE or GRE ("Tunnel").
    case tunnel = 2
    /// `IP_VS_CONN_F_DROUTE`: direct routing ("Route").
    case route = 3
    /// `IP_VS_CONN_F_BYPASS`.
    case bypass = 4
}

/// Tunnel encapsulation for `.tunnel` destinations (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
public enum TunnelType: UInt8, Sendable, Hashable, Codable, CaseIterable {
    /// `IP_VS_CONN_F_TUNNEL_TYPE_IPIP`.
    case ipip = 0
    /// `IP_VS_CONN_F_TUNNEL_TYPE_GUE`.
    case gue = 1
    /// `IP_VS_CONN_F_TUNNEL_TYPE_GRE`.
    case gre = 2
}

/// Tunnel checksum flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
public struct TunnelFlags: OptionSet, Sendable, Hashable, Codable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM`.
    public static let checksum = TunnelFlags(rawValue: 1 << 0)
    /// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM`.
    public static let remoteChecksum = TunnelFlags(rawValue: 1 << 1)
}

/// What identifies a destination within its service.
public struct DestinationKey: Sendable, Hashable, Codable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String { SocketAddress(address, port).description }
}

/// A real server behind a virtual service.
public struct Destination: Sendable, Hashable, Codable {
    public var address: IPAddress
    public var port: UInt16
    public var forwarding: ForwardingMethod
    /// Weight; the kernel stores a signed 32-bit value and accepts 0 … Int32.max.
    public var weight: UInt32
    /// Upper connection threshold (0 = none).
    public var upperThreshold: UInt32
    /// Lower connection threshold (0 = none).
    public var lowerThreshold: UInt32
    public var tunnelType: TunnelType
    /// Tunnel port for GUE (0 = unset).
    public var tunnelPort: UInt16
    public var tunnelFlags: TunnelFlags
    /// Counters and connection counts read from the kernel; ignored when writing.
    public var activeConnections: UInt32?
    public var inactiveConnections: UInt32?
    public var persistentConnections: UInt32?
    public var statistics: Statistics?

    public init(
        address: IPAddress, port: UInt16, forwarding: ForwardingMethod = .route, weight: UInt32 = 1,
        upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0,
        tunnelType: TunnelType = .ipip, tunnelPort: UInt16 = 0, tunnelFlags: TunnelFlags = []
    ) {
        self.address = address
        self.port = port
        self.forwarding = forwarding
        self.weight = weight
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
        self.tunnelType = tunnelType
        self.tunnelPort = tunnelPort
        self.tunnelFlags = tunnelFlags
    }

    public var key: DestinationKey { DestinationKey(address, port) }
}

/// A service with its destinations, as read from or desired in the kernel.
public struct ServiceEntry: Sendable, Hashable, Codable {
    public var service: Service
    public var destinations: [Destination]

    public init(service: Service, destinations: [Destination] = []) {
        self.service = service
        self.destinations = destinations
    }
}

/// Connection timeouts in seconds (`IPVS_CMD_ATTR_TIMEOUT_*`); 0 means "leave unchanged" when setting.
public struct Timeouts: Sendable, Hashable, Codable {
    public var tcp: UInt32
    public var tcpFin: UInt32
    public var udp: UInt32

    public init(tcp: UInt32, tcpFin: UInt32, udp: UInt32) {
        self.tcp = tcp
        self.tcpFin = tcpFin
        self.udp = udp
    }
}

/// Role of a connection-synchronisation daemon (`IP_VS_STATE_*`).
public enum SyncDaemonRole: UInt32, Sendable, Hashable, Codable, CaseIterable {
    /// `IP_VS_STATE_MASTER`.
    case master = 1
    /// `IP_VS_STATE_BACKUP`.
    case backup = 2
}

/// A connection-synchronisation daemon (`IPVS_DAEMON_ATTR_*`).
public struct SyncDaemon: Sendable, Hashable, Codable {
    public var role: SyncDaemonRole
    public var interface: String
    public var syncID: UInt32
    /// Maximum sync message length (0 = kernel default).
    public var maxLength: UInt16
    /// Multicast group (nil = kernel default 224.0.0.81).
    public var multicastGroup: IPAddress?
    /// Multicast port (0 = kernel default 8848).
    public var multicastPort: UInt16
    /// Multicast TTL (0 = kernel default 1).
    public var multicastTTL: UInt8

    public init(
        role: SyncDaemonRole, interface: String, syncID: UInt32 = 0, maxLength: UInt16 = 0,
        multicastGroup: IPAddress? = nil, multicastPort: UInt16 = 0, multicastTTL: UInt8 = 0
    ) {
        self.role = role
        self.interface = interface
        self.syncID = syncID
        self.maxLength = maxLength
        self.multicastGroup = multicastGroup
        self.multicastPort = multicastPort
        self.multicastTTL = multicastTTL
    }
}

/// IPVS version and connection-table size (`IPVS_INFO_ATTR_*`).
public struct IPVSInfo: Sendable, Hashable, Codable {
    /// Packed version, e.g. 0x010201 for 1.2.1.
    public var version: UInt32
    public var connectionTableSize: UInt32

    public init(version: UInt32, connectionTableSize: UInt32) {
        self.version = version
        self.connectionTableSize = connectionTableSize
    }

    /// "1.2.1".
    public var versionString: String {
        "\(version >> 16 & 0xFF).\(version >> 8 & 0xFF).\(version & 0xFF)"
    }
}

/// One change to the kernel table. Lists of these come from `diff` and from rule files.
public enum IPVSOperation: Sendable, Hashable, Codable {
    case addService(Service)
    case editService(Service)
    case deleteService(ServiceKey)
    case addDestination(ServiceKey, Destination)
    case editDestination(ServiceKey, Destination)
    case deleteDestination(ServiceKey, DestinationKey)
    /// Clears the whole table.
    case flush
    /// Zeroes counters of one service, or of all when nil.
    case zero(ServiceKey?)
    case setTimeouts(Timeouts)
    case startDaemon(SyncDaemon)
    case stopDaemon(SyncDaemonRole)
}

/// What went wrong, in terms an operator can act on.
public enum IPVSErrorCode: String, Sendable, Hashable, Codable {
    /// The kernel has no IPVS (module not loaded or not built).
    case notAvailable
    /// The requested scheduler module does not exist.
    case schedulerMissing
    case permissionDenied
    case alreadyExists
    case notFound
    case invalidArgument
    /// A kernel answer Vigil could not decode.
    case malformedReply
    /// Any other kernel or socket error.
    case system
}

/// A typed IPVS failure naming the service or destination involved.
public struct IPVSError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: IPVSErrorCode
    public var message: String
    /// The service / destination the failing request was about (e.g. "TCP 192.0.2.1:80 -> 198.51.100.2:80").
    public var context: String
    /// The kernel's errno, when there was one.
    public var errno: Int32?
    /// For `apply`: the index of the operation that failed.
    public var operationIndex: Int? = nil
    /// For `apply`: how many operations the kernel applied. All operations before
    /// `operationIndex` were applied; operations already in flight after it (same pipelined
    /// batch) may have been applied too and are counted here.
    public var appliedCount: Int? = nil

    public init(code: IPVSErrorCode, message: String, context: String = "", errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.context = context
        self.errno = errno
    }

    public var description: String { context.isEmpty ? message : "\(context): \(message)" }
}

/// Read and change the kernel's IPVS tables. Implemented over netlink by ``IPVSClient``;
/// tests use in-memory fakes.
public protocol IPVSControlling: Sendable {
    func info() async throws -> IPVSInfo
    /// All services, each with its destinations and statistics.
    func table() async throws -> [ServiceEntry]
    /// One service with its destinations; throws `.notFound` when absent.
    func entry(for key: ServiceKey) async throws -> ServiceEntry
    /// Applies operations in order, pipelined; stops at the first failure and throws it.
    /// Returns how many were applied.
    @discardableResult
    func apply(_ operations: [IPVSOperation]) async throws -> Int
    func timeouts() async throws -> Timeouts
    func daemons() async throws -> [SyncDaemon]
}
