import Logging
import NIOCore
import NIOPosix
import Synchronization
import VigilSupport

/// One probe's result and what it changed.
public struct ProbeEvent: Sendable {
    /// Index into ``CheckPool/specs``.
    public var probe: Int
    public var result: CheckResult
    public var change: CheckerState.Change
    public var isUp: Bool

    public init(probe: Int, result: CheckResult, change: CheckerState.Change, isUp: Bool) {
        self.probe = probe
        self.result = result
        self.change = change
        self.isUp = isUp
    }
}

/// Counters for status and benchmarks.
public struct ProbeStatistics: Sendable {
    public var checks = 0
    public var failures = 0
    /// Start time minus scheduled time of each probe, in seconds (bounded sample).
    public var lateness: [Double] = []

    /// The q-quantile (0…1) of lateness in seconds; 0 with no samples.
    public func latenessQuantile(_ q: Double) -> Double {
        guard !lateness.isEmpty else { return 0 }
        let s = lateness.sorted()
        return s[min(s.count - 1, Int((Double(s.count - 1) * q).rounded(.up)))]
    }
}

/// Builds the checker for a spec.
public func makeChecker(_ spec: CheckSpec, group: any EventLoopGroup) throws -> any HealthChecker {
    switch spec.kind {
    case .tcp(let c): TCPChecker(settings: c, group: group)
    case .http(let h): try HTTPChecker(settings: h, group: group)
    case .smtp(let s): SMTPChecker(settings: s, group: group)
    case .misc(let m): MiscChecker(settings: m)
    }
}

/// Runs every distinct probe concurrently, each on its own schedule, and reports results.
/// Identical ``CheckSpec``s given more than once run once (keepalived #2358, #2111): callers
/// map their checkers to ``index(of:)``.
public final class CheckPool: Sendable {
    public let specs: [CheckSpec]
    private let indexBySpec: [CheckSpec: Int]
    private let checkers: [any HealthChecker]
    private let continuation: AsyncStream<ProbeEvent>.Continuation
    /// Every probe result that changed a checker's state (and, with `reportAll`, every result).
    public let events: AsyncStream<ProbeEvent>
    private let stats = Mutex(ProbeStatistics())
    private let reportAll: Bool
    private let logger: Logger

    /// Bound on stored lateness samples.
    static let maxSamples = 2_000_000

    public init(specs: [CheckSpec], group: any EventLoopGroup, reportAll: Bool = false,
                logger: Logger = Logger(label: "vigil.check")) throws {
        var unique: [CheckSpec] = []
        var index: [CheckSpec: Int] = [:]
        for s in specs where index[s] == nil {
            index[s] = unique.count
            unique.append(s)
        }
        self.specs = unique
        self.indexBySpec = index
        self.checkers = try unique.map { try makeChecker($0, group: group) }
        (events, continuation) = AsyncStream.makeStream(of: ProbeEvent.self)
        self.reportAll = reportAll
        self.logger = logger
    }

    /// The probe that runs `spec`.
    public func index(of spec: CheckSpec) -> Int? { indexBySpec[spec] }

    public var statistics: ProbeStatistics { stats.withLock { $0 } }

    /// Runs all probes until the calling task is cancelled, then finishes ``events``.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for i in specs.indices {
                group.addTask { await self.runProbe(i) }
            }
        }
        continuation.finish()
    }

    private func runProbe(_ i: Int) async {
        let clock = ContinuousClock()
        var state = CheckerState(timing: specs[i].timing)
        var due = clock.now.advanced(by: state.firstDelay(random: Double.random(in: 0..<1)))
        let checker = checkers[i]
        while !Task.isCancelled {
            do { try await Task.sleep(until: due, tolerance: .zero, clock: clock) } catch { break }
            let start = clock.now
            let late = start - due
            let result = await checker.check()
            let change = state.record(result)
            stats.withLock { s in
                s.checks += 1
                if !result.isSuccess { s.failures += 1 }
                if s.lateness.count < Self.maxSamples {
                    let (sec, atto) = late.components
                    s.lateness.append(Double(sec) + Double(atto) / 1e18)
                }
            }
            if let up = change.becameUp {
                if case .failure(let why) = result, !up {
                    logger.info("\(specs[i].kind.name) \(describeTarget(specs[i])) down: \(why)")
                } else {
                    logger.info("\(specs[i].kind.name) \(describeTarget(specs[i])) \(up ? "up" : "down")")
                }
            }
            if reportAll || change.becameUp != nil || change.weight != nil {
                continuation.yield(ProbeEvent(probe: i, result: result, change: change, isUp: state.isUp))
            }
            due = due.advanced(by: change.nextDelay)
            let now = clock.now
            if due < now { due = now }
        }
    }
}

/// `192.0.2.1:80` for network checks, the program for MISC_CHECK.
public func describeTarget(_ spec: CheckSpec) -> String {
    switch spec.kind {
    case .tcp(let c): c.target.description
    case .http(let h): h.connection.target.description
    case .smtp(let s): s.connection.target.description
    case .misc(let m): m.arguments.joined(separator: " ")
    }
}
