#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import NIOSSL
import VigilSupport

/// What a conversation wants after the bytes received so far.
enum ConversationStep {
    /// Wait for more bytes.
    case needMore
    /// Send these bytes, then wait for more.
    case send([UInt8])
    /// The exchange is over with this result.
    case finished(CheckResult)
    /// Send these bytes as a parting word; the exchange is over with this result.
    case sendThenFinish([UInt8], CheckResult)
}

/// The protocol half of a check: what to say first, how to judge each read, what EOF means.
/// Lives on one event loop; never shared.
protocol Conversation {
    /// Bytes sent once connected (and, for TLS, once the handshake is done).
    mutating func opening() -> [UInt8]?
    /// Called with everything received and not yet consumed.
    mutating func received(_ buffer: inout ByteBuffer) -> ConversationStep
    /// Called when the peer closed before the conversation finished.
    mutating func closed(_ buffer: inout ByteBuffer) -> CheckResult
    /// Bound on buffered, unconsumed input.
    var maxBuffered: Int { get }
    /// The result when the exchange's time runs out with the conversation under way; nil for the
    /// reactor's failure. UDP_CHECK without `require_reply` passes on silence.
    mutating func timedOut() -> CheckResult?
    /// Called on an ICMP probe's socket once connected, before ``opening()``.
    mutating func icmpSocketOpened(_ kind: ICMPSocketKind)
}

extension Conversation {
    mutating func timedOut() -> CheckResult? { nil }
    mutating func icmpSocketOpened(_ kind: ICMPSocketKind) {}
}

/// Completes a probe exactly once, from whichever of reply, close, error or deadline comes first.
final class ExchangeCompletion: @unchecked Sendable {
    // Only touched on `loop`.
    private var done = false
    let promise: EventLoopPromise<CheckResult>
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
        self.promise = loop.makePromise(of: CheckResult.self)
    }

    func finish(_ result: CheckResult) {
        loop.preconditionInEventLoop()
        guard !done else { return }
        done = true
        promise.succeed(result)
    }
}

/// Drives a ``Conversation`` over a channel.
final class ExchangeHandler<C: Conversation>: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var conversation: C
    private let completion: ExchangeCompletion
    private var buffer = ByteBuffer()
    private var finished = false

    init(_ conversation: C, completion: ExchangeCompletion) {
        self.conversation = conversation
        self.completion = completion
    }

    func channelActive(context: ChannelHandlerContext) {
        if let bytes = conversation.opening() {
            if bytes.isEmpty {
                finish(.success(weight: nil), context: context)
                return
            }
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        switch conversation.received(&buffer) {
        case .needMore:
            if buffer.readableBytes > conversation.maxBuffered {
                finish(.failure("response larger than \(conversation.maxBuffered) bytes"), context: context)
            }
        case .send(let bytes):
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        case .finished(let result):
            finish(result, context: context)
        case .sendThenFinish(let bytes, let result):
            finished = true
            let completion = self.completion
            // Finishing closes the channel, so the parting word goes out first.
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes))).whenComplete { _ in
                completion.finish(result)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            completion.finish(conversation.closed(&buffer))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TLS peer closing without close_notify ends a close-delimited body like a TCP close.
        if let tlsError = error as? NIOSSLError, case .uncleanShutdown = tlsError, !finished {
            finished = true
            completion.finish(conversation.closed(&buffer))
            context.close(promise: nil)
            return
        }
        finish(.failure(describe(error)), context: context)
    }

    private func finish(_ result: CheckResult, context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        completion.finish(result)
        context.close(promise: nil)
    }
}

/// Readable text for NIO, TLS and socket errors.
func describe(_ error: any Error) -> String {
    if let e = error as? IOError { return Errno(e.errnoCode).description }
    if let e = error as? ChannelError {
        switch e {
        case .connectTimeout: return "connect timed out"
        case .eof: return "connection closed"
        default: return "\(e)"
        }
    }
    if let e = error as? NIOSSLError { return "TLS: \(e)" }
    if let e = error as? BoringSSLError { return "TLS: \(e)" }
    return "\(error)"
}

