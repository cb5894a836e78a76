import Foundation
import Testing
import VigilTestSupport

/// `vigil doctor` where the kernel has IPVS (the lab VM): the module findings a user with IPVS sees.
@Suite("vigil doctor against an IPVS kernel", .serialized, .requiresIPVS, .tags(.ipvsKernel))
struct DoctorKernelTests {
    @Test("With IPVS present, ip_vs and the configured scheduler are ok")
    func ipvsPresent() throws {
        let vigil = try #require(Lab.builtProduct("vigil"), "build vigil first")
        let scratch = NSTemporaryDirectory() + "vigil-doctor-vm-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let conf = "\(scratch)/keepalived.conf"
        try """
        virtual_server 192.0.2.60 80 {
            lb_algo sh
            lb_kind NAT
            protocol TCP
            real_server 198.51.100.60 80 {
                TCP_CHECK {
                    connect_timeout 1
                }
            }
        }
        """.write(toFile: conf, atomically: true, encoding: .utf8)
        let (_, out) = Lab.capture(vigil, ["doctor", "-f", conf, "--json", "--status-address", "none"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
        let findings = try #require(object["findings"] as? [[String: Any]])
        func severity(_ id: String) -> String? { findings.first { $0["id"] as? String == id }?["severity"] as? String }
        #expect(severity("module.ip_vs") == "ok", "\(out)")
        #expect(severity("module.ip_vs_sh") == "ok", "\(out)")
    }
}
