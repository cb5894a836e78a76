#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import VigilTestSupport

/// Packaging/kubernetes/vigil-static-pod.yaml, read as JSON through python3's yaml module.
struct StaticPod {
    let container: [String: Any]
    let spec: [String: Any]

    static let path = Lab.packageRoot + "/Packaging/kubernetes/vigil-static-pod.yaml"
    static let python: String? = ["/usr/bin/python3", Lab.which("python3")].compactMap { $0 }
        .first { Lab.run($0, ["-c", "import yaml"]) == 0 }

    init() throws {
        let python = try #require(Self.python)
        let (rc, out) = Lab.capture(python, ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", Self.path])
        try #require(rc == 0, "\(out)")
        let pod = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        spec = try #require(pod["spec"] as? [String: Any])
        container = try #require((spec["containers"] as? [[String: Any]])?.first)
    }

    var command: [String] { container["command"] as? [String] ?? [] }

    /// The value after `flag` on the command line.
    func value(_ flag: String) -> String? {
        guard let i = command.firstIndex(of: flag), i + 1 < command.count else { return nil }
        return command[i + 1]
    }

    func probe(_ key: String) -> (host: String, path: String, port: Int)? {
        guard let get = (container[key] as? [String: Any])?["httpGet"] as? [String: Any],
              let path = get["path"] as? String, let port = get["port"] as? Int else { return nil }
        return (get["host"] as? String ?? "", path, port)
    }
}

@Suite("Packaging: the static-pod manifest, the .deb in a bare Debian root", .serialized)
struct PackagingTests {
    @Test("The manifest: host network, only NET_ADMIN, NET_RAW and NET_BROADCAST, the config's host path, probes on the status address",
          .enabled(if: StaticPod.python != nil, "needs python3 with the yaml module (Debian's python3-yaml) to read the manifest"))
    func manifestShape() throws {
        let pod = try StaticPod()
        #expect(pod.spec["hostNetwork"] as? Bool == true)
        let caps = try #require((pod.container["securityContext"] as? [String: Any])?["capabilities"] as? [String: Any])
        #expect(caps["add"] as? [String] == ["NET_ADMIN", "NET_RAW", "NET_BROADCAST"])
        #expect(caps["drop"] as? [String] == ["ALL"])
        let status = try #require(pod.value("--status-address"))
        for key in ["livenessProbe", "readinessProbe"] {
            let probe = try #require(pod.probe(key))
            #expect("\(probe.host):\(probe.port)" == status, "\(key) must probe the status address")
        }
        #expect(pod.probe("livenessProbe")?.path == "/healthz")
        #expect(pod.probe("readinessProbe")?.path == "/readyz")
        let file = try #require(pod.value("--use-file"))
        let mount = try #require((pod.container["volumeMounts"] as? [[String: Any]])?.first)
        #expect(file.hasPrefix((mount["mountPath"] as? String ?? "?") + "/"))
        let volume = try #require((pod.spec["volumes"] as? [[String: Any]])?.first)
        #expect((volume["hostPath"] as? [String: Any])?["path"] as? String == mount["mountPath"] as? String)
        #expect(pod.command.first == "/usr/sbin/vigil")
    }

    @Test("The manifest's command line, run by vigil with only the manifest's capabilities: it parses, holds the VIP and answers both probes with 200",
          .enabled(if: StaticPod.python != nil, "needs python3 with the yaml module (Debian's python3-yaml) to read the manifest"),
          .requiresNamespaces, .tags(.namespaces))
    func manifestCommandRuns() async throws {
        let pod = try StaticPod()
        let vigil = try #require(Lab.builtProduct("vigil"), "build vigil first")
        let ns = try DoctorNamespace()
        let conf = try ns.write("keepalived.conf", """
        vrrp_instance VI_POD {
            state MASTER
            interface vd0
            virtual_router_id 54
            priority 150
            advert_int 1
            virtual_ipaddress {
                192.0.2.150/32
            }
        }
        """)
        _ = ns.run(["/sbin/ip", "link", "set", "vd1", "up"])
        // The manifest's line with its executable built here and the config file in scratch; nothing else changes.
        var line = pod.command
        line[0] = vigil
        line[line.firstIndex(of: "--use-file")! + 1] = conf
        // The `-t` form goes through the same flag parser and exits: every flag of the manifest is accepted.
        let (rc, out) = ns.run(line + ["-t"])
        #expect(rc == 0, "\(out)")
        // The daemon with exactly the three capabilities in its bounding set (root keeps no others).
        let bounding = "--bounding-set=-all,+net_admin,+net_raw,+net_broadcast"
        let log = "\(ns.scratch)/vigil.log"
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/sbin/ip")
        daemon.arguments = ["netns", "exec", ns.name, "/usr/bin/setpriv", bounding, "--inh-caps=-all"] + line + ["--control-socket", "none"]
        FileManager.default.createFile(atPath: log, contents: nil)
        daemon.standardOutput = FileHandle(forWritingAtPath: log)
        daemon.standardError = daemon.standardOutput
        try daemon.run()
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        let liveness = try #require(pod.probe("livenessProbe")), readiness = try #require(pod.probe("readinessProbe"))
        var codes: (Int, Int, Bool) = (0, 0, false)
        for _ in 0..<60 {
            let live = ns.run(["/usr/bin/curl", "-s", "-o", "/dev/null", "-m", "1", "-w", "%{http_code}", "http://\(liveness.host):\(liveness.port)\(liveness.path)"]).1
            let ready = ns.run(["/usr/bin/curl", "-s", "-o", "/dev/null", "-m", "1", "-w", "%{http_code}", "http://\(readiness.host):\(readiness.port)\(readiness.path)"]).1
            let vip = ns.run(["/sbin/ip", "addr", "show", "dev", "vd0"]).1.contains("192.0.2.150/32")
            codes = (Int(live) ?? 0, Int(ready) ?? 0, vip)
            if codes == (200, 200, true) { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let logged = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(codes.0 == 200, "liveness \(liveness.path): \(codes.0)\n\(logged)")
        #expect(codes.1 == 200, "readiness \(readiness.path): \(codes.1)\n\(logged)")
        #expect(codes.2, "the VIP was not added with only the manifest's capabilities\n\(logged)")
    }

    static let chrootReady: Bool = {
        let fm = FileManager.default
        let dist = Lab.packageRoot + "/dist"
        let debs = ((try? fm.contentsOfDirectory(atPath: dist)) ?? []).filter { $0.hasSuffix(".deb") }
        return getuid() == 0 && fm.isExecutableFile(atPath: Lab.packageRoot + "/.package-cache/bookworm-minbase/usr/bin/dpkg") && !debs.isEmpty
    }()

    @Test("The .deb's binaries run in a Debian root without Swift: vigil -t, ipvsctl --help, dpkg --root -i, the daemon's /healthz, purge",
          .enabled(if: chrootReady, "needs root, `make package` (dist/vigil_*.deb) and the cached Debian root (Scripts/package/build-chroot.sh)"))
    func debInBareDebianRoot() throws {
        let (rc, out) = Lab.capture("/bin/bash", [Lab.packageRoot + "/Scripts/package/check-chroot.sh"])
        #expect(rc == 0, "\(out)")
        #expect(out.contains("check-chroot: all checks passed"), "\(out)")
    }
}
