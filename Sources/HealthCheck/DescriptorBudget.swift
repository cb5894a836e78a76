/// How many file descriptors a set of checks needs, and how many connections each probe reactor
/// may hold open within an open-file limit.
///
/// A reactor's connection slot keeps its socket from check to check, so a reactor allowed `n`
/// connections holds up to `n` descriptors. Too low a cap makes checks queue behind slow
/// servers and run late; too high a one, under the usual soft limit of 1,024, makes `socket(2)`
/// fail. keepalived sizes its own limit from its checkers in the same way.
public struct DescriptorBudget: Sendable, Hashable {
    /// Descriptors left for everything but probe connections: IPVS and VRRP sockets, epoll and
    /// eventfd, SwiftNIO's own, logs and scripts' pipes.
    public static let reserve = 256
    /// The most connections one reactor holds open at once, however high the limit.
    public static let preferredMaxInFlight = 4096
    /// The fewest, however low the limit (beyond the limit a reactor waits for slots; see
    /// ``ProbeReactor``).
    public static let minimumMaxInFlight = 16
    /// Descriptors counted for each probe run off the reactors (SSL_GET on SwiftNIO, MISC_CHECK
    /// as a process): a socket, or a process's pipe and its child end.
    static let perOffReactorProbe = 2

    /// Distinct probes whose sockets a reactor runs (TCP_CHECK, HTTP_GET, SMTP_CHECK, UDP_CHECK,
    /// DNS_CHECK, PING_CHECK).
    public let reactorProbes: Int
    /// Distinct probes run elsewhere (SSL_GET, MISC_CHECK).
    public let otherProbes: Int
    public let reactors: Int

    /// Counts `specs` as ``CheckPool`` runs them: identical specs once, over `reactors` threads.
    public init(specs: [CheckSpec], reactors: Int = 1) {
        var onReactor = 0, other = 0
        for spec in Set(specs) {
            switch spec.kind {
            case .tcp, .smtp, .udp, .dns, .ping: onReactor += 1
            case .http(let h) where h.tls == nil: onReactor += 1
            case .http, .misc, .file: other += 1
            }
        }
        reactorProbes = onReactor
        otherProbes = other
        self.reactors = max(1, min(reactors, onReactor + other))
    }

    /// Distinct probes of every kind.
    public var probes: Int { reactorProbes + otherProbes }

    /// A probe runs one check at a time, so no reactor needs more slots than it has probes.
    private var neededPerReactor: Int {
        min(Self.preferredMaxInFlight, max(1, (reactorProbes + reactors - 1) / reactors))
    }

    private var fixedDescriptors: Int { Self.reserve + Self.perOffReactorProbe * otherProbes }

    /// The soft open-file limit under which no check waits for a descriptor.
    public var wantedLimit: Int { fixedDescriptors + reactors * neededPerReactor }

    /// Each reactor's connection cap under a soft open-file limit of `openFileLimit`.
    public func maxInFlight(openFileLimit: Int) -> Int {
        let share = (openFileLimit - fixedDescriptors) / reactors
        return max(Self.minimumMaxInFlight, min(neededPerReactor, share))
    }
}
