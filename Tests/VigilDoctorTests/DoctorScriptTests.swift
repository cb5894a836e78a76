import Testing
import KeepalivedConfig
import VigilDoctor

@Suite("vigil doctor: scripts")
struct DoctorScriptTests {
    static func config(secure: Bool, script: String = "/etc/keepalived/check.sh") -> String {
        (secure ? "global_defs {\n    enable_script_security\n}\n" : "") + """
        vrrp_script chk {
            script "\(script) --quick"
            interval 2
        }
        """ + vrrpConfig.replacingOccurrences(of: "advert_int 1", with: "advert_int 1\n    track_script {\n        chk\n    }")
    }

    @Test("A root-owned executable script under enable_script_security is ok")
    func safe() {
        var host = FakeHost()
        host.addScript("/etc/keepalived/check.sh")
        let report = doctor(Self.config(secure: true), host: host)
        #expect(report.severity("script.security") == .ok)
        #expect(report.severity("script./etc/keepalived/check.sh") == .ok)
        #expect(report.exitStatus == 0)
    }

    @Test("A missing script is an error; one found in PATH is checked where it was found")
    func missing() {
        var host = FakeHost()
        #expect(doctor(Self.config(secure: true), host: host).severity("script./etc/keepalived/check.sh") == .error)
        host.addScript("/usr/bin/check-api")
        #expect(doctor(Self.config(secure: true, script: "check-api"), host: host).severity("script./usr/bin/check-api") == .ok)
        #expect(doctor(Self.config(secure: true, script: "nowhere"), host: host).severity("script.nowhere") == .error)
    }

    @Test("A script that is not executable is an error fixed by chmod 0755")
    func notExecutable() {
        var host = FakeHost()
        host.addScript("/etc/keepalived/check.sh", mode: 0o100644)
        let finding = doctor(Self.config(secure: true), host: host).only("script./etc/keepalived/check.sh")
        #expect(finding?.severity == .error)
        #expect(finding?.fix == "chmod 0755 /etc/keepalived/check.sh")
    }

    @Test("Script security: another owner or a group-writable directory is refused (error) when enabled, a warning when not")
    func unsafe() {
        var host = FakeHost()
        host.addScript("/etc/keepalived/check.sh", uid: 1000)
        let owned = doctor(Self.config(secure: true), host: host).only("script./etc/keepalived/check.sh")
        #expect(owned?.severity == .error)
        #expect(owned?.fix == "chown root:root /etc/keepalived/check.sh")
        host.addScript("/etc/keepalived/check.sh")
        host.files["/etc/keepalived"] = FileStatus(mode: 0o040775)
        let writable = doctor(Self.config(secure: true), host: host).only("script./etc/keepalived/check.sh")
        #expect(writable?.severity == .error)
        #expect(writable?.fix == "chmod go-w /etc/keepalived")
        let insecure = doctor(Self.config(secure: false), host: host)
        #expect(insecure.severity("script./etc/keepalived/check.sh") == .warning)
        #expect(insecure.severity("script.security") == .warning)
        #expect(insecure.exitStatus == 0)
    }

    @Test("A script run as its owner (vrrp_script user) passes the ownership rule, as in keepalived")
    func runAsOwner() {
        var host = FakeHost()
        host.users["checker"] = 1000
        host.addScript("/etc/keepalived/check.sh", uid: 1000)
        let config = Self.config(secure: true).replacingOccurrences(of: "interval 2", with: "interval 2\n    user checker")
        #expect(doctor(config, host: host).severity("script./etc/keepalived/check.sh") == .ok)
    }
}
