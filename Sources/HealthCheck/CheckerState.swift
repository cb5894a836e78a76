/// The up/down decision of one checker, as keepalived makes it. A value type: feed it results,
/// it says the new state and how long to wait before the next probe. No clock inside.
public struct CheckerState: Sendable, Hashable {
    public let timing: CheckTiming
    public private(set) var isUp: Bool
    /// Weight set by the last MISC_CHECK misc_dynamic result, if any.
    public private(set) var dynamicWeight: UInt32?
    /// Consecutive failures since the last success.
    public private(set) var failures = 0
    /// True until the first result: then one failure is enough (keepalived presets retry_it).
    public private(set) var starting = true

    public init(timing: CheckTiming) {
        self.init(timing: timing, initiallyUp: !timing.alpha)
    }

    /// A checker that starts `initiallyUp`: a checker replaced by a reload keeps its real server's
    /// up/down until its own first result.
    public init(timing: CheckTiming, initiallyUp: Bool) {
        self.timing = timing
        self.isUp = initiallyUp
    }

    /// What changed with a result.
    public struct Change: Sendable, Hashable {
        /// The new up/down state, when it flipped.
        public var becameUp: Bool?
        /// The new dynamic weight, when it changed (MISC_CHECK misc_dynamic).
        public var weight: UInt32?
        /// Wait before the next probe: delay_before_retry while retrying, else delay_loop.
        public var nextDelay: Duration

        public init(becameUp: Bool?, weight: UInt32?, nextDelay: Duration) {
            self.becameUp = becameUp
            self.weight = weight
            self.nextDelay = nextDelay
        }
    }

    /// Records one probe result.
    public mutating func record(_ result: CheckResult) -> Change {
        let wasStarting = starting
        starting = false
        switch result {
        case .success(let weight):
            failures = 0
            var change = Change(becameUp: isUp ? nil : true, weight: nil, nextDelay: timing.delayLoop)
            isUp = true
            if let weight, weight != dynamicWeight {
                dynamicWeight = weight
                change.weight = weight
            }
            return change
        case .failure:
            failures += 1
            if !isUp {
                return Change(becameUp: nil, weight: nil, nextDelay: timing.delayLoop)
            }
            if wasStarting || failures > timing.retry {
                isUp = false
                failures = 0
                return Change(becameUp: false, weight: nil, nextDelay: timing.delayLoop)
            }
            return Change(becameUp: nil, weight: nil, nextDelay: timing.delayBeforeRetry)
        }
    }

    /// Delay before the first probe: `random` in [0, 1) scaled over warmup (default delay_loop).
    public func firstDelay(random: Double) -> Duration {
        let warmup = timing.warmup ?? timing.delayLoop
        return warmup * min(max(random, 0), 1)
    }
}
