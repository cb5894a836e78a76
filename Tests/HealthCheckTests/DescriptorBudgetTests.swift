import HealthCheck
import Testing
import VigilSupport

@Suite("Descriptor budget")
struct DescriptorBudgetTests {
    let timing = CheckTiming(delayLoop: .seconds(1))

    func tcp(_ port: UInt16) -> CheckSpec { CheckSpec(kind: .tcp(connection(port)), timing: timing) }

    @Test("the bench's 2,500 checks want 2,756 descriptors; under the usual 1,024 a reactor holds 768 connections")
    func benchSizes() {
        let budget = DescriptorBudget(specs: (0..<2500).map { tcp(UInt16(20000 + $0)) })
        #expect(budget.reactorProbes == 2500 && budget.otherProbes == 0)
        #expect(budget.wantedLimit == 2500 + DescriptorBudget.reserve)
        #expect(budget.maxInFlight(openFileLimit: budget.wantedLimit) == 2500)
        #expect(budget.maxInFlight(openFileLimit: 1 << 20) == 2500, "no more slots than probes")
        #expect(budget.maxInFlight(openFileLimit: 1024) == 1024 - DescriptorBudget.reserve)
        #expect(budget.maxInFlight(openFileLimit: 64) == DescriptorBudget.minimumMaxInFlight)
    }

    @Test("identical probes count once; SSL_GET and MISC_CHECK count off the reactors; threads split the slots")
    func counting() {
        let ssl = CheckSpec(kind: .http(HTTPCheckSettings(connection: connection(443), urls: [URLCheck(path: "/")], tls: TLSSettings())),
                            timing: timing)
        let misc = CheckSpec(kind: .misc(MiscCheckSettings(arguments: ["/bin/true"])), timing: timing)
        let http = CheckSpec(kind: .http(HTTPCheckSettings(connection: connection(80), urls: [URLCheck(path: "/")])), timing: timing)
        let budget = DescriptorBudget(specs: [tcp(1), tcp(1), http, http, ssl, misc, misc])
        #expect(budget.reactorProbes == 2 && budget.otherProbes == 2)
        #expect(budget.wantedLimit == DescriptorBudget.reserve + 2 * 2 + 2)

        let many = DescriptorBudget(specs: (0..<10_000).map { tcp(UInt16($0)) }, reactors: 2)
        #expect(many.wantedLimit == DescriptorBudget.reserve + 2 * DescriptorBudget.preferredMaxInFlight)
        #expect(many.maxInFlight(openFileLimit: 1 << 20) == DescriptorBudget.preferredMaxInFlight)
        #expect(many.maxInFlight(openFileLimit: 2048) == (2048 - DescriptorBudget.reserve) / 2)
    }

    @Test("the soft open-file limit is raised toward what is wanted, never past the hard limit, never lowered")
    func raisesSoftLimit() throws {
        let before = try OpenFileLimit.current()
        #expect(before.soft <= before.hard)
        #expect(try OpenFileLimit.raiseSoft(to: 1) == before, "never lowered")
        let wanted = min(before.hard, before.soft + 16)
        let after = try OpenFileLimit.raiseSoft(to: wanted)
        #expect(after.soft == max(before.soft, wanted) && after.hard == before.hard)
        #expect(try OpenFileLimit.raiseSoft(to: OpenFileLimit.unlimited).soft == max(before.soft, min(before.hard, OpenFileLimit.ceiling)))
    }
}
