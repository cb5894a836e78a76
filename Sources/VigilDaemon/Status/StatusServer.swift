import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import VigilSupport

/// Where the status server listens: `--status-address HOST:PORT`, `[IPv6]:PORT`, or `none`.
public enum StatusAddress: Sendable, Hashable, CustomStringConvertible {
    case off
    case listen(host: String, port: Int)

    /// Loopback, on a port the common keepalived exporters (9165, 9650) do not use.
    public static let defaultAddress = StatusAddress.listen(host: "127.0.0.1", port: 9901)

    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `none`; throws naming what was expected.
    public init(parsing text: String) throws(StatusAddressError) {
        if text == "none" {
            self = .off
            return
        }
        var host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw StatusAddressError(text: text)
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { throw StatusAddressError(text: text) }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, IPAddress(String(host)) != nil, let p = Int(port), (1...65535).contains(p) else {
            throw StatusAddressError(text: text)
        }
        self = .listen(host: String(host), port: p)
    }

    public var description: String {
        switch self {
        case .off: "none"
        case .listen(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}

/// A `--status-address` that is neither `none` nor an IP address and port.
public struct StatusAddressError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var description: String {
        "--status-address \(text): expected IPv4:PORT, [IPv6]:PORT (port 1-65535) or none"
    }
}

/// One HTTP answer.
struct StatusResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]

    init(_ status: HTTPResponseStatus, _ contentType: String, _ body: String) {
        self.status = status
        self.contentType = contentType
        self.body = Array(body.utf8)
    }
}

/// The read-only endpoints: `/status`, `/metrics`, `/healthz`, `/readyz` and the page at `/`.
public final class StatusRoutes: Sendable {
    let sources: StatusSources
    let liveness: Liveness

    public init(sources: StatusSources, liveness: Liveness) {
        self.sources = sources
        self.liveness = liveness
    }

    func respond(method: HTTPMethod, uri: String) async -> StatusResponse {
        guard method == .GET || method == .HEAD else {
            return StatusResponse(.methodNotAllowed, "text/plain; charset=utf-8", "read-only: GET or HEAD only\n")
        }
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        switch path {
        case "/status":
            let document = await sources.document()
            let body = (try? StatusDocument.encoder.encode(document)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return StatusResponse(.ok, "application/json", body + "\n")
        case "/metrics":
            return StatusResponse(.ok, "text/plain; version=0.0.4; charset=utf-8", await metrics())
        case "/healthz":
            let loops = liveness.loops()
            let stalled = loops.filter(\.stalled)
            let lines = loops.map { "\($0.name): \($0.stalled ? "stalled" : "turning") (\(String(format: "%.3f", $0.waitingSeconds)) s)" }
            return StatusResponse(stalled.isEmpty ? .ok : .serviceUnavailable, "text/plain; charset=utf-8",
                                  (stalled.isEmpty ? "ok\n" : "stalled\n") + lines.joined(separator: "\n") + "\n")
        case "/readyz":
            let (ready, why) = await readiness()
            return StatusResponse(ready ? .ok : .serviceUnavailable, "text/plain; charset=utf-8", why + "\n")
        case "/", "/index.html":
            return StatusResponse(.ok, "text/html; charset=utf-8", StatusPage.html)
        default:
            return StatusResponse(.notFound, "text/plain; charset=utf-8", "not found: \(path) (try /status, /metrics, /healthz, /readyz, /)\n")
        }
    }

    func metrics() async -> String {
        async let document = sources.document()
        async let lvs = sources.lvsView()
        let view = await lvs
        return StatusMetrics.render(.init(document: await document, statistics: view?.statistics, repairs: view?.repairs,
                                          operationsApplied: view?.operationsApplied, loops: liveness.loops()))
    }

    /// Ready once every checker has its first verdict and no VRRP instance is in INIT.
    func readiness() async -> (Bool, String) {
        if let checker = sources.checker {
            guard let view = await sources.lvsView() else { return (false, "not ready: the checker half has not started") }
            let waiting = view.probes.values.filter { !$0.hasVerdict }.count
            if waiting > 0 || view.probes.count < (checker.pool?.specs.count ?? 0) {
                return (false, "not ready: \(waiting) of \(view.probes.count) checkers have no verdict yet")
            }
        }
        if let vrrp = await sources.vrrpView() {
            let initial = vrrp.status.filter { $0.state == .initialize }.map(\.name)
            if !initial.isEmpty { return (false, "not ready: VRRP instances in INIT: \(initial.joined(separator: ", "))") }
        }
        return (true, "ready")
    }
}

/// Hands each complete request to ``StatusRoutes`` off the event loop and writes its answer.
final class StatusHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: StatusRoutes
    private var head: HTTPRequestHead?

    init(routes: StatusRoutes) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let request = head else { return }
            head = nil
            let routes = self.routes
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.makeFutureWithTask {
                await routes.respond(method: request.method, uri: request.uri)
            }.whenSuccess { response in
                Self.write(response, for: request, context: bound.value)
            }
        }
    }

    private static func write(_ response: StatusResponse, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        if response.status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        if request.method != .HEAD {
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// The status server as a Service of the daemon's group: bound before the group starts (so a
/// busy port stops the start with a clear error), served from its own one-thread event loop
/// group, off the VRRP loop and the probe reactors; closed on graceful shutdown.
public final class StatusService: ServiceLifecycle.Service, CustomStringConvertible, Sendable {
    public var description: String { "StatusService" }

    let server: ListeningServer
    let liveness: Liveness
    let logger: Logger

    /// The address bound (with the port the kernel chose for port 0).
    public var boundAddress: String {
        guard let a = server.channel.localAddress, let ip = a.ipAddress, let port = a.port else { return "?" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// Binds `host:port`; throws, having started nothing that stays, when it cannot.
    public static func bind(host: String, port: Int, routes: StatusRoutes, logger: Logger) throws -> StatusService {
        let server = try ListeningServer.start { bootstrap in
            try bootstrap
                .serverChannelOption(ChannelOptions.backlog, value: 64)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(StatusHTTPHandler(routes: routes))
                    }
                }
                .bind(host: host, port: port).wait()
        }
        return StatusService(server: server, liveness: routes.liveness, logger: logger)
    }

    init(server: ListeningServer, liveness: Liveness, logger: Logger) {
        self.server = server
        self.liveness = liveness
        self.logger = logger
    }

    public func run() async throws {
        logger.info("status server on http://\(boundAddress)/ (/status, /metrics, /healthz, /readyz)")
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await self.liveness.run() }
            try? await gracefulShutdown()
            tasks.cancelAll()
        }
        await server.stop()
    }
}

/// A listening channel on a one-thread event loop group of its own (off the protocol loops).
struct ListeningServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel

    /// Makes the group and binds with `bind`; on failure shuts the group down and throws.
    static func start(_ bind: (ServerBootstrap) throws -> any Channel) throws -> ListeningServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            return ListeningServer(group: group, channel: try bind(ServerBootstrap(group: group)))
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}
