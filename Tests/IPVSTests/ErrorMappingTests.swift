#if canImport(Glibc)
import Glibc
#endif
@testable import IPVS
import Testing
import VigilSupport

/// The kernel's errno values, per operation, become errors an operator can act on.
@Suite struct ErrorMappingTests {
    static let key = ServiceKey.address(.tcp, IPAddress("192.0.2.1")!, 80)
    static let dest = Destination(address: IPAddress("198.51.100.2")!, port: 80)

    struct Case: Sendable, CustomTestStringConvertible {
        var errno: Int32
        var operation: IPVSOperation
        var code: IPVSErrorCode
        var message: String
        var context: String
        var testDescription: String { "\(operation.verb) errno \(errno) -> \(code)" }
    }

    static let cases: [Case] = [
        Case(errno: EEXIST, operation: .addService(Service(key: key)), code: .alreadyExists,
             message: "service already exists", context: "TCP 192.0.2.1:80"),
        Case(errno: EEXIST, operation: .addDestination(key, dest), code: .alreadyExists,
             message: "destination already exists", context: "TCP 192.0.2.1:80 -> 198.51.100.2:80"),
        Case(errno: ENOENT, operation: .addService(Service(key: key, scheduler: "nosuch")), code: .schedulerMissing,
             message: "scheduler 'nosuch' is not available: no kernel module ip_vs_nosuch", context: "TCP 192.0.2.1:80"),
        Case(errno: ENOENT, operation: .editService(Service(key: key, scheduler: "rr", persistenceEngine: "xyz")), code: .schedulerMissing,
             message: "scheduler 'rr' or persistence engine 'xyz' is not available: no kernel module ip_vs_rr or ip_vs_pe_xyz",
             context: "TCP 192.0.2.1:80"),
        Case(errno: ESRCH, operation: .deleteService(key), code: .notFound, message: "no such service", context: "TCP 192.0.2.1:80"),
        Case(errno: ESRCH, operation: .editService(Service(key: key)), code: .notFound, message: "no such service", context: "TCP 192.0.2.1:80"),
        Case(errno: ESRCH, operation: .addDestination(key, dest), code: .notFound, message: "no such service",
             context: "TCP 192.0.2.1:80 -> 198.51.100.2:80"),
        Case(errno: ENOENT, operation: .editDestination(key, dest), code: .notFound, message: "no such destination",
             context: "TCP 192.0.2.1:80 -> 198.51.100.2:80"),
        Case(errno: ENOENT, operation: .deleteDestination(key, dest.key), code: .notFound, message: "no such destination",
             context: "TCP 192.0.2.1:80 -> 198.51.100.2:80"),
        Case(errno: ESRCH, operation: .zero(key), code: .notFound, message: "no such service", context: "TCP 192.0.2.1:80"),
        Case(errno: EPERM, operation: .flush, code: .permissionDenied,
             message: "flush: permission denied (needs CAP_NET_ADMIN)", context: "all services"),
        Case(errno: EACCES, operation: .deleteService(key), code: .permissionDenied,
             message: "delete service: permission denied (needs CAP_NET_ADMIN)", context: "TCP 192.0.2.1:80"),
        Case(errno: EINVAL, operation: .addDestination(key, dest), code: .invalidArgument,
             message: "add destination: invalid argument", context: "TCP 192.0.2.1:80 -> 198.51.100.2:80"),
        Case(errno: ERANGE, operation: .addDestination(key, Destination(address: dest.address, port: 80, weight: 1 << 31)),
             code: .invalidArgument, message: "weight 2147483648 is out of range (0-2147483647)",
             context: "TCP 192.0.2.1:80 -> 198.51.100.2:80"),
        Case(errno: ERANGE, operation: .editDestination(key, Destination(address: dest.address, port: 80, upperThreshold: 5, lowerThreshold: 10)),
             code: .invalidArgument, message: "lower threshold 10 is above upper threshold 5",
             context: "TCP 192.0.2.1:80 -> 198.51.100.2:80"),
        Case(errno: EEXIST, operation: .startDaemon(SyncDaemon(role: .master, interface: "eth0")), code: .alreadyExists,
             message: "a master sync daemon is already running", context: "sync daemon master on eth0"),
        Case(errno: ESRCH, operation: .stopDaemon(.backup), code: .notFound,
             message: "no backup sync daemon is running", context: "sync daemon backup"),
        Case(errno: ENODEV, operation: .startDaemon(SyncDaemon(role: .backup, interface: "nope0")), code: .notFound,
             message: "no such interface 'nope0'", context: "sync daemon backup on nope0"),
        Case(errno: ENOMEM, operation: .flush, code: .system, message: "flush: Cannot allocate memory", context: "all services"),
    ]

    @Test(arguments: cases)
    func kernelErrnoMapsToTypedError(_ c: Case) {
        let e = IPVSError.kernel(errno: c.errno, operation: c.operation)
        #expect(e.code == c.code)
        #expect(e.message == c.message)
        #expect(e.context == c.context)
        #expect(e.errno == c.errno)
        #expect(e.description == "\(c.context): \(c.message)")
    }

    @Test func extendedAckTextIsAppended() {
        let e = IPVSError.kernel(errno: EINVAL, operation: .flush, detail: "Unknown attribute")
        #expect(e.message == "flush: invalid argument (Unknown attribute)")
    }

    @Test func readErrorsNameWhatWasRead() {
        let e = IPVSError.kernel(errno: ESRCH, reading: "read service", context: "UDP 192.0.2.1:53")
        #expect(e.code == .notFound)
        #expect(e.description == "UDP 192.0.2.1:53: no such service")
        #expect(IPVSError.kernel(errno: EPERM, reading: "list services").code == .permissionDenied)
    }

    @Test func notAvailableHasTheExactOperatorMessage() {
        #expect(IPVSError.notAvailable.code == .notAvailable)
        #expect(IPVSError.notAvailable.description == "IPVS is not available in this kernel: load it with `modprobe ip_vs`")
    }
}
