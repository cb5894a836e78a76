import Foundation
import IPVS
import IPVSAdm
import Testing
import VigilSupport

@Suite struct RestoreTests {
    @Test("restore applies every rule in one batch and save prints them back")
    func roundTrip() async throws {
        let text = try Fixture.text("Fixtures/ipvs/varied.rules")
        let fake = FakeIPVS()
        let n = try await Restorer.restore(try RuleParser.parse(text, file: "varied.rules"), file: "varied.rules", to: fake)
        #expect(n == 35)
        #expect(await fake.applyCalls == 1)
        let saved = IPVSAdmPrinter(names: NumericNames()).rules(table: try await fake.table())
        #expect(saved == (try Fixture.golden("Sn.txt")))
        // What save prints restores to the same table.
        let again = FakeIPVS()
        try await Restorer.restore(try RuleParser.parse(saved, file: "saved"), file: "saved", to: again)
        #expect(IPVSAdmPrinter(names: NumericNames()).rules(table: try await again.table()) == saved)
    }

    @Test("a rule the table makes impossible is reported before anything is applied")
    func consistency() async throws {
        let fake = FakeIPVS()
        let rules = try RuleParser.parse("""
            -A -t 192.0.2.1:80 -s rr
            -a -t 192.0.2.1:80 -r 198.51.100.1:80 -m
            -a -t 192.0.2.2:80 -r 198.51.100.1:80 -m
            """, file: "x.rules")
        let e = await #expect(throws: RestoreError.self) {
            try await Restorer.restore(rules, file: "x.rules", to: fake)
        }
        #expect(e?.rule?.line == 3)
        #expect(e?.error.code == .notFound)
        #expect(e?.description == "x.rules:3: error: no such service (rule: -a -t 192.0.2.2:80 -r 198.51.100.1:80 -m); nothing was applied")
        #expect(await fake.appliedOperations == 0)
    }

    @Test("duplicate adds are caught against the live table")
    func duplicate() async throws {
        let fake = FakeIPVS([ServiceEntry(service: Service(key: .address(.tcp, IPAddress("192.0.2.1")!, 80)))])
        let rules = try RuleParser.parse("-A -t 192.0.2.1:80 -s rr", file: "d.rules")
        let e = await #expect(throws: RestoreError.self) { try await Restorer.restore(rules, file: "d.rules", to: fake) }
        #expect(e?.error.code == .alreadyExists)
        #expect(e?.rule?.line == 1)
    }

    @Test("a kernel error stops at its rule and names it")
    func kernelError() async throws {
        let fake = FakeIPVS()
        await fake.setFailure(context: "TCP 192.0.2.2:80", code: .schedulerMissing)
        let rules = try RuleParser.parse("""
            -A -t 192.0.2.1:80 -s rr
            -A -t 192.0.2.2:80 -s twos
            -a -t 192.0.2.2:80 -r 198.51.100.1:80 -m
            """, file: "k.rules")
        let e = await #expect(throws: RestoreError.self) { try await Restorer.restore(rules, file: "k.rules", to: fake) }
        #expect(e?.rule?.line == 2)
        #expect(e?.description.hasPrefix("k.rules:2: error: injected schedulerMissing (rule: -A -t 192.0.2.2:80 -s twos)") == true)
    }
}

@Suite struct OrderAndFormatTests {
    @Test("services sort like ipvsadm, including its signed-difference quirk")
    func order() {
        func svc(_ a: String, _ p: UInt16, _ proto: IPVSProtocol = .tcp) -> ServiceEntry {
            ServiceEntry(service: Service(key: .address(proto, IPAddress(a)!, p)))
        }
        let table = [svc("192.0.2.1", 80), svc("10.0.0.1", 80), svc("192.0.2.1", 22), svc("192.0.2.1", 53, .udp),
                     ServiceEntry(service: Service(key: .firewallMark(7, .inet))), svc("2001:db8::1", 80)]
        let keys = IPVSAdmOrder.sorted(table).map(\.service.key.description)
        // 10.0.0.1 - 192.0.2.1 overflows a C int and comes out positive, so 10.0.0.1 sorts last among IPv4 TCP.
        #expect(keys == ["TCP 192.0.2.1:22", "TCP 192.0.2.1:80", "TCP 10.0.0.1:80", "UDP 192.0.2.1:53",
                         "TCP [2001:db8::1]:80", "FWM 7"])
    }

    @Test("counters abbreviate at ipvsadm's thresholds unless --exact")
    func largeNumbers() async throws {
        var s = Statistics()
        s.connections = 99_999_999; s.inPackets = 123_456_789; s.outPackets = 12_345_678_901
        s.inBytes = 98_765_432_109_876; s.outBytes = 123_456_789_012_345_678
        var entry = ServiceEntry(service: Service(key: .address(.tcp, IPAddress("192.0.2.1")!, 80), statistics: s))
        entry.destinations = []
        let p = IPVSAdmPrinter(names: NumericNames())
        let short = p.listing(entry: entry, options: ListingOptions(columns: .stats))
        let name = "TCP  192.0.2.1:80".padding(toLength: 33, withPad: " ", startingAt: 0)
        #expect(short.hasSuffix(name + " 99999999" + "  123456K" + "   12345M" + "   98765G" + "  123456T" + "\n"))
        let exact = p.listing(entry: entry, options: ListingOptions(columns: .stats, exact: true))
        #expect(exact.hasSuffix(name + " 99999999 123456789 12345678901 98765432109876 123456789012345678\n"))
    }

    @Test("JSON listing has the documented fields")
    func json() async throws {
        let table = try await Fixture.variedTable()
        let doc = JSONTable(info: IPVSInfo(version: 0x010201, connectionTableSize: 4096), table: table)
        let text = encodeJSON(doc)
        let decoded = try JSONDecoder().decode(JSONTable.self, from: Data(text.utf8))
        #expect(decoded == doc)
        #expect(doc.version == "1.2.1")
        let sh = try #require(doc.services.first { $0.port == 443 })
        #expect(sh.flags == ["persistent", "sh-fallback", "sh-port"])
        #expect(sh.persistenceNetmask == "255.255.255.0")
        let gue = try #require(sh.destinations.first { $0.tunnel?.type == "gue" && $0.tunnel?.port == 6080 })
        #expect(gue.tunnel?.checksum == "checksum")
        #expect(doc.services.contains { $0.firewallMark == 43 && $0.family == "inet6" })
    }
}
