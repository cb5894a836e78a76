import IPVS

/// The kernel's IPVS tables over generic netlink (one socket, pipelined writes).
func makeIPVS() throws -> IPVSClient {
    try IPVSClient()
}
