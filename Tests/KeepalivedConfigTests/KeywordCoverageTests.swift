@testable import KeepalivedConfig
import Testing

/// Every keyword the suggestion lists advertise is actually accepted by its block.
@Suite struct KeywordCoverageTests {
    private func unknown(_ text: String) -> [String] {
        parse(text).diagnostics.filter { $0.code == .unknownKeyword }.map(\.message)
    }

    @Test func globalKeywords() {
        for k in Keywords.global {
            #expect(unknown("global_defs {\n \(k) 1\n}\n").isEmpty, "\(k)")
        }
    }

    @Test func instanceKeywords() {
        for k in Keywords.instance {
            #expect(unknown("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n \(k) 1\n}\n").isEmpty, "\(k)")
        }
    }

    @Test func virtualServerAndRealServerKeywords() {
        for k in Keywords.virtualServer where k != "real_server" {
            #expect(unknown("virtual_server 192.0.2.1 80 {\n \(k) 1\n}\n").isEmpty, "\(k)")
        }
        for k in Keywords.realServer {
            #expect(unknown("virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n  \(k) 1\n }\n}\n").isEmpty, "\(k)")
        }
    }

    @Test func checkerKeywords() {
        let lists: [(String, [String])] = [("TCP_CHECK", Keywords.plain), ("HTTP_GET", Keywords.http), ("SSL_GET", Keywords.ssl), ("SMTP_CHECK", Keywords.smtp),
                                           ("MISC_CHECK", Keywords.misc), ("DNS_CHECK", Keywords.dns), ("UDP_CHECK", Keywords.udp),
                                           ("FILE_CHECK", Keywords.file)]
        for (kind, keywords) in lists {
            for k in keywords {
                #expect(unknown("virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n  \(kind) {\n   \(k) 1\n  }\n }\n}\n").isEmpty, "\(kind) \(k)")
            }
        }
    }
}
