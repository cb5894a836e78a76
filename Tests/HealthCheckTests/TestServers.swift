import Foundation
import HealthCheck
import NIOCore
import NIOPosix
import NIOSSL
import VigilSupport

/// How a loopback test server answers each connection.
enum ServerBehaviour: Sendable {
    /// Answers an HTTP request with this status and body.
    case http(status: Int, body: String)
    /// Sends this whole response one byte at a time with a pause between bytes.
    case trickle(String, every: TimeAmount)
    /// Sends a head promising more body than it sends, then closes.
    case closeEarly
    /// Accepts and never answers.
    case silent
    /// SMTP: greeting code, then the code answering HELO.
    case smtp(greeting: Int, helo: Int)
}

/// Records what servers saw, for assertions.
final class ServerLog: @unchecked Sendable {
    private let lock = NSLock()
    private var _requests: [String] = []
    private var _sni: [String?] = []
    var requests: [String] { lock.withLock { _requests } }
    func add(_ r: String) { lock.withLock { _requests.append(r) } }
}

final class BehaviourHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let behaviour: ServerBehaviour
    let log: ServerLog
    var received = ""
    var answered = false

    init(_ behaviour: ServerBehaviour, log: ServerLog) {
        self.behaviour = behaviour
        self.log = log
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .smtp(let greeting, _) = behaviour {
            write(context, "\(greeting) test.example ESMTP\r\n")
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buf = unwrapInboundIn(data)
        received += buf.readString(length: buf.readableBytes) ?? ""
        switch behaviour {
        case .smtp(_, let helo):
            while let r = received.range(of: "\r\n") {
                let line = String(received[..<r.lowerBound])
                received.removeSubrange(..<r.upperBound)
                log.add(line)
                if line.hasPrefix("HELO") {
                    write(context, "\(helo)-test.example hello\r\n\(helo) ok\r\n")
                } else if line.hasPrefix("QUIT") {
                    write(context, "221 bye\r\n", close: true)
                }
            }
        default:
            guard !answered, received.contains("\r\n\r\n") else { return }
            answered = true
            log.add(received)
            switch behaviour {
            case .http(let status, let body):
                write(context, "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)", close: true)
            case .trickle(let text, let every):
                let bytes = Array(text.utf8)
                let channel = context.channel
                for (i, b) in bytes.enumerated() {
                    channel.eventLoop.scheduleTask(in: every * Int64(i + 1)) {
                        channel.writeAndFlush(channel.allocator.buffer(bytes: [b]), promise: nil)
                    }
                }
            case .closeEarly:
                write(context, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", close: true)
            case .silent, .smtp:
                break
            }
        }
    }

    private func write(_ context: ChannelHandlerContext, _ text: String, close: Bool = false) {
        let f = context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)))
        if close {
            let ch = context.channel
            f.whenComplete { _ in ch.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A loopback server; close it with `stop()`.
struct TestServer {
    let channel: any Channel
    let log: ServerLog
    var port: UInt16 { UInt16(channel.localAddress!.port!) }

    static func start(_ behaviour: ServerBehaviour, tls: NIOSSLContext? = nil) async throws -> TestServer {
        let log = ServerLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    if let tls { try ch.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try ch.pipeline.syncOperations.addHandler(BehaviourHandler(behaviour, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestServer(channel: channel, log: log)
    }

    func stop() async {
        try? await channel.close()
    }
}

let loopback = IPAddress("127.0.0.1")!

func connection(_ port: UInt16, timeout: Duration = .seconds(2)) -> ConnectionSettings {
    ConnectionSettings(address: loopback, port: port, timeout: timeout)
}

/// A port with nothing listening (bound then closed).
func closedPort() async throws -> UInt16 {
    let s = try await TestServer.start(.silent)
    let p = s.port
    await s.stop()
    return p
}

/// Test servers listen on 127.0.0.1 only, so nothing ever listens here.
let deadAddress = IPAddress("127.0.0.3")!

/// A scratch directory removed at deinit.
final class Scratch: @unchecked Sendable {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "vigil-hc-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o755)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes an executable script and returns its path.
    func script(_ name: String, _ body: String) -> String {
        let p = "\(path)/\(name)"
        // O_CLOEXEC: a write descriptor leaking into a concurrently spawned child makes exec fail (ETXTBSY).
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        let bytes = Array(("#!/bin/sh\n" + body + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return p
    }

    /// Runs a shell command without blocking a thread, failing the caller when it exits non-zero.
    func shAsync(_ command: String) async throws {
        let outcome = await ProgramRunner.run(["/bin/sh", "-c", "cd '\(path)' && " + command], timeout: .seconds(120))
        if outcome != .exited(0) { throw CocoaError(.fileWriteUnknown, userInfo: ["command": command, "outcome": "\(outcome)"]) }
    }

    /// Runs a command, failing the caller when it exits non-zero.
    func sh(_ command: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.currentDirectoryURL = URL(fileURLWithPath: path)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw CocoaError(.fileWriteUnknown, userInfo: ["command": command]) }
    }
}
