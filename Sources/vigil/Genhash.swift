import ArgumentParser

/// `vigil genhash`: MD5 digest of a URL's body, for HTTP_GET/SSL_GET `digest` (keepalived's genhash).
struct Genhash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Compute the MD5 digest of a URL's body for HTTP_GET/SSL_GET.")

    func run() async throws {
        throw ValidationError("genhash is not implemented yet")
    }
}
