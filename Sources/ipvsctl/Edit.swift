import ArgumentParser
import IPVS
import IPVSAdm
import VigilSupport

/// Runs one ipvsadm-style change (`-t 192.0.2.1:80 -s rr`, …) through the rule parser and the kernel.
func applyChange(_ verb: RuleVerb?, _ arguments: [String]) async throws {
    try await guarded {
        let op = try RuleParser.parse(arguments: arguments, verb: verb)
        let ipvs = try makeIPVS()
        try await ipvs.apply([op])
    }
}

/// Help shared by the service and server subcommands: they take ipvsadm's options.
private let serviceHelp = """
    SERVICE is -t|--tcp-service ADDRESS[:PORT], -u|--udp-service ADDRESS[:PORT], \
    --sctp-service ADDRESS[:PORT] or -f|--fwmark-service MARK [-6]. \
    Options: -s SCHEDULER (default wlc), -p [TIMEOUT] (persistent, default 300 s), -M NETMASK, \
    -o (one-packet, UDP), --pe sip, -b FLAGS (sh-fallback,sh-port,mh-fallback,mh-port,flag-1..3).
    """
private let serverHelp = """
    SERVICE as for add-service; -r|--real-server ADDRESS[:PORT] is required. \
    Options: -g (direct routing, default) | -i (tunnel) | -m (NAT), -w WEIGHT (default 1), \
    -x UPPER -y LOWER connection thresholds, --tun-type ipip|gue|gre, --tun-port PORT, \
    --tun-nocsum|--tun-csum|--tun-remcsum.
    """

enum ServiceCommand {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-service", abstract: "Add a virtual service (ipvsadm -A).", discussion: serviceHelp)
        @Argument(parsing: .captureForPassthrough, help: "SERVICE [options], as ipvsadm -A takes them.")
        var arguments: [String] = []
        func run() async throws { try await applyChange(.addService, arguments) }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "edit-service",
            abstract: "Replace a virtual service's settings (ipvsadm -E; unspecified settings reset to defaults).",
            discussion: serviceHelp)
        @Argument(parsing: .captureForPassthrough, help: "SERVICE [options], as ipvsadm -E takes them.")
        var arguments: [String] = []
        func run() async throws { try await applyChange(.editService, arguments) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-service", abstract: "Delete a virtual service and its servers (ipvsadm -D).",
            discussion: serviceHelp)
        @Argument(parsing: .captureForPassthrough, help: "SERVICE, as ipvsadm -D takes it.")
        var arguments: [String] = []
        func run() async throws { try await applyChange(.deleteService, arguments) }
    }
}

enum ServerCommand {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-server", abstract: "Add a real server to a service (ipvsadm -a).", discussion: serverHelp)
        @Argument(parsing: .captureForPassthrough, help: "SERVICE -r SERVER [options], as ipvsadm -a takes them.")
        var arguments: [String] = []
        func run() async throws { try await applyChange(.addServer, arguments) }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "edit-server",
            abstract: "Replace a real server's settings (ipvsadm -e; unspecified settings reset to defaults).",
            discussion: serverHelp)
        @Argument(parsing: .captureForPassthrough, help: "SERVICE -r SERVER [options], as ipvsadm -e takes them.")
        var arguments: [String] = []
        func run() async throws { try await applyChange(.editServer, arguments) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-server", abstract: "Remove a real server from a service (ipvsadm -d).",
            discussion: serverHelp)
        @Argument(parsing: .captureForPassthrough, help: "SERVICE -r SERVER, as ipvsadm -d takes them.")
        var arguments: [String] = []
        func run() async throws { try await applyChange(.deleteServer, arguments) }
    }
}

struct Flush: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flush", abstract: "Delete every service (ipvsadm -C).")
    func run() async throws {
        try await guarded { try await makeIPVS().apply([.flush]) }
    }
}

struct Zero: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zero",
        abstract: "Zero the counters of one service or of all (ipvsadm -Z).")
    @OptionGroup var service: ServiceOptions
    func run() async throws {
        try await guarded {
            let key = try service.key()
            try await makeIPVS().apply([.zero(key)])
        }
    }
}

struct Timeout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeout",
        abstract: "Show the TCP, TCP FIN and UDP timeouts, or set them (ipvsadm -L --timeout / --set).",
        discussion: "With three values sets them (seconds; 0 keeps the current value).")
    @Argument(help: "TCP TCPFIN UDP") var values: [String] = []
    @Flag(help: "JSON output when showing.") var json = false

    func run() async throws {
        try await guarded {
            if values.isEmpty {
                let t = try await makeIPVS().timeouts()
                writeStandardOutput(json ? encodeJSON(JSONTimeouts(t)) : IPVSAdmPrinter.timeouts(t))
                return
            }
            let op = try RuleParser.parse(arguments: values, verb: .setTimeouts)
            try await makeIPVS().apply([op])
        }
    }
}

struct Daemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Start, stop or list connection sync daemons (ipvsadm --start-daemon/--stop-daemon/-L --daemon).",
        subcommands: [Start.self, Stop.self, DaemonList.self], defaultSubcommand: DaemonList.self)

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Start a sync daemon: master|backup [--mcast-interface IF] [--syncid ID] [--sync-maxlen N] [--mcast-group ADDR] [--mcast-port PORT] [--mcast-ttl TTL].")
        @Argument(parsing: .captureForPassthrough, help: "master|backup [daemon options]")
        var arguments: [String] = []
        func run() async throws {
            guard let role = arguments.first else {
                throw die("daemon start needs a role: master or backup", code: Exit.badInput)
            }
            try await applyChange(nil, ["--start-daemon", role] + arguments.dropFirst())
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a sync daemon: master|backup.")
        @Argument(help: "master or backup") var role: String
        func run() async throws { try await applyChange(nil, ["--stop-daemon", role]) }
    }

    struct DaemonList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List running sync daemons.")
        @Flag(help: "JSON output.") var json = false
        func run() async throws {
            try await guarded {
                let d = try await makeIPVS().daemons()
                writeStandardOutput(json ? encodeJSON(d.map(JSONDaemon.init)) : IPVSAdmPrinter.daemons(d))
            }
        }
    }
}

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "IPVS version, connection table size and table summary.")
    @Flag(help: "JSON output.") var json = false

    struct Summary: Codable {
        var version: String
        var connectionTableSize: UInt32
        var services: Int
        var destinations: Int
    }

    func run() async throws {
        try await guarded {
            let ipvs = try makeIPVS()
            let info = try await ipvs.info()
            let table = try await ipvs.table()
            let s = Summary(version: info.versionString, connectionTableSize: info.connectionTableSize,
                            services: table.count, destinations: table.reduce(0) { $0 + $1.destinations.count })
            if json {
                writeStandardOutput(encodeJSON(s))
            } else {
                writeStandardOutput("""
                    IP Virtual Server version \(s.version) (size=\(s.connectionTableSize))
                    services: \(s.services)
                    destinations: \(s.destinations)\n
                    """)
            }
        }
    }
}
