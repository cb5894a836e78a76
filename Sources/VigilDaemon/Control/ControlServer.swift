#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import NIOCore
import NIOPosix
import HealthCheck
import IPVS
import ServiceLifecycle
import VRRP
import VigilSupport

/// One request over the control socket: a JSON object, the client's whole write (it then shuts
/// its side down); the answer is one JSON object, after which the daemon closes.
public struct ControlRequest: Sendable, Codable, Equatable {
    /// `status`, `reload`, `drain`, `undrain`, `weight`, `disable`, `enable`, `check` or `vrrp`.
    public var command: String
    /// The virtual server: `ADDRESS:PORT` (`[IPv6]:PORT`), or a firewall mark with ``firewallMark``.
    public var virtualServer: String?
    /// `-u`: the virtual server is UDP (TCP otherwise).
    public var udp: Bool?
    /// `-f MARK`: a firewall-mark virtual server.
    public var firewallMark: UInt32?
    /// The real server: `ADDRESS:PORT` (`[IPv6]:PORT`).
    public var realServer: String?
    /// `weight`: the weight, or nil to clear the override.
    public var weight: UInt32?
    /// `drain --remove`: out of IPVS once its connections reach 0.
    public var removeWhenIdle: Bool?
    /// `vrrp`: the instance, and `priority N`, `priority restore` (nil) or `backup`.
    public var instance: String?
    public var priority: UInt8?
    public var backup: Bool?

    public init(command: String, virtualServer: String? = nil, udp: Bool? = nil, firewallMark: UInt32? = nil,
                realServer: String? = nil, weight: UInt32? = nil, removeWhenIdle: Bool? = nil,
                instance: String? = nil, priority: UInt8? = nil, backup: Bool? = nil) {
        self.command = command
        self.virtualServer = virtualServer
        self.udp = udp
        self.firewallMark = firewallMark
        self.realServer = realServer
        self.weight = weight
        self.removeWhenIdle = removeWhenIdle
        self.instance = instance
        self.priority = priority
        self.backup = backup
    }

    /// Every command the daemon answers.
    public static let commands = ["status", "reload", "drain", "undrain", "weight", "disable", "enable", "check", "vrrp"]
}

/// `ADDRESS:PORT` or `[IPv6]:PORT`, as `vigil ctl` takes virtual and real servers.
public func parseServerAddress(_ text: String) -> VigilSupport.SocketAddress? {
    let host: Substring, port: Substring
    if text.hasPrefix("[") {
        guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
        host = text[text.index(after: text.startIndex)..<close]
        port = text[text.index(close, offsetBy: 2)...]
    } else {
        guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
        host = text[..<colon]
        port = text[text.index(after: colon)...]
    }
    guard let address = IPAddress(host), let p = UInt16(port) else { return nil }
    return VigilSupport.SocketAddress(address, p)
}

extension ControlRequest {
    /// A `vigil ctl` command line that does not say what it wants.
    public struct UsageError: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// The request the command line asks for; the error names what is missing or wrong.
    public static func parse(command: String, operands: [String], udp: Bool = false, firewallMark: UInt32? = nil, remove: Bool = false) throws(UsageError) -> ControlRequest {
        let usage: String
        switch command {
        case "status", "reload":
            guard operands.isEmpty else { throw UsageError("\(command) takes no operands") }
            return ControlRequest(command: command)
        case "vrrp":
            usage = "vrrp INSTANCE priority N|restore, or vrrp INSTANCE backup"
            guard operands.count >= 2 else { throw UsageError("expected \(usage)") }
            switch (operands[1], operands.count) {
            case ("backup", 2): return ControlRequest(command: command, instance: operands[0], backup: true)
            case ("priority", 3):
                if operands[2] == "restore" { return ControlRequest(command: command, instance: operands[0]) }
                guard let p = UInt8(operands[2]), (1...254).contains(p) else {
                    throw UsageError("vrrp \(operands[0]) priority \(operands[2]): expected 1 to 254 or restore")
                }
                return ControlRequest(command: command, instance: operands[0], priority: p)
            default: throw UsageError("expected \(usage)")
            }
        case "drain", "undrain", "weight", "disable", "enable", "check":
            let servers = firewallMark == nil ? 2 : 1
            let wanted = servers + (command == "weight" ? 1 : 0)
            let shape = (firewallMark == nil ? "VS RS" : "-f MARK RS") + (command == "weight" ? " N|clear" : "")
            guard operands.count == wanted else { throw UsageError("\(command): expected \(command) \(shape)") }
            if remove && command != "drain" { throw UsageError("--remove goes with drain only") }
            var weight: UInt32?
            if command == "weight", operands[servers] != "clear" {
                guard let w = UInt32(operands[servers]), w <= 65535 else {
                    throw UsageError("weight \(operands[servers]): expected 0 to 65535 or clear")
                }
                weight = w
            }
            let vs = firewallMark == nil ? operands[0] : nil
            let rs = operands[servers - 1]
            if let vs, parseServerAddress(vs) == nil { throw UsageError("virtual server \(vs): expected ADDRESS:PORT or [IPv6]:PORT") }
            if parseServerAddress(rs) == nil { throw UsageError("real server \(rs): expected ADDRESS:PORT or [IPv6]:PORT") }
            return ControlRequest(command: command, virtualServer: vs, udp: udp ? true : nil, firewallMark: firewallMark,
                                  realServer: rs, weight: weight, removeWhenIdle: remove ? true : nil)
        default:
            throw UsageError("unknown command \(command): expected one of \(ControlRequest.commands.joined(separator: ", "))")
        }
    }

