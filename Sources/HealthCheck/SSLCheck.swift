import NIOSSL

/// SSL_GET's TLS client context. Without `verification` no certificate is checked, as in
/// keepalived (issue #804); with it, the chain must lead to the CA file and carry the expected
/// name — a Vigil extension.
func makeTLSContext(_ settings: TLSSettings, nameKnown: Bool) throws -> NIOSSLContext {
    var config = TLSConfiguration.makeClientConfiguration()
    if let v = settings.verification {
        config.certificateVerification = v.expectedName != nil || nameKnown ? .fullVerification : .noHostnameVerification
        config.trustRoots = .file(v.caFile)
    } else {
        config.certificateVerification = .none
    }
    return try NIOSSLContext(configuration: config)
}
