import ArgumentParser
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IPVS
import IPVSAdm
import VigilSupport

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Live view of the table with per-second rates; Ctrl-C exits.",
        discussion: "Rates are counter increases between refreshes divided by the elapsed time.")

    @Option(name: .shortAndLong, help: "Seconds between refreshes (0.2-3600).") var interval: Double = 1
    @Option(name: .shortAndLong, help: "Stop after this many refreshes (default: until Ctrl-C).") var count: Int?
    @Flag(name: .shortAndLong, help: "Numeric addresses and ports.") var numeric = false
    @Flag(name: .customLong("no-clear"), help: "Append frames instead of redrawing the screen.") var noClear = false

    func validate() throws {
        guard interval >= 0.2, interval <= 3600 else { throw ValidationError("--interval must be 0.2-3600 seconds") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        try await guarded {
            let ipvs = try makeIPVS()
            let renderer = WatchRenderer(names: numeric ? NumericNames() : SystemNames())
            let redraw = !noClear && isatty(1) == 1
            let interval = self.interval, count = self.count
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_IGN)
            let loop = Task {
                var previous: [ServiceEntry]? = nil
                var last = Date()
                var frames = 0
                while !Task.isCancelled, count.map({ frames < $0 }) ?? true {
                    let table = try await ipvs.table()
                    let now = Date()
                    let title = "ipvsctl watch: every \(interval)s, \(clockTime()) (Ctrl-C to exit)"
                    let frame = renderer.frame(previous: previous, current: table,
                                               interval: now.timeIntervalSince(last), title: title)
                    writeStandardOutput((redraw ? "\u{1B}[H\u{1B}[2J" : "") + frame + (redraw ? "" : "\n"))
                    previous = table
                    last = now
                    frames += 1
                    if count.map({ frames >= $0 }) ?? false { break }
                    try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                }
            }
            let sources = [SIGINT, SIGTERM].map { sig in
                let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                s.setEventHandler { loop.cancel() }
                s.resume()
                return s
            }
            defer { sources.forEach { $0.cancel() } }
            do {
                try await loop.value
            } catch is CancellationError {
                // Ctrl-C: a clean exit.
            }
        }
    }
}

/// Local wall-clock time as HH:MM:SS.
private func clockTime() -> String {
    var t = time(nil)
    var parts = tm()
    localtime_r(&t, &parts)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
}
