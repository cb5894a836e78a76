import KeepalivedConfig
import VigilSupport

/// What `vigil doctor` is asked to check besides the configuration file.
public struct DoctorOptions: Sendable, Hashable {
    /// The status server's address (`--status-address`); nil when it is off (`none`).
    public var statusAddress: (host: String, port: Int)?
    /// The configuration's networking uses source NAT for IPVS traffic, so `net.ipv4.vs.conntrack`
    /// must be on. keepalived.conf has no such option today: callers set it (see Docs/doctor.md).
    public var usesSNAT: Bool
    /// Listen for other routers' advertisements on each VRRP interface (about one advert interval).
    public var listensForPeers: Bool

    public init(statusAddress: (host: String, port: Int)? = ("127.0.0.1", 9901), usesSNAT: Bool = false,
                listensForPeers: Bool = true) {
        self.statusAddress = statusAddress
        self.usesSNAT = usesSNAT
        self.listensForPeers = listensForPeers
    }

    public static func == (a: DoctorOptions, b: DoctorOptions) -> Bool {
        a.statusAddress?.host == b.statusAddress?.host && a.statusAddress?.port == b.statusAddress?.port && a.usesSNAT == b.usesSNAT
            && a.listensForPeers == b.listensForPeers
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(statusAddress?.host)
        hasher.combine(statusAddress?.port)
        hasher.combine(usesSNAT)
        hasher.combine(listensForPeers)
    }
}

/// `vigil doctor`: checks that this host can run the configuration, one finding per fact checked.
public enum Doctor {
    /// Examines a loaded configuration against `host`; `path` only names the file in the report.
    public static func examine(path: String, load: LoadResult, host: some DoctorHost,
                               options: DoctorOptions = DoctorOptions()) -> DoctorReport {
        var context = DoctorContext(host: host, configuration: load.configuration)
        context.checkConfiguration(load, path: path)
        context.checkCapabilities()
        context.checkModules()
        context.checkSysctls(usesSNAT: options.usesSNAT)
        context.checkInterfaces()
        context.checkPeers()
        if options.listensForPeers { context.checkAdvertisingPeers() }
        context.checkScripts()
        context.checkStatusAddress(options.statusAddress)
        return DoctorReport(config: path, findings: context.findings)
    }

    /// Loads `path` as `vigil -t` does and examines it.
    public static func examine(path: String, configID: String? = nil, host: some DoctorHost,
                               options: DoctorOptions = DoctorOptions()) -> DoctorReport {
        examine(path: path, load: ConfigLoader.load(path: path, configID: configID), host: host, options: options)
    }
}

/// The state the checks share: the host, its interfaces read once, and the findings so far.
struct DoctorContext<Host: DoctorHost> {
    let host: Host
    /// nil when the configuration was rejected: only the checks that need no configuration run.
    let configuration: KeepalivedConfiguration?
    let interfaces: [HostInterface]
    var findings: [Finding] = []

    init(host: Host, configuration: KeepalivedConfiguration?) {
        self.host = host
        self.configuration = configuration
        self.interfaces = host.interfaces()
    }

    mutating func add(_ finding: Finding) { findings.append(finding) }

    func interface(_ name: String) -> HostInterface? { interfaces.first { $0.name == name } }

    /// Whether some interface of this host holds `address`.
    func isLocal(_ address: IPAddress) -> Bool { interfaces.contains { $0.addresses.contains(address) } }

    /// Every VIP (`virtual_ipaddress`) some VRRP instance holds when master.
    var virtualAddresses: Set<IPAddress> {
        Set((configuration?.vrrpInstances ?? []).flatMap { $0.virtualIPAddresses.map(\.address) })
    }

    /// The socket addresses of every virtual server, a group's entries included (ranges by their first address).
    var virtualServerAddresses: [(server: VirtualServer, address: SocketAddress)] {
        guard let configuration else { return [] }
        var out: [(VirtualServer, SocketAddress)] = []
        for vs in configuration.virtualServers {
            switch vs.address {
            case .socket(let a): out.append((vs, a))
            case .firewallMark: break
            case .group(let name):
                for entry in configuration.virtualServerGroups.first(where: { $0.name == name })?.entries ?? [] {
                    switch entry {
                    case .address(let a): out.append((vs, a))
                    case .range(let first, _, let port): out.append((vs, SocketAddress(first, port)))
                    case .firewallMark: break
                    }
                }
            }
        }
        return out
    }

    /// A virtual server as the report names it.
    static func name(_ vs: VirtualServer) -> String {
        switch vs.address {
        case .socket(let a): "virtual_server \(a)"
        case .firewallMark(let m): "virtual_server fwmark \(m)"
        case .group(let g): "virtual_server group \(g)"
        }
    }
}