    /// The virtual and real server the request names, as IPVS keys; the error says what is wrong.
    func target() throws(ControlFailure) -> (ServiceKey, DestinationKey) {
        guard let rsText = realServer, let rs = parseServerAddress(rsText) else {
            throw ControlFailure("\(command): real server \(realServer ?? "missing"): expected ADDRESS:PORT or [IPv6]:PORT")
        }
        let service: ServiceKey
        if let mark = firewallMark {
            service = .firewallMark(mark, rs.address.family)
        } else {
            guard let vsText = virtualServer, let vs = parseServerAddress(vsText) else {
                throw ControlFailure("\(command): virtual server \(virtualServer ?? "missing"): expected ADDRESS:PORT, [IPv6]:PORT or -f MARK")
            }
            service = .address(udp == true ? .udp : .tcp, vs.address, vs.port)
        }
        return (service, DestinationKey(rs.address, rs.port))
    }
}

/// A control request that cannot be carried out; nothing was changed.
struct ControlFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The daemon's answer to a ``ControlRequest``.
public struct ControlResponse: Sendable, Codable {
    public var ok: Bool
    /// What went wrong (unknown command, bad request), when `ok` is false.
    public var error: String?
    /// `status`: the same document as `GET /status`.
    public var status: StatusDocument?
    /// `reload`: what the reload did.
    public var reload: Reload?
    /// What a write command did, as logged.
    public var done: String?

    public struct Reload: Sendable, Codable {
        /// `applied` or `refused`.
        public var result: String
        public var diagnostics: [String]
        public var changes: [String]
        public var operations: Int
    }

    public init(ok: Bool, error: String? = nil, status: StatusDocument? = nil, reload: Reload? = nil, done: String? = nil) {
        self.done = done
        self.ok = ok
        self.error = error
        self.status = status
        self.reload = reload
    }
}

/// Answers control requests: the write side of `vigil ctl`.
public final class ControlCommands: Sendable {
    let sources: StatusSources
    let coordinator: ReloadCoordinator?

    public init(sources: StatusSources, coordinator: ReloadCoordinator?) {
        self.sources = sources
        self.coordinator = coordinator
    }

    func answer(_ bytes: [UInt8]) async -> ControlResponse {
        guard let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(bytes)) else {
            return ControlResponse(ok: false, error: "bad request: expected a JSON object with a \"command\"")
        }
        switch request.command {
        case "status":
            return ControlResponse(ok: true, status: await sources.document())
        case "reload":
            guard let coordinator else { return ControlResponse(ok: false, error: "reload: no configuration is loaded here") }
            let o = await coordinator.reload(trigger: "vigil ctl reload")
            return ControlResponse(ok: o.result == .applied, error: o.result == .applied ? nil : "reload refused: the running configuration is unchanged",
                                   reload: .init(result: o.result == .applied ? "applied" : "refused", diagnostics: o.diagnostics,
                                                 changes: o.changes, operations: o.operations))
        case "drain", "undrain", "weight", "disable", "enable", "check":
            do throws(ControlFailure) {
                return ControlResponse(ok: true, done: try await realServerCommand(request))
            } catch {
                return ControlResponse(ok: false, error: error.description)
            }
        case "vrrp":
            guard let runtime = sources.vrrp?.runtime else { return ControlResponse(ok: false, error: "vrrp: the VRRP half does not run in this process") }
            guard let instance = request.instance else { return ControlResponse(ok: false, error: "vrrp: expected an instance name") }
            let what: VRRPRuntime.OperatorRequest = request.backup == true ? .backup : .priority(request.priority)
            if case .priority(let p?) = what, !(1...254).contains(p) {
                return ControlResponse(ok: false, error: "vrrp \(instance) priority \(p): expected 1 to 254")
            }
            do throws(VRRPRuntime.ControlError) {
                return ControlResponse(ok: true, done: try await runtime.control(instance, what))
            } catch {
                return ControlResponse(ok: false, error: error.description)
            }
        default:
            return ControlResponse(ok: false, error: "unknown command \(request.command): expected one of \(ControlRequest.commands.joined(separator: ", "))")
        }
    }

    /// drain, undrain, weight, disable, enable, check: one real server of one virtual server.
    private func realServerCommand(_ request: ControlRequest) async throws(ControlFailure) -> String {
        guard let manager = sources.checker?.manager, let pool = sources.checker?.pool else {
            throw ControlFailure("\(request.command): the checker half does not run in this process")
        }
        let (service, realServer) = try request.target()
        let current = await manager.overrides[service]?[realServer]
        let next: RealServerOverride?
        switch request.command {
        case "drain": next = .drain(removeWhenIdle: request.removeWhenIdle == true)
        case "undrain":
            switch current {
            case .drain?, .drained?: next = nil
            default: throw ControlFailure("undrain: \(service) -> \(realServer) is not draining (\(current.map { "\($0)" } ?? "no override"))")
            }
        case "weight":
            if let w = request.weight, w > 65535 { throw ControlFailure("weight \(w): expected 0 to 65535") }
            next = request.weight.map { .weight($0) }
        case "disable": next = .disabled
        case "enable":
            guard current == .disabled else {
                throw ControlFailure("enable: \(service) -> \(realServer) is not disabled (\(current.map { "\($0)" } ?? "no override"))")
            }
            next = nil
        default:
            // check: run its checkers now.
            let specs = await manager.plan.virtualServers.first { $0.service.key == service }?
                .realServers.first { $0.destination.key == realServer }?.checks
            guard let specs else {
                throw ControlFailure("check: \(service) -> \(realServer): no such real server in the configuration")
            }
            guard !specs.isEmpty else { throw ControlFailure("check: \(service) -> \(realServer) has no checkers") }
            for spec in specs { pool.checkNow(spec) }
            return "\(service): real server \(realServer): \(specs.count) checkers run now"
        }
        do {
            return try await manager.setOverride(next, service: service, realServer: realServer)
        } catch {
            throw ControlFailure(error.description)
        }
    }
}

