extension DoctorContext {
    /// `status.address`: the status server's address can be bound (Vigil exits when it cannot).
    mutating func checkStatusAddress(_ address: (host: String, port: Int)?) {
        guard let address else {
            add(.ok("status.address", "status server", "off (--status-address none)"))
            return
        }
        let shown = address.host.contains(":") ? "[\(address.host)]:\(address.port)" : "\(address.host):\(address.port)"
        let check = "status server address \(shown)"
        switch host.probeBind(host: address.host, port: address.port) {
        case .free:
            add(.ok("status.address", check, "free to bind"))
        case .inUse:
            add(Finding(id: "status.address", severity: .error, check: check,
                        message: "in use by another socket (a running vigil holds it too)",
                        fix: "ss -ltnp 'sport = :\(address.port)'   # shows the holder; or start vigil with --status-address HOST:OTHERPORT"))
        case .failed(let why):
            add(Finding(id: "status.address", severity: .error, check: check, message: "cannot bind: \(why)",
                        fix: "vigil --status-address 127.0.0.1:\(address.port)   # an address this host has"))
        }
    }
}
