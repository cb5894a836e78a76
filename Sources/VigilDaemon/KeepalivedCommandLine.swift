/// keepalived's command line where ArgumentParser's model does not reach.
public enum KeepalivedCommandLine {
    /// The default of `-g` without a file, as keepalived's.
    public static let defaultLogFile = "/tmp/keepalived.log"

    /// `--signum=NAME` or `--signum NAME`, anywhere on the line.
    public static func signumRequest(_ arguments: [String]) -> String? {
        for (i, a) in arguments.enumerated() {
            if a.hasPrefix("--signum=") { return String(a.dropFirst("--signum=".count)) }
            if a == "--signum" { return i + 1 < arguments.count ? arguments[i + 1] : "" }
        }
        return nil
    }

    /// The signal keepalived uses for each function (`keepalived --signum=NAME` on Linux/glibc).
    public static func signalNumber(_ name: String) -> Int32? {
        switch name {
        case "STOP": 15
        case "RELOAD": 1
        case "DATA": 10
        case "STATS": 12
        case "STATS_CLEAR": 63
        case "JSON": 36
        default: nil
        }
    }

    /// keepalived flags Vigil does not implement, each with why; nil when none is given.
    public static let refused: [(flags: [String], why: String)] = [
        (["-V", "--dont-release-vrrp"], "keeping VIPs after the daemon stops is not supported: a stopped Vigil always releases its VIPs with a priority-0 advertisement"),
        (["-a", "--address-monitoring"], "address monitoring reports are not supported (Vigil watches only the links it tracks)"),
        (["-b", "--bfd_pid"], "Vigil has no BFD subsystem"),
        (["-x", "--snmp"], "SNMP is not supported"),
        (["-A", "--snmp-agent-socket"], "SNMP is not supported"),
        (["--flush-log-file"], "the log file is written unbuffered; there is nothing to flush"),
    ]

    public static func refusal(_ arguments: [String]) -> String? {
        for a in arguments {
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if let r = refused.first(where: { $0.flags.contains(name) }) { return "\(r.flags.joined(separator: "/")): \(r.why)" }
            if a.hasPrefix("-"), !a.hasPrefix("--"), a.count > 2 {
                for c in a.dropFirst() {
                    if let r = refused.first(where: { $0.flags.contains("-\(c)") }) { return "\(r.flags.joined(separator: "/")): \(r.why)" }
                }
            }
        }
        return nil
    }

    /// Gives `-g` its default file when none follows, and turns `-t=FILE`/`--config-test=FILE`
    /// into `-t --config-test-file FILE`.
    public static func normalise(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "-g" || a == "--log-file" {
                out.append("--log-file")
                if i + 1 < arguments.count, !arguments[i + 1].hasPrefix("-") {
                    out.append(arguments[i + 1])
                    i += 1
                } else {
                    out.append(defaultLogFile)
                }
            } else if a.hasPrefix("--config-test=") || a.hasPrefix("-t=") {
                out += ["-t", "--config-test-file", String(a.split(separator: "=", maxSplits: 1)[1])]
            } else {
                out.append(a)
            }
            i += 1
        }
        return out
    }
}