/// Collects one request until the client half-closes, answers it and closes.
final class ControlHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The largest request read; a longer one is refused.
    static let maximumRequest = 64 * 1024

    private let commands: ControlCommands
    private var request: [UInt8] = []

    init(commands: ControlCommands) { self.commands = commands }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        request += buffer.readBytes(length: buffer.readableBytes) ?? []
        if request.count > Self.maximumRequest { context.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let e = event as? ChannelEvent, e == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let commands = self.commands, bytes = request
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask { () -> [UInt8] in
            let response = await commands.answer(bytes)
            return Array((try? StatusDocument.encoder.encode(response)) ?? Data("{\"ok\":false}".utf8)) + [0x0A]
        }.whenSuccess { body in
            let context = bound.value
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: body))).whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}

/// The control socket as a Service: a Unix socket, mode 0600 in a directory of mode 0700 (root
/// only, when Vigil runs as root), bound before the services start; removed on shutdown.
public final class ControlService: ServiceLifecycle.Service, CustomStringConvertible, Sendable {
    public var description: String { "ControlService" }

    /// Where `vigil` listens and `vigil ctl` connects unless told otherwise.
    public static let defaultPath = "/run/vigil/control.sock"

    let server: ListeningServer
    public let path: String
    let logger: Logger

    /// Binds `path` (replacing a stale socket file); throws when it cannot.
    public static func bind(path: String, commands: ControlCommands, logger: Logger) throws -> ControlService {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        let previous = umask(0o177)
        defer { umask(previous) }
        let server = try ListeningServer.start { bootstrap in
            try bootstrap
                .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ControlHandler(commands: commands))
                    }
                }
                .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
        }
        chmod(path, 0o600)
        return ControlService(server: server, path: path, logger: logger)
    }

    init(server: ListeningServer, path: String, logger: Logger) {
        self.server = server
        self.path = path
        self.logger = logger
    }

    public func run() async throws {
        logger.info("control socket on \(path) (vigil ctl)")
        try? await gracefulShutdown()
        await server.stop()
        unlink(path)
    }
}

/// `vigil ctl`'s side: sends `request` to the socket at `path` and returns the answer's bytes.
public enum ControlClient {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func send(_ request: ControlRequest, to path: String) throws(Failure) -> ControlResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure(description: "\(path): path too long for a Unix socket") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let why = String(cString: strerror(errno))
            throw Failure(description: "cannot connect to \(path): \(why)" + (errno == EACCES ? " (the control socket is root-only)" : " (is vigil running?)"))
        }
        let body = (try? JSONEncoder().encode(request)) ?? Data()
        var sent = 0
        let all = Array(body)
        while sent < all.count {
            let n = all[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "write to \(path): \(String(cString: strerror(errno)))") }
            sent += n
        }
        shutdown(fd, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            answer += chunk[..<n]
        }
        guard let response = try? StatusDocument.decoder.decode(ControlResponse.self, from: Data(answer)) else {
            throw Failure(description: "\(path): unreadable answer (\(answer.count) bytes)")
        }
        return response
    }
}
