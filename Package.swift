// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        .executable(name: "ipvsctl", targets: ["ipvsctl"]),
        .library(name: "IPVS", targets: ["IPVS"]),
        .library(name: "KeepalivedConfig", targets: ["KeepalivedConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // The only C boundary: libnl (generic netlink and rtnetlink) plus static-inline shims.
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-genl-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-genl-3-dev", "libnl-route-3-dev"])]
        ),
        // PCRE2 for HTTP_GET / SSL_GET `regex`, as keepalived uses it; imported by HealthCheck only.
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        // System-call shims with no library behind them (epoll, eventfd, timerfd, setns, recvmmsg).
        .target(name: "CVigilSystem"),
        // Shared foundations with no I/O policy: IP addresses, the syscall funnel, error shape.
        .target(name: "VigilSupport", dependencies: ["CVigilSystem"]),
        // Probes for the test lab (IPVS kernel, namespaces, reference tools); used by tests only.
        .target(name: "VigilTestSupport", dependencies: ["VigilSupport"]),
        // Typed IPVS model, generic-netlink client and the pure diff.
        .target(name: "IPVS", dependencies: ["CNetlink", "CVigilSystem", "VigilSupport"]),
        // ipvsadm-compatible text formats: `-L` listings, `-S` rule files, JSON.
        .target(name: "IPVSAdm", dependencies: ["IPVS", "VigilSupport"]),
        // keepalived.conf lexer, parser, typed model and diagnostics. Pure.
        .target(name: "KeepalivedConfig", dependencies: ["VigilSupport"]),
        // Checkers, the scheduling pool, quorum and sorry-server logic.
        .target(name: "HealthCheck", dependencies: [
            "CPCRE2", "CVigilSystem", "IPVS", "KeepalivedConfig", "VigilSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], swiftSettings: [
            // The probe reactor's per-check path touches a dozen class properties; checking each
            // access for overlap at run time (a thread-local lookup per access) was about 7% of a
            // check's user-space time in the lab's profile. Compile-time exclusivity checks still apply.
            .unsafeFlags(["-enforce-exclusivity=unchecked"]),
        ]),
        // VRRP codec, pure state machine, transport and VIP effects.
        .target(name: "VRRP", dependencies: [
            "CVigilSystem", "KeepalivedConfig", "VigilSupport",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // `vigil doctor`: the configuration checked against the host's facts, read through a protocol.
        .target(name: "VigilDoctor", dependencies: ["KeepalivedConfig", "VRRP", "VigilSupport"]),
        // Wiring as services, reload, status.
        .target(name: "VigilDaemon", dependencies: [
            "IPVS", "KeepalivedConfig", "HealthCheck", "VRRP", "VigilSupport", "CVigilSystem",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "vigil", dependencies: [
            "VigilDaemon", "VigilDoctor", "KeepalivedConfig", "HealthCheck", "IPVS", "VigilSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], linkerSettings: [
            // Bind every symbol at start-up (as Debian builds keepalived): a backup's first takeover
            // calls functions never called before, and lazy binding made it pay their lookups.
            .unsafeFlags(["-Xlinker", "-z", "-Xlinker", "now", "-Xlinker", "-z", "-Xlinker", "relro"]),
        ]),
        .executableTarget(name: "ipvsctl", dependencies: [
            "IPVS", "IPVSAdm", "VigilSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "VigilSupportTests", dependencies: ["VigilTestSupport", "VigilSupport", "CVigilSystem"]),
        .testTarget(name: "IPVSTests", dependencies: ["VigilTestSupport", "IPVS", "VigilSupport"]),
        // Runs against a real IPVS kernel (the lab VM); skips with a reason elsewhere.
        .testTarget(name: "IPVSKernelTests", dependencies: ["VigilTestSupport", "CVigilSystem", "IPVS", "IPVSAdm", "VigilSupport"]),
        .testTarget(name: "IPVSAdmTests", dependencies: ["VigilTestSupport", "IPVSAdm", "IPVS", "VigilSupport"]),
        .testTarget(name: "KeepalivedConfigTests", dependencies: ["VigilTestSupport", "KeepalivedConfig", "VigilSupport"]),
        .testTarget(name: "HealthCheckTests", dependencies: [
            "VigilTestSupport", "HealthCheck", "IPVS", "KeepalivedConfig", "VigilSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(name: "VRRPTests", dependencies: [
            "VigilTestSupport", "VRRP", "KeepalivedConfig", "VigilSupport",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "VigilDaemonTests", dependencies: [
            "VigilTestSupport", "VigilDaemon", "HealthCheck", "IPVS", "KeepalivedConfig", "VigilSupport", "VRRP",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "VigilDoctorTests", dependencies: ["VigilTestSupport", "VigilDoctor", "KeepalivedConfig", "VRRP", "VigilSupport"]),
        // The checker half against the lab VM's IPVS kernel; skips with a reason elsewhere.
        .testTarget(name: "VigilDaemonKernelTests", dependencies: [
            "VigilTestSupport", "VigilDaemon", "HealthCheck", "IPVS", "KeepalivedConfig", "VigilSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
