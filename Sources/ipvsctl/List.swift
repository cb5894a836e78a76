import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IPVS
import IPVSAdm
import VigilSupport

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the table, one service, connections, timeouts or sync daemons (ipvsadm -L).",
        discussion: "Without --json the output is exactly what `ipvsadm -L` prints with the same options."
    )

    @Flag(name: .shortAndLong, help: "Numeric addresses and ports (no name lookups).")
    var numeric = false
    @Flag(help: "Packet and byte counters.") var stats = false
    @Flag(help: "Per-second rates.") var rate = false
    @Flag(help: "Upper and lower connection thresholds.") var thresholds = false
    @Flag(name: .customLong("persistent-conn"), help: "Persistent connection counts.") var persistentConn = false
    @Flag(name: .customLong("tun-info"), help: "Tunnel type, port and checksum of tunnel servers.") var tunInfo = false
    @Flag(name: [.customShort("X"), .customLong("exact")], help: "Exact counters (no K/M/G abbreviations).")
    var exact = false
    @Flag(name: .customLong("nosort"), help: "Kernel order instead of sorted.") var nosort = false
    @Flag(name: [.customShort("c"), .customLong("connection")], help: "The connection table.")
    var connection = false
    @Flag(help: "TCP, TCP FIN and UDP timeouts.") var timeout = false
    @Flag(help: "Connection sync daemons.") var daemon = false
    @Flag(help: "JSON instead of ipvsadm's text (schema in Docs/ipvsctl.md).") var json = false
    @OptionGroup var service: ServiceOptions

    func validate() throws {
        let modes = [connection, timeout, daemon, service.given].filter { $0 }.count
        if modes > 1 {
            throw ValidationError("choose one of --connection, --timeout, --daemon or a service")
        }
        if (connection || timeout || daemon) && (stats || rate || thresholds) {
            throw ValidationError("--stats, --rate and --thresholds do not combine with --connection, --timeout or --daemon")
        }
        if (timeout || daemon) && persistentConn {
            throw ValidationError("--persistent-conn does not combine with --timeout or --daemon")
        }
    }

    func run() async throws {
        try await guarded {
            let names: any NameResolving = numeric ? NumericNames() : SystemNames()
            let printer = IPVSAdmPrinter(names: names)
            let options = ListingOptions(
                columns: ListingOptions.columns(stats: stats, rate: rate, thresholds: thresholds,
                                                persistentConnections: persistentConn, tunnelInfo: tunInfo),
                exact: exact, sorted: !nosort)
            if connection {
                let text: String
                do {
                    text = try String(contentsOfFile: ConnectionTable.procPath, encoding: .utf8)
                } catch {
                    throw die("cannot open file \(ConnectionTable.procPath) (is IPVS loaded? `modprobe ip_vs`)")
                }
                if json {
                    writeStandardOutput(encodeJSON(ConnectionTable.parse(text).map(JSONConnection.init)))
                } else {
                    writeStandardOutput(ConnectionTable.render(text, persistent: persistentConn, names: names))
                }
                return
            }
            let ipvs = try makeIPVS()
            if timeout {
                let t = try await ipvs.timeouts()
                writeStandardOutput(json ? encodeJSON(JSONTimeouts(t)) : IPVSAdmPrinter.timeouts(t))
            } else if daemon {
                let d = try await ipvs.daemons()
                writeStandardOutput(json ? encodeJSON(d.map(JSONDaemon.init)) : IPVSAdmPrinter.daemons(d))
            } else if let key = try service.key() {
                let entry = try await ipvs.entry(for: key)
                if json {
                    writeStandardOutput(encodeJSON(JSONTable(info: nil, table: [entry], sorted: !nosort).services[0]))
                } else {
                    writeStandardOutput(printer.listing(entry: entry, options: options))
                }
            } else {
                // One after the other: both run on the client's one serial queue anyway.
                let i = try await ipvs.info()
                let t = try await ipvs.table()
                if json {
                    writeStandardOutput(encodeJSON(JSONTable(info: i, table: t, sorted: !nosort)))
                } else {
                    writeOutput(printer.listingBytes(info: i, table: t, options: options))
                }
            }
        }
    }
}

struct Save: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save",
        abstract: "Print the table as rules `ipvsctl restore` and `ipvsadm -R` read (ipvsadm -S).")

    @Flag(name: .shortAndLong, help: "Numeric addresses and ports.") var numeric = false
    @Flag(name: .customLong("nosort"), help: "Kernel order instead of sorted.") var nosort = false
    @Flag(name: .customLong("with-thresholds"),
          help: "Also write -x/-y thresholds (ipvsadm -S drops them; ipvsadm -R reads them).")
    var withThresholds = false

    func run() async throws {
        try await guarded {
            let ipvs = try makeIPVS()
            let printer = IPVSAdmPrinter(names: numeric ? NumericNames() : SystemNames())
            let table = try await ipvs.table()
            writeStandardOutput(printer.rules(table: table, sorted: !nosort, includeThresholds: withThresholds))
        }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Apply a rule file (ipvsadm -R): parse everything first, then apply in one batch.",
        discussion: """
            Reads the lines `ipvsadm -S` writes: -A/-E/-D/-a/-e/-d with -t/-u/--sctp-service/-f [-6], \
            -s, -b, -p [timeout], -M, -o, --pe, -r, -g/-i/-m, -w, -x, -y, --tun-type/--tun-port/\
            --tun-nocsum/--tun-csum/--tun-remcsum; also -C, -Z, --set, --start-daemon, --stop-daemon. \
            A syntax error anywhere applies nothing.
            """)

    @Argument(help: "Rule file; `-` or nothing reads standard input.") var file: String = "-"
    @Flag(name: .customLong("check"), help: "Only parse and check against the current table; change nothing.")
    var check = false

    func run() async throws {
        try await guarded {
            let name = file == "-" ? "<stdin>" : file
            let text: String
            if file == "-" {
                var data = [UInt8]()
                while let line = readLine(strippingNewline: false) { data += Array(line.utf8) }
                text = String(decoding: data, as: UTF8.self)
            } else {
                guard let t = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw die("\(file): cannot read the rule file", code: Exit.badInput)
                }
                text = t
            }
            let rules = try RuleParser.parse(text, file: name)
            if check {
                if !rules.isEmpty {
                    try await Restorer.check(rules, file: name, against: try makeIPVS())
                }
                writeStandardOutput("\(name): \(rules.count) rule(s) OK\n")
                return
            }
            let ipvs = try makeIPVS()
            try await Restorer.restore(rules, file: name, to: ipvs)
        }
    }
}

