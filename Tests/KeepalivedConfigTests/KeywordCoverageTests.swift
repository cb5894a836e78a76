import Foundation
@testable import KeepalivedConfig
import Testing

/// The migration table (KeywordSupport.all) is the one list of keywords: every keyword the resolver
/// accepts is on it, each supported one is read by the runtime, each other one is warned about (or
/// refused) at load, keepalived.conf(5)'s keywords are all on it, and Docs/configuration.md shows it.
@Suite struct KeywordCoverageTests {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    static func source(_ relative: String) -> String? {
        try? String(contentsOf: packageRoot.appendingPathComponent(relative), encoding: .utf8)
    }

    /// A configuration with `line` inside `block`, and the 1-based line `line` is on.
    static func snippet(_ line: String, in block: KeywordBlock) -> (String, Int) {
        let rs = "virtual_server 192.0.2.1 80 {\n protocol TCP\n lvs_sched rr\n real_server 192.0.2.2 80 {\n"
        let instance = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n"
        switch block {
        case .topLevel: return ("\(line) {\n}\n", 1)
        case .global: return ("global_defs {\n \(line)\n}\n", 2)
        case .vrrpScript: return ("vrrp_script S {\n script /bin/true\n \(line)\n}\n", 3)
        case .trackFile: return ("track_file F {\n file /tmp/f\n \(line)\n}\n", 3)
        case .syncGroup: return ("\(instance)}\nvrrp_sync_group G {\n group {\n  V\n }\n \(line)\n}\n", 9)
        case .instance: return ("\(instance) \(line)\n}\n", 4)
        case .authentication: return ("\(instance) authentication {\n  \(line)\n }\n}\n", 5)
        case .virtualServer: return ("virtual_server 192.0.2.1 80 {\n \(line)\n}\n", 2)
        case .realServer: return ("\(rs)  \(line)\n }\n}\n", 5)
        case .url: return ("\(rs)  HTTP_GET {\n   url {\n    path /\n    \(line)\n   }\n  }\n }\n}\n", 8)
        case .smtpHost: return ("\(rs)  SMTP_CHECK {\n   host {\n    \(line)\n   }\n  }\n }\n}\n", 7)
        case .tcpCheck, .httpGet, .sslGet, .smtpCheck, .miscCheck, .dnsCheck, .udpCheck, .pingCheck, .fileCheck:
            return ("\(rs)  \(block.rawValue) {\n   \(line)\n  }\n }\n}\n", 6)
        }
    }

    /// Words a resolver `case` matches that are arguments or sub-words, not keywords.
    static let argumentWords: Set<String> = [
        "MASTER", "BACKUP", "SLAVE", "PASS", "AH", "inet", "inet6", "tcp", "tcpfin", "udp", "id", "maxlen", "port", "ttl",
        "group", "fwmark", "brd", "broadcast", "dev", "scope", "label", "src", "to", "via", "gw", "oif", "table", "metric",
        "preference", "priority", "default", "or", "tos", "dsfield", "realms", "mtu", "advmss", "rtt", "rttvar", "reordering",
        "window", "reverse", "noreverse", "lower_delay", "lower_repeat", "lower_delay_default", "lower_repeat_default",
    ]

    @Test func everyListedKeywordIsAcceptedAndReportedAsItsStatusSays() {
        for entry in KeywordSupport.all where !entry.keyword.hasPrefix("include") {
            for block in entry.blocks {
                let (text, line) = Self.snippet("\(entry.keyword) 1", in: block)
                let result = parse(text)
                let here = "\(entry.keyword) in \(block.rawValue)"
                #expect(!result.codes.contains(.unknownKeyword), "\(here): \(result.rendered)")
                switch entry.status {
                case .supported:
                    #expect(!result.codes.contains(.notSupported) && !result.codes.contains(.refusedKeyword), "\(here): \(result.rendered)")
                case .notSupported:
                    let d = result.diagnostics.first { $0.code == .notSupported && $0.message == entry.diagnosticMessage }
                    #expect(d?.severity == .warning && d?.line == line, "\(here): \(result.rendered)")
                case .refused:
                    let d = result.diagnostics.first { $0.code == .refusedKeyword && $0.message == entry.diagnosticMessage }
                    #expect(d?.severity == .error && d?.line == line, "\(here): \(result.rendered)")
                    #expect(result.configuration == nil, "\(here)")
                }
            }
        }
    }

    @Test func notSupportedMessageNamesTheKeywordAndWhere() {
        let result = parse("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n use_vmac\n}\n", fileName: "/etc/keepalived/keepalived.conf")
        let d = result.diagnostics.first { $0.code == .notSupported }
        #expect(d?.description.hasPrefix("/etc/keepalived/keepalived.conf:4:2: warning: `use_vmac` is accepted by keepalived but not supported by Vigil: ") == true)
        #expect(result.configuration != nil)
    }

