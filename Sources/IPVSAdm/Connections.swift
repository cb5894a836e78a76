import IPVS
import VigilSupport

/// One line of `/proc/net/ip_vs_conn`.
public struct ConnectionEntry: Sendable, Hashable, Codable {
    /// Protocol as the kernel names it: TCP, UDP, SCTP, …
    public var protocolName: String
    public var client: SocketAddress
    public var virtual: SocketAddress
    public var destination: SocketAddress
    /// Connection state (e.g. ESTABLISHED, SYN_RECV, NONE).
    public var state: String
    /// Seconds until the entry expires.
    public var expires: UInt32
    /// Persistence engine name and data (only on persistence-engine connections).
    public var persistenceEngine: String?
    public var persistenceData: String?
}

/// The connection table as ipvsadm `-L -c` reads and prints it.
public enum ConnectionTable {
    /// Where the kernel publishes the connection table.
    public static let procPath = "/proc/net/ip_vs_conn"

    /// Parses the proc file's text (first line is the header). Lines that do not parse are skipped.
    public static func parse(_ text: String) -> [ConnectionEntry] {
        var out: [ConnectionEntry] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard f.count >= 9, let cport = UInt16(f[2], radix: 16), let vport = UInt16(f[4], radix: 16),
                  let dport = UInt16(f[6], radix: 16), let expires = UInt32(f[8]),
                  let c = address(f[1]), let v = address(f[3]), let d = address(f[5])
            else { continue }
            out.append(ConnectionEntry(
                protocolName: f[0], client: SocketAddress(c, cport), virtual: SocketAddress(v, vport),
                destination: SocketAddress(d, dport), state: f[7], expires: expires,
                persistenceEngine: f.count >= 11 ? f[9] : nil, persistenceData: f.count >= 11 ? f[10] : nil))
        }
        return out
    }

    /// IPv6 text, dotted IPv4, or the kernel's 8-digit hex IPv4.
    static func address(_ text: String) -> IPAddress? {
        if let a = IPAddress(text) { return a }
        guard let v = UInt32(text, radix: 16) else { return nil }
        return .v4(v)
    }

    /// `ipvsadm -L -c [-n] [--persistent-conn]` output for the given proc text.
    public static func render(_ text: String, persistent: Bool, names: any NameResolving) -> String {
        let printer = IPVSAdmPrinter(names: names)
        var out = "IPVS connection entries\n"
        if persistent {
            out += "pro expire " + "state".leftPadded(to: 11) + " " + "source".leftPadded(to: 18) + " "
                + "virtual".leftPadded(to: 18) + " " + "destination".leftPadded(to: 18) + " "
                + "pe name".leftPadded(to: 16) + " pe_data\n"
        } else {
            out += "pro expire " + "state".leftPadded(to: 11) + " " + "source".leftPadded(to: 18) + " "
                + "virtual".leftPadded(to: 18) + " destination\n"
        }
        for c in parse(text) {
            let proto: IPVSProtocol? = switch c.protocolName {
            case "TCP": .tcp
            case "UDP": .udp
            case "SCTP": .sctp
            default: nil
            }
            let cname = printer.addressPort(c.client.address, c.client.port, proto)
            let vname = printer.addressPort(c.virtual.address, c.virtual.port, proto)
            let dname = printer.addressPort(c.destination.address, c.destination.port, proto)
            let expire = twoDigits(c.expires / 60) + ":" + twoDigits(c.expires % 60)
            var line = c.protocolName.leftPadded(to: 3) + " " + expire.leftPadded(to: 6) + " "
                + c.state.leftPadded(to: 11) + " " + cname.leftPadded(to: 18) + " " + vname.leftPadded(to: 18) + " "
            if persistent, let pe = c.persistenceEngine, let data = c.persistenceData {
                line += dname.leftPadded(to: 16) + " " + pe.leftPadded(to: 18) + " " + data
            } else {
                line += dname
            }
            out += line + "\n"
        }
        return out
    }

    private static func twoDigits(_ v: UInt32) -> String { v < 10 ? "0\(v)" : "\(v)" }
}
