import Foundation
import HealthCheck
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import VigilSupport

/// Certificates made with the openssl CLI for each test run.
struct TestPKI: Sendable {
    let scratch = Scratch()
    var dir: String { scratch.path }

    /// Made once per run, without blocking the cooperative thread pool.
    static func shared() async throws -> TestPKI { try await PKIStore.shared.get() }

    fileprivate init() async throws {
        try await scratch.shAsync("""
        openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 2 -subj /CN=self.example -addext subjectAltName=DNS:self.example
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=Vigil-Test-CA
        openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj /CN=check.example
        printf 'subjectAltName=DNS:check.example\\n' > leaf.ext
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile leaf.ext
        """)
    }

    func serverContextFor(_ name: String) throws -> NIOSSLContext {
        let cert = try NIOSSLCertificate.fromPEMFile("\(dir)/\(name).pem")
        let key = try NIOSSLPrivateKey(file: "\(dir)/\(name).key", format: .pem)
        return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: cert.map { .certificate($0) }, privateKey: .privateKey(key)))
    }
}

@Suite("SSL_GET against loopback TLS servers")
struct TLSCheckTests {
    func check(_ port: UInt16, tls: TLSSettings, vhost: String? = nil, digest: String? = nil) throws -> HTTPChecker {
        try HTTPChecker(settings: HTTPCheckSettings(connection: connection(port), urls: [URLCheck(path: "/", digest: digest)],
                                                    virtualHost: vhost, tls: tls), reactor: testReactor, group: MultiThreadedEventLoopGroup.singleton)
    }

    @Test("self-signed certificate: passes without verification, as keepalived does")
    func selfSignedUnverified() async throws {
        let pki = try await TestPKI.shared()
        let server = try await TestServer.start(.http(status: 200, body: "tls"), tls: pki.serverContextFor("self"))
        defer { Task { await server.stop() } }
        let r = try await check(server.port, tls: TLSSettings(), digest: hexMD5("tls".utf8)).check()
        #expect(r == .success(weight: nil))
    }

    @Test("self-signed certificate: fails when verification against a CA is asked for")
    func selfSignedVerified() async throws {
        let pki = try await TestPKI.shared()
        let server = try await TestServer.start(.http(status: 200, body: "tls"), tls: pki.serverContextFor("self"))
        defer { Task { await server.stop() } }
        let tls = TLSSettings(enableSNI: true, verification: TLSVerification(caFile: "\(pki.dir)/ca.pem", expectedName: "self.example"))
        let r = try await check(server.port, tls: tls).check()
        #expect(!r.isSuccess)
    }

    @Test("CA-signed certificate: passes verification with the right name, fails with another")
    func caSigned() async throws {
        let pki = try await TestPKI.shared()
        let server = try await TestServer.start(.http(status: 200, body: "tls"), tls: pki.serverContextFor("leaf"))
        defer { Task { await server.stop() } }
        let good = TLSSettings(enableSNI: true, verification: TLSVerification(caFile: "\(pki.dir)/ca.pem"))
        #expect(try await check(server.port, tls: good, vhost: "check.example").check().isSuccess)
        let wrong = TLSSettings(enableSNI: true, verification: TLSVerification(caFile: "\(pki.dir)/ca.pem", expectedName: "other.example"))
        #expect(!(try await check(server.port, tls: wrong).check().isSuccess))
    }

    @Test("plain HTTP against a TLS port fails")
    func plainToTLS() async throws {
        let pki = try await TestPKI.shared()
        let server = try await TestServer.start(.http(status: 200, body: "tls"), tls: pki.serverContextFor("self"))
        defer { Task { await server.stop() } }
        let c = try HTTPChecker(settings: HTTPCheckSettings(connection: connection(server.port, timeout: .milliseconds(500)), urls: [URLCheck(path: "/")]), reactor: testReactor, group: MultiThreadedEventLoopGroup.singleton)
        #expect(!(await c.check().isSuccess))
    }
}

private actor PKIStore {
    static let shared = PKIStore()
    private var task: Task<TestPKI, any Error>?

    func get() async throws -> TestPKI {
        if let task { return try await task.value }
        let t = Task { try await TestPKI() }
        task = t
        return try await t.value
    }
}