    @Test func supportedKeywordsAreReadByTheRuntime() {
        var files: [String: String] = [:]
        for entry in KeywordSupport.all {
            guard case .supported(let consumer) = entry.status else { continue }
            let path = "Sources/" + consumer.file
            if files[path] == nil { files[path] = Self.source(path) ?? "" }
            #expect(files[path]!.contains(consumer.reads), "\(entry.keyword): \(path) does not contain `\(consumer.reads)`")
        }
    }

    /// Every keyword a `case` of the resolver matches is on the table (nothing accepted off the list).
    @Test func resolverAcceptsOnlyListedKeywords() throws {
        let listed = Set(KeywordSupport.all.map(\.keyword))
        let literal = try Regex(#""([A-Za-z0-9_\-]+)""#)
        for file in ["Resolver.swift", "ResolveVRRP.swift", "ResolveLVS.swift"] {
            let text = Self.source("Sources/KeepalivedConfig/" + file) ?? ""
            #expect(!text.isEmpty, "\(file)")
            for line in text.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix("case ") {
                for match in line.matches(of: literal) {
                    let word = String(match.output[1].substring ?? "")
                    if Self.argumentWords.contains(word) || CheckerKind(rawValue: word) != nil && listed.contains(word) { continue }
                    #expect(listed.contains(word), "\(file): `case \"\(word)\"` is not on the migration table")
                }
            }
        }
    }

    /// keepalived.conf(5)'s keywords (Scripts/keepalived-keywords.sh) are all known: on the table,
    /// or inside a block the table warns about as a whole.
    @Test func keepalivedManualKeywordsAreKnown() {
        let listed = Set(KeywordSupport.all.map(\.keyword))
        let insideWarnedBlock: [String: String] = [
            "process": "vrrp_track_process", "param_match": "vrrp_track_process", "quorum_max": "vrrp_track_process",
            "delay": "vrrp_track_process", "terminate_delay": "vrrp_track_process", "fork_delay": "vrrp_track_process",
            "full_command": "vrrp_track_process",
            "neighbor_ip": "bfd_instance", "source_ip": "bfd_instance", "min_rx": "bfd_instance", "min_tx": "bfd_instance",
            "idle_tx": "bfd_instance", "multiplier": "bfd_instance", "passive": "bfd_instance", "hoplimit": "bfd_instance",
            "max_hops": "bfd_instance", "ttl": "bfd_instance", "vrrp": "bfd_instance", "checker": "bfd_instance",
            "interfaces": "garp_group",
            "ca": "SSL", "certificate": "SSL", "key": "SSL", "password": "SSL",
        ]
        let text = (try? String(contentsOfFile: Fixtures.path("keepalived-2.2.7-keywords.txt"), encoding: .utf8)) ?? ""
        let words = text.split(separator: "\n").map(String.init)
        #expect(words.count > 300)
        for word in words where !listed.contains(word) {
            guard let block = insideWarnedBlock[word] else {
                Issue.record("keepalived.conf(5) keyword `\(word)` is not on the migration table")
                continue
            }
            let entry = KeywordSupport.all.first { $0.keyword == block }
            if case .supported? = entry?.status {
                Issue.record("`\(word)` is inside `\(block)`, which is supported, so it must be on the table itself")
            }
        }
    }

    /// Docs/configuration.md's migration table is `KeywordSupport.markdownTable()`; with
    /// VIGIL_UPDATE_DOCS=1 the test rewrites it.
    @Test func docsMigrationTableMatchesTheData() throws {
        let path = Self.packageRoot.appendingPathComponent("Docs/configuration.md")
        let doc = try String(contentsOf: path, encoding: .utf8)
        let begin = "<!-- migration-table:begin (generated: VIGIL_UPDATE_DOCS=1 swift test --filter KeywordCoverageTests) -->\n"
        let end = "<!-- migration-table:end -->"
        let table = KeywordSupport.markdownTable()
        guard let b = doc.range(of: begin), let e = doc.range(of: end, range: b.upperBound..<doc.endIndex) else {
            Issue.record("Docs/configuration.md has no migration table markers")
            return
        }
        let current = String(doc[b.upperBound..<e.lowerBound])
        if current != table, ProcessInfo.processInfo.environment["VIGIL_UPDATE_DOCS"] == "1" {
            try (String(doc[..<b.upperBound]) + table + String(doc[e.lowerBound...])).write(to: path, atomically: true, encoding: .utf8)
            return
        }
        #expect(current == table, "Docs/configuration.md's migration table is out of date: run VIGIL_UPDATE_DOCS=1 swift test --filter KeywordCoverageTests")
    }

    @Test func unknownWordsAreStillUnknownWithASuggestion() {
        let result = parse("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n priorty 100\n}\n")
        #expect(result.rendered.contains { $0.contains("unknown keyword `priorty` in vrrp_instance; did you mean `priority`?") })
    }
}
