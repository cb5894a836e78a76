import KeepalivedConfig
import VigilDoctor
import VigilSupport

/// A host made of plain values: each test states the facts it is about.
struct FakeHost: DoctorHost {
    var sysctls: [String: String] = [
        "net.ipv4.ip_forward": "1", "net.ipv4.ip_nonlocal_bind": "1", "net.ipv4.conf.all.arp_ignore": "1",
        "net.ipv4.conf.all.arp_announce": "2", "net.ipv4.vs.conntrack": "1", "net.ipv6.conf.all.forwarding": "1",
    ]
    var modules: [String: ModuleState] = ["ip_vs": .loaded]
    var kernelRelease = "6.1.0-test"
    var links: [HostInterface] = [
        HostInterface(name: "lo", addresses: [IPAddress("127.0.0.1")!]),
        HostInterface(name: "eth0", addresses: [IPAddress("192.0.2.1")!]),
    ]
    /// CAP_NET_ADMIN and CAP_NET_RAW.
    var capabilities: UInt64? = (1 << 12) | (1 << 13)
    var boundPorts: [Int: BindProbe] = [:]
    var files: [String: FileStatus] = [
        "/": FileStatus(mode: 0o040755), "/etc": FileStatus(mode: 0o040755),
        "/etc/keepalived": FileStatus(mode: 0o040755), "/usr": FileStatus(mode: 0o040755),
        "/usr/bin": FileStatus(mode: 0o040755),
    ]
    var routes: [IPAddress: RouteProbe] = [:]
    var users: [String: UInt32] = [:]
    var searchPath = ["/usr/sbin", "/usr/bin"]
    var heard: [String: AdvertisementWatch] = [:]

    func sysctl(_ name: String) -> String? { sysctls[name] }
    func module(_ name: String) -> ModuleState { modules[name] ?? .loadable }
    func interfaces() -> [HostInterface] { links }
    func effectiveCapabilities() -> UInt64? { capabilities }
    func probeBind(host: String, port: Int) -> BindProbe { boundPorts[port] ?? .free }
    func fileStatus(_ path: String) -> FileStatus? { files[path] }
    func route(to destination: IPAddress) -> RouteProbe {
        routes[destination] ?? .via(interface: "eth0", source: IPAddress("192.0.2.1")!)
    }
    func userID(_ name: String) -> UInt32? { users[name] }
    func advertisements(on interface: String, for duration: Duration) -> AdvertisementWatch { heard[interface] ?? .heard([]) }

    /// An executable script owned by root, mode 0755.
    mutating func addScript(_ path: String, uid: UInt32 = 0, mode: UInt32 = 0o100755) { files[path] = FileStatus(uid: uid, mode: mode) }
}

/// Loads configuration text (scripts are not looked up on the real disk) and runs the doctor on `host`.
func doctor(_ text: String, host: FakeHost, options: DoctorOptions = DoctorOptions()) -> DoctorReport {
    let load = ConfigLoader.parse(text: text, fileName: "test.conf", options: LoadOptions(hostName: "test", checkScripts: false))
    return Doctor.examine(path: "test.conf", load: load, host: host, options: options)
}

extension DoctorReport {
    /// The one finding with this id; nil when there is none or several.
    func only(_ id: String) -> Finding? {
        let all = findings(id)
        return all.count == 1 ? all[0] : nil
    }

    func severity(_ id: String) -> Severity? { only(id)?.severity }
}

let natConfig = """
virtual_server 192.0.2.10 80 {
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""

let vrrpConfig = """
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
"""
