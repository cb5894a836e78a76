import ArgumentParser
import HealthCheck
import NIOPosix
import VigilSupport

/// `vigil genhash`: MD5 digest of a URL's body, for HTTP_GET/SSL_GET `digest` (keepalived's genhash).
struct Genhash: AsyncParsableCommand {
    /// The name is spelled out: derived, ArgumentParser reflects on the type at every start of `vigil`.
    static let configuration = CommandConfiguration(commandName: "genhash",
                                                    abstract: "Compute the MD5 digest of a URL's body for HTTP_GET/SSL_GET.")

    @Option(name: [.customShort("s"), .customLong("server")], help: "Server address (IPv4 or IPv6).")
    var server: String

    @Option(name: [.customShort("p"), .customLong("port")], help: "Server port (default 80, or 443 with --use-ssl).")
    var port: UInt16?

    @Option(name: [.customShort("u"), .customLong("url")], help: "Path to fetch, e.g. /index.html.")
    var url: String

    @Flag(name: [.customShort("S"), .customLong("use-ssl")], help: "Use TLS (SSL_GET); the certificate is not verified.")
    var useSSL = false

    @Option(name: [.customShort("V"), .customLong("use-virtualhost")], help: "Host header (and SNI with --use-ssl).")
    var virtualHost: String?

    @Option(name: [.customShort("P"), .customLong("protocol")], help: "HTTP version: 1.0 or 1.1.")
    var httpProtocol: String = "1.0"

    @Option(name: [.customShort("t"), .customLong("timeout")], help: "Seconds for the whole exchange.")
    var timeout: Double = 5

    @Flag(name: [.customShort("v"), .customLong("verbose")], help: "Also print the status code.")
    var verbose = false

    func run() async throws {
        guard let address = IPAddress(server) else { throw ValidationError("--server: not an IP address: \(server)") }
        guard let version = HTTPVersion(rawValue: httpProtocol) else { throw ValidationError("--protocol: expected 1.0 or 1.1, got \(httpProtocol)") }
        let settings = HTTPCheckSettings(
            connection: ConnectionSettings(address: address, port: port ?? (useSSL ? 443 : 80), timeout: .seconds(timeout)),
            urls: [], virtualHost: virtualHost, version: version,
            tls: useSSL ? TLSSettings(enableSNI: virtualHost != nil) : nil, maxBodyBytes: 64 << 20)
        let reactor = try ProbeReactor(name: "vigil-genhash")
        let checker = try HTTPChecker(settings: settings, reactor: reactor, group: MultiThreadedEventLoopGroup.singleton)
        let (result, status, md5) = await checker.fetch(URLCheck(path: url, statusCodes: StatusCodeSet([100...999])))
        await reactor.shutdown()
        if verbose, let status { writeStandardOutput("HTTP status = \(status)\n") }
        guard let md5 else {
            if case .failure(let why) = result { writeStandardError("vigil genhash: \(settings.connection.target)\(url): \(why)\n") }
            throw ExitCode(1)
        }
        writeStandardOutput("MD5SUM = \(md5)\n")
    }
}