/// A probe's target and local addresses, resolved once when the checker is built rather than
/// on every check.
struct ProbeEndpoint: Sendable {
    let target: Result<NIOCore.SocketAddress, CheckFailure>
    let local: NIOCore.SocketAddress?

    init(_ settings: ConnectionSettings) {
        do {
            target = .success(try NIOCore.SocketAddress(ipAddress: settings.address.description, port: Int(settings.port)))
        } catch {
            target = .failure(CheckFailure(message: "bad target \(settings.target): \(error)"))
        }
        if settings.bindAddress != nil || settings.bindPort != 0 {
            let host = settings.bindAddress?.description ?? (settings.address.family == .inet ? "0.0.0.0" : "::")
            local = try? NIOCore.SocketAddress(ipAddress: host, port: Int(settings.bindPort))
        } else {
            local = nil
        }
    }
}

/// Why an endpoint could not be resolved.
struct CheckFailure: Error, Sendable {
    let message: String
}

/// Opens a TCP connection (optionally TLS) and runs a conversation, the whole of it bounded by
/// `settings.timeout` — a server that accepts and then trickles its answer fails (keepalived #1822).
func runExchange<C: Conversation>(
    group: any EventLoopGroup, settings: ConnectionSettings, endpoint: ProbeEndpoint, tls: NIOSSLContext?, serverName: String?,
    _ makeConversation: @escaping @Sendable () -> C
) async -> CheckResult {
    let target: NIOCore.SocketAddress
    switch endpoint.target {
    case .success(let t): target = t
    case .failure(let f): return .failure(f.message)
    }
    // Looked up per check, as SO_BINDTODEVICE names it per socket: the interface may come later.
    var interfaceIndex: UInt32 = 0
    if let interface = settings.interface {
        interfaceIndex = if_nametoindex(interface)
        guard interfaceIndex != 0 else { return .failure("bind_if \(interface): no such interface") }
    }
    let loop = group.next()
    let completion = ExchangeCompletion(loop: loop)
    let timeoutNanos = max(1, settings.timeout.nanoseconds)
    var bootstrap = ClientBootstrap(group: loop)
        .connectTimeout(.nanoseconds(timeoutNanos))
        .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    if let mark = settings.firewallMark {
        bootstrap = bootstrap.channelOption(
            ChannelOptions.socketOption(NIOBSDSocket.Option(rawValue: ProbeSocketConstant.mark)), value: Int(Int32(bitPattern: mark)))
    }
    if interfaceIndex != 0 {
        bootstrap = bootstrap.channelOption(
            ChannelOptions.socketOption(NIOBSDSocket.Option(rawValue: ProbeSocketConstant.bindToInterfaceIndex)), value: Int(interfaceIndex))
    }
    bootstrap = bootstrap
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls {
                    let handler = try NIOSSLClientHandler(context: tls, serverHostname: serverName)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
                try channel.pipeline.syncOperations.addHandler(ExchangeHandler(makeConversation(), completion: completion))
            }
        }
    if let local = endpoint.local {
        bootstrap = bootstrap.bind(to: local)
    }
    let connect = bootstrap.connect(to: target)
    let deadline = loop.scheduleTask(in: .nanoseconds(timeoutNanos)) {
        completion.finish(.failure("no complete answer within \(settings.timeout)"))
    }
    connect.whenFailure { error in completion.finish(.failure("connect to \(settings.target): \(describe(error))")) }
    completion.promise.futureResult.whenComplete { _ in
        deadline.cancel()
        connect.whenSuccess { $0.close(promise: nil) }
    }
    return (try? await completion.promise.futureResult.get()) ?? .failure("probe abandoned")
}

extension Duration {
    /// Whole nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (s, a) = components
        let (n, o) = s.multipliedReportingOverflow(by: 1_000_000_000)
        return o ? .max : n &+ a / 1_000_000_000
    }
}
