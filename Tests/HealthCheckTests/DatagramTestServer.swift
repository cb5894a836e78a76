import Foundation
import NIOCore
import NIOPosix
import VigilSupport

/// A loopback UDP server answering each datagram with what `respond` returns (nothing: silence).
struct UDPTestServer {
    let channel: any Channel
    var port: UInt16 { UInt16(channel.localAddress!.port!) }

    static func start(host: String = "127.0.0.1", _ respond: @escaping @Sendable ([UInt8]) -> [[UInt8]]) async throws -> UDPTestServer {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Responder(respond)) }
            }
            .bind(host: host, port: 0).get()
        return UDPTestServer(channel: channel)
    }

    func stop() async { try? await channel.close() }

    final class Responder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let respond: @Sendable ([UInt8]) -> [[UInt8]]
        init(_ respond: @escaping @Sendable ([UInt8]) -> [[UInt8]]) { self.respond = respond }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let bytes = Array(envelope.data.readableBytesView)
            for answer in respond(bytes) {
                let out = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: answer))
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            }
        }
    }
}

/// A UDP port on 127.0.0.1 with nothing bound (bound then closed): datagrams to it draw an
/// ICMP port unreachable. The socket is close-on-exec and closed at once, so no process that
/// other tests spawn meanwhile inherits it and keeps the port bound.
func closedUDPPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw CocoaError(.fileReadUnknown) }
    defer { close(fd) }
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &sin) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw CocoaError(.fileReadUnknown) }
    return UInt16(bigEndian: sin.sin_port)
}
