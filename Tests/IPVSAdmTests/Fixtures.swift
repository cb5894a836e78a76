import Foundation
import IPVS
import IPVSAdm
import VigilSupport

/// Repository files used by the tests.
enum Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
    }

    static func golden(_ name: String) throws -> String {
        try text("Fixtures/ipvs/golden/\(name)")
    }

    /// The table `ipvsadm -R < Fixtures/ipvs/varied.rules` builds, built here by parsing the same
    /// file and applying it to the in-memory fake.
    static func variedTable() async throws -> [ServiceEntry] {
        let rules = try RuleParser.parse(try text("Fixtures/ipvs/varied.rules"), file: "varied.rules")
        let fake = FakeIPVS()
        try await fake.apply(rules.map(\.operation))
        return try await fake.table()
    }
}

/// Names as the lab VM resolves them: /etc/hosts only (no DNS), ports from /etc/services.
struct LabNames: NameResolving {
    func hostName(for address: IPAddress) -> String? {
        address == IPAddress("127.0.0.1") ? "localhost" : nil
    }

    func serviceName(port: UInt16, protocol proto: IPVSProtocol?) -> String? {
        SystemNames().serviceName(port: port, protocol: proto)
    }
}
