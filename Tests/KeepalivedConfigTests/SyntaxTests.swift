import Foundation
import KeepalivedConfig
import Testing
import VigilSupport

/// The file format: blocks, comments, quoting, includes, parameters and conditional lines.
@Suite struct SyntaxTests {
    static let instance = """
        vrrp_instance VI_1 {
            interface eth0
            virtual_router_id 7
            virtual_ipaddress {
                192.0.2.1
            }
        }

        """

    @Test func bracesMayShareLinesWithKeywordsAndValues() throws {
        let r = parse("""
            vrrp_instance VI_1 { interface eth0
                virtual_router_id 9
                authentication { auth_type PASS
                    auth_pass secret }
                virtual_ipaddress { 192.0.2.1 192.0.2.2 }
                unicast_peer { 198.51.100.2 } }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        let v = try #require(r.configuration?.vrrpInstances.first)
        #expect(v.interface == "eth0")
        #expect(v.authentication == VRRPAuthentication(type: .pass, password: "secret"))
        #expect(v.unicastPeers == [IPAddress("198.51.100.2")!])
    }

    @Test func braceOnTheLineAfterItsKeyword() throws {
        let r = parse("""
            vrrp_instance VI_1
            {
                interface eth0
                virtual_router_id 9
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        #expect(r.configuration?.vrrpInstances.first?.virtualRouterID == 9)
    }

    @Test func hashAndBangCommentsAnywhereWithUTF8() throws {
        let r = parse("""
            ! Configuration File for keepalived 中文注释
            # 全局配置
            global_defs {   # 注释 with { braces } inside
                router_id 路由器-1   ! 主机名
            }
            vrrp_instance VI_1 { # 实例
                interface eth0 #网卡
                virtual_router_id 7 ! 虚拟路由
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        #expect(r.configuration?.global.routerID == "路由器-1")
    }

    @Test func columnsCountCharactersNotBytes() {
        let r = parse("global_defs {\n    router_id 路由 bogus\n}\n")
        #expect(r.renderedSupported == ["2:18: warning: unexpected `bogus` after `router_id` value (ignored)"])
    }

    @Test func quotedStringsKeepSpacesAndCommentCharacters() throws {
        let r = parse("""
            vrrp_script chk {
                script "killall -0 haproxy # not a comment"
            }
            vrrp_script chk2 {
                script 'a "b c"' # single quotes
            }
            vrrp_script chk3 {
                script "/bin/echo"' a b'"\\tc"
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        let c = try #require(r.configuration)
        #expect(c.vrrpScript(named: "chk")?.script == "killall -0 haproxy # not a comment")
        #expect(c.vrrpScript(named: "chk2")?.script == "a \"b c\"")
        #expect(c.vrrpScript(named: "chk3")?.script == "/bin/echo a b\tc")
    }

    @Test func unquotedCommandWordsAreJoined() throws {
        let c = try #require(parse("vrrp_instance V { interface eth0\n virtual_router_id 1\n notify_master /etc/notify.sh master now\n }").configuration)
        #expect(c.vrrpInstances.first?.notify.master == "/etc/notify.sh master now")
    }

    @Test func includeGlobsAreRelativeToTheIncludingFileAndNest() throws {
        let dir = TemporaryDirectory()
        dir.write("main.conf", "include conf.d/*.conf\n")
        dir.write("conf.d/10-global.conf", "global_defs {\n    router_id from-include\n}\n")
        dir.write("conf.d/20-vrrp.conf", "include ../vrrp/instance.inc\n")
        dir.write("vrrp/instance.inc", Self.instance)
        dir.write("conf.d/ignored.txt", "this is not matched\n")
        let r = ConfigLoader.load(path: dir.path + "/main.conf", options: LoadOptions(hostName: "h"))
        #expect(!r.hasErrors, "\(r.rendered)")
        #expect(r.configuration?.global.routerID == "from-include")
        #expect(r.configuration?.vrrpInstances.map(\.name) == ["VI_1"])
    }

    @Test func diagnosticsInIncludedTextNameTheIncludedFile() throws {
        let dir = TemporaryDirectory()
        dir.write("main.conf", "include sub/broken.conf\n")
        dir.write("sub/broken.conf", "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 300\n}\n")
        let r = ConfigLoader.load(path: dir.path + "/main.conf", options: LoadOptions(hostName: "h"))
        let e = try #require(r.errors.first)
        #expect(e.file == dir.path + "/sub/broken.conf")
        #expect(e.line == 3 && e.column == 23)
    }

    @Test func includeCycleIsAnError() throws {
        let dir = TemporaryDirectory()
        dir.write("a.conf", "include b.conf\n")
        dir.write("b.conf", "include a.conf\n")
        let r = ConfigLoader.load(path: dir.path + "/a.conf", options: LoadOptions(hostName: "h"))
        let e = try #require(r.errors.first)
        #expect(e.code == .includeCycle)
        #expect(e.file == dir.path + "/b.conf")
        #expect(e.message.contains("a.conf → b.conf → a.conf"))
    }

    @Test func selfIncludeThroughGlobIsACycleNotAHang() throws {
        let dir = TemporaryDirectory()
        dir.write("all.conf", "include *.conf\n")
        let r = ConfigLoader.load(path: dir.path + "/all.conf", options: LoadOptions(hostName: "h"))
        #expect(r.errors.map(\.code) == [.includeCycle])
    }

    @Test func globMatchingNothingWarnsButLiteralMissingFileIsAnError() {
        let dir = TemporaryDirectory()
        dir.write("main.conf", "include none/*.conf\ninclude missing.conf\n")
        let r = ConfigLoader.load(path: dir.path + "/main.conf", options: LoadOptions(hostName: "h"))
        #expect(r.codes == [.emptyInclude, .unreadableFile])
        #expect(r.diagnostics.map(\.severity) == [.warning, .error])
    }

    @Test func unreadableMainFile() throws {
        let r = ConfigLoader.load(path: "/nonexistent/keepalived.conf", configID: nil)
        let e = try #require(r.errors.first)
        #expect(e.description == "/nonexistent/keepalived.conf:0:0: error: cannot read configuration file `/nonexistent/keepalived.conf`: No such file or directory")
        #expect(r.configuration == nil)
    }

    @Test func parameterSubstitution() throws {
        let r = parse("""
            $IF=eth1
            $PRIO=150
            $BASE=10.2.${SUB}
            $SUB=0
            vrrp_instance VI_1 {
                interface $IF
                priority ${PRIO}
                virtual_router_id 5
                virtual_ipaddress {
                    ${BASE}.100/32
                }
                notify_master "/bin/echo $UNDEFINED"
            }
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        let v = try #require(r.configuration?.vrrpInstances.first)
        #expect(v.interface == "eth1")
        #expect(v.priority == 150)
        #expect(v.virtualIPAddresses.first?.address == IPAddress("10.2.0.100"))
        #expect(v.notify.master == "/bin/echo $UNDEFINED")
    }

    @Test func multiLineParameterDefinitions() throws {
        let r = parse("""
            $INSTANCE= \\
            vrrp_instance VI_${NUM} { \\
                interface eth0 \\
                virtual_router_id ${NUM} \\
            }
            $NUM=1
            $INSTANCE
            $NUM=2
            $INSTANCE
            """)
        #expect(!r.hasErrors, "\(r.rendered)")
        #expect(r.configuration?.vrrpInstances.map(\.name) == ["VI_1", "VI_2"])
        #expect(r.configuration?.vrrpInstances.map(\.virtualRouterID) == [1, 2])
    }

    @Test func recursiveParameterIsBoundedNotAHang() {
        let r = parse("$A=$A x\nglobal_defs {\n router_id $A\n}\n")
        #expect(r.hasErrors)
    }

    @Test func conditionalLinesFollowTheConfigID() throws {
        let text = """
            global_defs {
                @main   router_id main_router
                @backup router_id backup_router
            }
            @main $PRIORITY=240
            @backup $PRIORITY=200
            vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 3
                priority $PRIORITY
                unicast_peer {
                    @^main    192.0.2.4
                    @^backup  192.0.2.5
                }
            }
            """
        let main = try #require(parse(text, configID: "main").configuration)
        #expect(main.global.routerID == "main_router")
        #expect(main.vrrpInstances[0].priority == 240)
        #expect(main.vrrpInstances[0].unicastPeers.map(\.description) == ["192.0.2.5"])
        let backup = try #require(parse(text, configID: "backup").configuration)
        #expect(backup.global.routerID == "backup_router")
        #expect(backup.vrrpInstances[0].priority == 200)
        #expect(backup.vrrpInstances[0].unicastPeers.map(\.description) == ["192.0.2.4"])
    }

    @Test func configIDDefaultsToTheShortHostName() throws {
        let c = try #require(parse("global_defs {\n @lb1 router_id picked\n}\n").configuration)
        #expect(c.global.routerID == "picked")
        let other = try #require(parse("global_defs {\n @lb2 router_id picked\n}\n").configuration)
        #expect(other.global.routerID == "lb1.example.net", "router_id defaults to the host name")
    }

    @Test func unknownKeywordWarnsWithNearestKnownKeyword() {
        let r = parse("""
            virtual_server 192.0.2.1 80 {
                lvs_sched rr
                protocol TCP
                persistance_timeout 50
            }
            """)
        #expect(r.rendered == ["4:5: warning: unknown keyword `persistance_timeout` in virtual_server; did you mean `persistence_timeout`? (ignored)"])
        #expect(r.configuration != nil)
    }

    @Test func unknownTopLevelKeywordSuggests() {
        let r = parse("vrrp_instanse VI_1 {\n}\n")
        #expect(r.rendered == ["1:1: warning: unknown keyword `vrrp_instanse` in the top level; did you mean `vrrp_instance`? (ignored)"])
    }

    @Test func unclosedBlockNamesWhereItOpened() {
        let r = parse("global_defs {\n  router_id x\n}\nvirtual_server 192.0.2.1 80 {\n  lvs_sched rr\n")
        #expect(r.rendered.contains("4:29: error: unclosed block: `{` of `virtual_server` opened here has no matching `}`"))
    }

    @Test func extraClosingBraceNamesItsLine() {
        let r = parse("global_defs {\n  router_id x\n}\n}\n")
        #expect(r.renderedSupported == ["4:1: error: unexpected `}` with no open block"])
    }

    @Test func crlfLineEndingsAndBlankLines() throws {
        let r = parse("global_defs {\r\n\r\n   router_id crlf\r\n}\r\n")
        #expect(r.configuration?.global.routerID == "crlf")
    }

    @Test func exponentialParameterExpansionIsBounded() {
        var text = "$P0=x\n"
        for i in 1...20 { text += "$P\(i)=${P\(i - 1)}${P\(i - 1)}${P\(i - 1)}${P\(i - 1)}\n" }
        text += "global_defs {\n router_id ${P20}\n}\n"
        let r = parse(text)
        #expect(r.hasErrors)
    }

    @Test func deepNestingIsBounded() {
        let r = parse(String(repeating: "a {\n", count: 100_000) + String(repeating: "}\n", count: 100_000))
        #expect(r.errors.map(\.message) == ["blocks nest deeper than 64 levels"])
    }

    @Test func garbageNeverCrashes() {
        let inputs = ["{{{{", "}}}}", "\"unterminated", "$=", "${", "@", "@^", "include", "virtual_server", "real_server 1.2.3.4 { }",
                      "virtual_server_group g { 10.0.0.1-300 80 }", "\u{0}\u{1}\u{2}", String(repeating: "{", count: 10_000)]
        for i in inputs { _ = parse(i) }
    }
}
