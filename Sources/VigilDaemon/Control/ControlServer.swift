#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// One request over the control socket: a JSON object, the client's whole write (it then shuts
/// its side down); the answer is one JSON object, after which the daemon closes.
public struct ControlRequest: Sendable, Codable {
    /// `status` or `reload`.
    public var command: String

    public init(command: String) { self.command = command }
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

    public struct Reload: Sendable, Codable {
        /// `applied` or `refused`.
        public var result: String
        public var diagnostics: [String]
        public var changes: [String]
        public var operations: Int
    }

    public init(ok: Bool, error: String? = nil, status: StatusDocument? = nil, reload: Reload? = nil) {
        self.ok = ok
        self.error = error
        self.status = status
        self.reload = reload
    }
}

/// Answers control requests: the write side of `vigil ctl` (this version: `status`, `reload`).
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
        default:
            return ControlResponse(ok: false, error: "unknown command \(request.command): expected status or reload")
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
