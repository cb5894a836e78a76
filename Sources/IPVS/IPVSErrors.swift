#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VigilSupport

extension IPVSOperation {
    /// The service or destination this operation is about, as errors and logs name it:
    /// `TCP 192.0.2.1:80`, `TCP 192.0.2.1:80 -> 198.51.100.2:80`, `sync daemon master`.
    public var context: String {
        switch self {
        case .addService(let s), .editService(let s): s.key.description
        case .deleteService(let k): k.description
        case .addDestination(let k, let d), .editDestination(let k, let d): "\(k) -> \(d.key)"
        case .deleteDestination(let k, let d): "\(k) -> \(d)"
        case .flush: "all services"
        case .zero(let k): k?.description ?? "all services"
        case .setTimeouts: "timeouts"
        case .startDaemon(let d): "sync daemon \(d.role) on \(d.interface)"
        case .stopDaemon(let r): "sync daemon \(r)"
        }
    }

    /// What the operation does, in words: "add service", "edit destination", …
    public var verb: String {
        switch self {
        case .addService: "add service"
        case .editService: "edit service"
        case .deleteService: "delete service"
        case .addDestination: "add destination"
        case .editDestination: "edit destination"
        case .deleteDestination: "delete destination"
        case .flush: "flush"
        case .zero: "zero counters"
        case .setTimeouts: "set timeouts"
        case .startDaemon: "start sync daemon"
        case .stopDaemon: "stop sync daemon"
        }
    }
}

extension SyncDaemonRole: CustomStringConvertible {
    /// `master` or `backup`, as ipvsadm names them.
    public var description: String { self == .master ? "master" : "backup" }
}

extension IPVSError {
    /// The exact text for a kernel without the IPVS generic-netlink family.
    public static let notAvailableMessage = "IPVS is not available in this kernel: load it with `modprobe ip_vs`"

    /// IPVS is missing from the kernel.
    static var notAvailable: IPVSError {
        IPVSError(code: .notAvailable, message: notAvailableMessage)
    }

    /// An undecodable kernel reply.
    static func malformed(_ what: NetlinkDecodeError, context: String = "") -> IPVSError {
        IPVSError(code: .malformedReply, message: "malformed reply from the kernel: \(what)", context: context)
    }

    /// Translates the kernel's errno for `operation` into the error an operator can act on.
    ///
    /// The kernel's choices (net/netfilter/ipvs/ip_vs_ctl.c): ESRCH when the service is missing,
    /// ENOENT when the destination is missing or, on add/edit service, when the scheduler or
    /// persistence-engine module cannot be loaded; EEXIST on duplicate adds; ERANGE for a weight
    /// above `INT_MAX` or a lower threshold above the upper one.
    static func kernel(errno e: Int32, operation: IPVSOperation, detail: String? = nil) -> IPVSError {
        let context = operation.context
        func make(_ code: IPVSErrorCode, _ message: String) -> IPVSError {
            var text = message
            if let detail, !detail.isEmpty { text += " (\(detail))" }
            return IPVSError(code: code, message: text, context: context, errno: e)
        }
        switch (e, operation) {
        case (EPERM, _), (EACCES, _):
            return make(.permissionDenied, "\(operation.verb): permission denied (needs CAP_NET_ADMIN)")
        case (EEXIST, .addService):
            return make(.alreadyExists, "service already exists")
        case (EEXIST, .addDestination):
            return make(.alreadyExists, "destination already exists")
        case (EEXIST, .startDaemon(let d)):
            return make(.alreadyExists, "a \(d.role) sync daemon is already running")
        case (ENOENT, .addService(let s)), (ENOENT, .editService(let s)):
            if let pe = s.persistenceEngine, !pe.isEmpty {
                return make(.schedulerMissing,
                    "scheduler '\(s.scheduler)' or persistence engine '\(pe)' is not available: no kernel module ip_vs_\(s.scheduler) or ip_vs_pe_\(pe)")
            }
            return make(.schedulerMissing,
                "scheduler '\(s.scheduler)' is not available: no kernel module ip_vs_\(s.scheduler)")
        case (ESRCH, .editService), (ESRCH, .deleteService), (ESRCH, .zero):
            return make(.notFound, "no such service")
        case (ESRCH, .addDestination), (ESRCH, .editDestination), (ESRCH, .deleteDestination):
            return make(.notFound, "no such service")
        case (ENOENT, .editDestination), (ENOENT, .deleteDestination):
            return make(.notFound, "no such destination")
        case (ESRCH, .stopDaemon(let r)):
            return make(.notFound, "no \(r) sync daemon is running")
        case (ENODEV, .startDaemon(let d)):
            return make(.notFound, "no such interface '\(d.interface)'")
        case (ERANGE, .addDestination(_, let d)), (ERANGE, .editDestination(_, let d)):
            if d.weight > UInt32(Int32.max) {
                return make(.invalidArgument, "weight \(d.weight) is out of range (0-\(Int32.max))")
            }
            if d.lowerThreshold > d.upperThreshold {
                return make(.invalidArgument, "lower threshold \(d.lowerThreshold) is above upper threshold \(d.upperThreshold)")
            }
            return make(.invalidArgument, "\(operation.verb): value out of range")
        case (EINVAL, _), (ERANGE, _):
            return make(.invalidArgument, "\(operation.verb): invalid argument")
        case (ENOENT, _), (ESRCH, _):
            return make(.notFound, "\(operation.verb): not found")
        case (EEXIST, _):
            return make(.alreadyExists, "\(operation.verb): already exists")
        default:
            return make(.system, "\(operation.verb): \(Errno(e))")
        }
    }

    /// Translates the kernel's errno for a read request.
    static func kernel(errno e: Int32, reading what: String, context: String = "", detail: String? = nil) -> IPVSError {
        var suffix = ""
        if let detail, !detail.isEmpty { suffix = " (\(detail))" }
        switch e {
        case EPERM, EACCES:
            return IPVSError(code: .permissionDenied, message: "\(what): permission denied (needs CAP_NET_ADMIN)\(suffix)", context: context, errno: e)
        case ESRCH, ENOENT:
            return IPVSError(code: .notFound, message: "no such service\(suffix)", context: context, errno: e)
        case EINVAL:
            return IPVSError(code: .invalidArgument, message: "\(what): invalid argument\(suffix)", context: context, errno: e)
        default:
            return IPVSError(code: .system, message: "\(what): \(Errno(e))\(suffix)", context: context, errno: e)
        }
    }
}
