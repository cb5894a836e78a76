import VigilSupport
import KeepalivedConfig
import struct VRRP.VRRPAdvertisement

/// One network interface as `getifaddrs(3)` reports it.
public struct HostInterface: Sendable, Hashable {
    public var name: String
    /// `IFF_UP`: administratively up.
    public var isUp: Bool
    /// `IFF_RUNNING`: the link has carrier.
    public var isRunning: Bool
    /// `IFF_MULTICAST`.
    public var supportsMulticast: Bool
    public var addresses: [IPAddress]

    public init(name: String, isUp: Bool = true, isRunning: Bool = true, supportsMulticast: Bool = true,
                addresses: [IPAddress] = []) {
        self.name = name
        self.isUp = isUp
        self.isRunning = isRunning
        self.supportsMulticast = supportsMulticast
        self.addresses = addresses
    }
}

/// Whether a kernel module is usable.
public enum ModuleState: Sendable, Hashable {
    /// In `/proc/modules`.
    case loaded
    /// Compiled into the kernel (`modules.builtin`).
    case builtIn
    /// Not loaded, but installed for the running kernel (`modules.dep`): `modprobe` will load it.
    case loadable
    /// Neither loaded, built in nor installed for the running kernel.
    case missing
}

/// The result of binding a TCP socket to an address and closing it again.
public enum BindProbe: Sendable, Hashable {
    case free
    /// `EADDRINUSE`.
    case inUse
    /// Any other failure, e.g. `EADDRNOTAVAIL` for an address this host does not have.
    case failed(String)
}

/// The kernel's route lookup for a destination (a UDP `connect(2)`, which sends nothing).
public enum RouteProbe: Sendable, Hashable {
    /// The source address the kernel picked, and the interface holding it when known.
    case via(interface: String?, source: IPAddress)
    case unreachable(String)
}

/// A VRRP advertisement heard on an interface, and who sent it.
public struct ObservedAdvertisement: Sendable, Hashable {
    public var source: IPAddress
    public var advertisement: VRRPAdvertisement

    public init(source: IPAddress, advertisement: VRRPAdvertisement) {
        self.source = source
        self.advertisement = advertisement
    }
}

/// What listening for VRRP advertisements on an interface gave.
public enum AdvertisementWatch: Sendable, Hashable {
    /// Every well-formed advertisement heard, any VRID.
    case heard([ObservedAdvertisement])
    /// The raw socket could not be opened or bound (no CAP_NET_RAW, no such interface).
    case failed(String)
}

/// `stat(2)` of one path, as the doctor needs it.
public struct FileStatus: Sendable, Hashable {
    public var ownership: FileOwnership
    public var isRegularFile: Bool { ownership.mode & 0o170000 == 0o100000 }
    public var isExecutable: Bool { ownership.mode & 0o111 != 0 }

    public init(uid: UInt32 = 0, mode: UInt32) { ownership = FileOwnership(uid: uid, mode: mode) }
}

/// The host facts `vigil doctor` reads; `LiveHost` reads the running system, tests give a fake.
public protocol DoctorHost {
    /// The value of a sysctl (`net.ipv4.ip_forward`), trimmed; nil when it does not exist.
    func sysctl(_ name: String) -> String?
    func module(_ name: String) -> ModuleState
    /// `uname -r`.
    var kernelRelease: String { get }
    func interfaces() -> [HostInterface]
    /// The effective capability set (`CapEff` in /proc/self/status); nil when unreadable.
    func effectiveCapabilities() -> UInt64?
    func probeBind(host: String, port: Int) -> BindProbe
    func fileStatus(_ path: String) -> FileStatus?
    func route(to destination: IPAddress) -> RouteProbe
    /// The uid of a user name (`getpwnam(3)`); nil when there is no such user.
    func userID(_ name: String) -> UInt32?
    /// Listens for IPv4 VRRP advertisements (IP protocol 112, group 224.0.0.18 and unicast) on
    /// `interface` for `duration`.
    func advertisements(on interface: String, for duration: Duration) -> AdvertisementWatch
    /// `$PATH`, for scripts named without a directory.
    var searchPath: [String] { get }
}
