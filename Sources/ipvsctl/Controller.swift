import IPVS

/// The kernel's IPVS tables over generic netlink.
/// TEMPORARY until wt/ipvs lands `IPVSClient`: reports IPVS as unavailable.
func makeIPVS() throws -> some IPVSControlling {
    throw IPVSError(code: .notAvailable, message: "IPVS client not built yet")
    return Unavailable()
}

private struct Unavailable: IPVSControlling {
    func info() async throws -> IPVSInfo { throw IPVSError(code: .notAvailable, message: "") }
    func table() async throws -> [ServiceEntry] { [] }
    func entry(for key: ServiceKey) async throws -> ServiceEntry { throw IPVSError(code: .notAvailable, message: "") }
    func apply(_ operations: [IPVSOperation]) async throws -> Int { 0 }
    func timeouts() async throws -> Timeouts { throw IPVSError(code: .notAvailable, message: "") }
    func daemons() async throws -> [SyncDaemon] { [] }
}
