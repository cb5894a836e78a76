import KeepalivedConfig
import Testing

/// `notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`, their `*_script` readers and
/// `fifo_write_vrrp_states_on_reload` in `global_defs`.
@Suite struct NotifyFIFOConfigTests {
    @Test func everyFIFOKeywordResolves() throws {
        let r = parse("""
        global_defs {
          notify_fifo /run/all.fifo
          notify_fifo_script "/usr/local/bin/reader --all" nobody nogroup
          vrrp_notify_fifo /run/vrrp.fifo keepalived_script
          vrrp_notify_fifo_script /usr/local/bin/vrrp-reader
          lvs_notify_fifo /run/lvs.fifo root adm
          lvs_notify_fifo_script /usr/local/bin/lvs-reader daemon
          fifo_write_vrrp_states_on_reload
        }
        """)
        #expect(r.renderedSupported == [])
        let g = try #require(r.configuration).global
        #expect(g.notifyFIFO == NotifyFIFO(path: "/run/all.fifo",
                                          script: NotifyFIFOScript(command: "/usr/local/bin/reader --all", user: "nobody", group: "nogroup")))
        #expect(g.vrrpNotifyFIFO == NotifyFIFO(path: "/run/vrrp.fifo", user: "keepalived_script",
                                              script: NotifyFIFOScript(command: "/usr/local/bin/vrrp-reader")))
        #expect(g.lvsNotifyFIFO == NotifyFIFO(path: "/run/lvs.fifo", user: "root", group: "adm",
                                             script: NotifyFIFOScript(command: "/usr/local/bin/lvs-reader", user: "daemon")))
        #expect(g.fifoWriteVRRPStatesOnReload)
        // Supported now: no not-supported warning for any of them.
        #expect(!r.codes.contains(.notSupported))
    }

    @Test func absentMeansNoFIFOs() throws {
        let g = try #require(parse("global_defs {\n  router_id lb1\n}\n").configuration).global
        #expect(g.notifyFIFO == nil && g.vrrpNotifyFIFO == nil && g.lvsNotifyFIFO == nil)
        #expect(!g.fifoWriteVRRPStatesOnReload)
    }

    @Test func missingArgumentsAreErrorsWithTheirLine() {
        let r = parse("""
        global_defs {
          notify_fifo
          lvs_notify_fifo_script
        }
        """)
        #expect(r.hasErrors)
        #expect(r.renderedSupported == [
            "2:3: error: `notify_fifo` expects a FIFO path [user [group]]",
            "3:3: error: `lvs_notify_fifo_script` expects a command [user [group]]",
        ])
        #expect(r.diagnostics.allSatisfy { $0.file == "test.conf" })
    }

    @Test func extraArgumentsRepeatsAndOrphanScriptsAreWarnings() throws {
        let r = parse("""
        global_defs {
          vrrp_notify_fifo /run/a.fifo root root extra
          vrrp_notify_fifo /run/b.fifo
          lvs_notify_fifo_script /bin/reader
          fifo_write_vrrp_states_on_reload yes
        }
        """)
        #expect(!r.hasErrors)
        #expect(r.renderedSupported == [
            "2:42: warning: unexpected `extra` after `vrrp_notify_fifo` value (ignored)",
            "3:3: warning: `vrrp_notify_fifo` already given at test.conf:2:3; `/run/b.fifo` ignored",
            "4:3: warning: `lvs_notify_fifo_script` without `lvs_notify_fifo` does nothing (ignored)",
            "5:36: warning: unexpected `yes` after `fifo_write_vrrp_states_on_reload` (ignored)",
        ])
        let g = try #require(r.configuration).global
        #expect(g.vrrpNotifyFIFO?.path == "/run/a.fifo")
        #expect(g.lvsNotifyFIFO == nil)
    }

    @Test func twoFIFOsOnOnePathAreAnError() {
        let r = parse("""
        global_defs {
          notify_fifo /run/k.fifo
          vrrp_notify_fifo /run/k.fifo
        }
        """)
        #expect(r.renderedSupported == [
            "3:3: error: `vrrp_notify_fifo` names the same FIFO as `notify_fifo` (`/run/k.fifo`); each FIFO needs its own path",
        ])
    }

    @Test func aMissingReaderScriptIsReportedLikeOtherScripts() {
        let r = parse("""
        global_defs {
          enable_script_security
          notify_fifo /run/k.fifo
          notify_fifo_script /nonexistent/reader
        }
        """, checkScripts: true)
        #expect(r.renderedSupported == [
            "4:22: warning: `notify_fifo_script`: script `/nonexistent/reader` not found; it will fail when run",
        ])
    }
}
