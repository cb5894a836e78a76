import Foundation
import IPVS
import IPVSAdm
import Testing
import VigilSupport

/// Listings of the varied table compared byte for byte with Debian ipvsadm 1.31's output
/// (captured in the lab VM by Fixtures/ipvs/capture.sh).
@Suite struct ListingGoldenTests {
    let info = IPVSInfo(version: 0x010201, connectionTableSize: 4096)

    @Test("ipvsadm -Ln", arguments: [
        ("Ln.txt", ListingColumns.standard, false),
        ("Ln-stats.txt", .stats, false),
        ("Ln-rate.txt", .rate, false),
        ("Ln-thresholds.txt", .thresholds, false),
        ("Ln-persistent-conn.txt", .persistentConnections, false),
        ("Ln-tun-info.txt", .tunnelInfo, false),
        ("Ln-exact.txt", .standard, true),
        ("Ln-stats-exact.txt", .stats, true),
    ])
    func numericListing(file: String, columns: ListingColumns, exact: Bool) async throws {
        let table = try await Fixture.variedTable()
        let out = IPVSAdmPrinter(names: NumericNames())
            .listing(info: info, table: table, options: ListingOptions(columns: columns, exact: exact))
        #expect(out == (try Fixture.golden(file)))
    }

    @Test("ipvsadm -L (names from /etc/hosts and /etc/services)", arguments: [
        ("L.txt", ListingColumns.standard), ("L-stats.txt", .stats), ("L-rate.txt", .rate),
        ("L-thresholds.txt", .thresholds), ("L-persistent-conn.txt", .persistentConnections),
        ("L-tun-info.txt", .tunnelInfo),
    ])
    func namedListing(file: String, columns: ListingColumns) async throws {
        let table = try await Fixture.variedTable()
        let out = IPVSAdmPrinter(names: LabNames())
            .listing(info: info, table: table, options: ListingOptions(columns: columns))
        #expect(out == (try Fixture.golden(file)))
    }

    @Test("ipvsadm -Sn and -S")
    func rules() async throws {
        let table = try await Fixture.variedTable()
        #expect(IPVSAdmPrinter(names: NumericNames()).rules(table: table) == (try Fixture.golden("Sn.txt")))
        #expect(IPVSAdmPrinter(names: LabNames()).rules(table: table) == (try Fixture.golden("S.txt")))
    }

    @Test("ipvsadm -Ln -t SERVICE prints titles and one service")
    func oneService() async throws {
        let table = try await Fixture.variedTable()
        let printer = IPVSAdmPrinter(names: NumericNames())
        for (file, key) in [
            ("Ln-service-tcp.txt", ServiceKey.address(.tcp, IPAddress("192.0.2.2")!, 443)),
            ("Ln-service-tcp6.txt", .address(.tcp, IPAddress("2001:db8::1")!, 80)),
            ("Ln-service-fwm6.txt", .firewallMark(43, .inet6)),
        ] {
            let entry = try #require(table.first { $0.service.key == key })
            #expect(printer.listing(entry: entry, options: ListingOptions()) == (try Fixture.golden(file)), "\(file)")
        }
    }

    @Test("empty table")
    func empty() throws {
        let out = IPVSAdmPrinter(names: NumericNames()).listing(info: info, table: [], options: ListingOptions())
        #expect(out == (try Fixture.golden("Ln-empty.txt")))
    }

    @Test("timeouts and sync daemons")
    func timeoutsAndDaemons() throws {
        #expect(IPVSAdmPrinter.timeouts(Timeouts(tcp: 900, tcpFin: 120, udp: 300)) == (try Fixture.golden("Ln-timeout.txt")))
        #expect(IPVSAdmPrinter.timeouts(Timeouts(tcp: 901, tcpFin: 121, udp: 301)) == (try Fixture.golden("Ln-timeout-set.txt")))
        #expect(IPVSAdmPrinter.daemons([]) == (try Fixture.golden("Ln-daemon-none.txt")))
    }

    /// The captures ran a second or two apart, so the expire column (mm:ss) is blanked before comparing.
    func maskedExpiry(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("TCP ") ? String(line.prefix(4)) + "xx:xx" + String(line.dropFirst(9)) : String(line)
        }.joined(separator: "\n")
    }

    @Test("connection table from /proc/net/ip_vs_conn")
    func connections() throws {
        let proc = try Fixture.golden("proc-ip_vs_conn.txt")
        #expect(maskedExpiry(ConnectionTable.render(proc, persistent: false, names: NumericNames()))
            == maskedExpiry(try Fixture.golden("Lnc.txt")))
        #expect(maskedExpiry(ConnectionTable.render(proc, persistent: false, names: LabNames()))
            == maskedExpiry(try Fixture.golden("Lc.txt")))
        #expect(maskedExpiry(ConnectionTable.render(proc, persistent: true, names: NumericNames()))
            == maskedExpiry(try Fixture.golden("Lnc-persistent-conn.txt")))
        let first = try #require(ConnectionTable.parse(proc).first)
        #expect(first.client.description == "192.0.2.254:53738")
        #expect(first.expires == 57)
        #expect(ConnectionTable.render(proc, persistent: false, names: NumericNames()).contains("TCP 00:57  SYN_RECV"))
    }
}
