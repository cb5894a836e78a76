import VigilSupport

/// FILE_CHECK: the real server's state and weight from the number in a `track_file`, as
/// keepalived's check_file.c and track_file.c do. The file is read when inotify reports it
/// written, renamed or deleted (``ScheduledProbe`` checks at once) and every `delay_loop`.
public struct FileChecker: HealthChecker {
    public let settings: FileCheckSettings

    public init(settings: FileCheckSettings) { self.settings = settings }

    public func check() async -> CheckResult { Self.verdict(settings, value: trackedFileValue(settings.path)) }

    /// keepalived's rule for `value`: weight 0 fails on a non-zero value (a zero one with
    /// `reverse`); otherwise value × weight (negated with `reverse`) is added to the real server's
    /// weight, clamped to IPVS's 0…65535, and fails only at or below -2³¹ (IPVS_WEIGHT_FAULT).
    public static func verdict(_ s: FileCheckSettings, value: Int64) -> CheckResult {
        if s.weight == 0 {
            let failed = (value != 0) != s.reverse
            return failed ? .failure("\(s.path) holds \(value)") : .success(weight: nil)
        }
        // The file's number is read as a C long; saturate rather than wrap.
        let product = value.multipliedReportingOverflow(by: Int64(s.weight) * (s.reverse ? -1 : 1))
        let negative = ((value < 0) != (s.weight < 0)) != s.reverse
        let p = product.overflow ? (negative ? Int64.min : Int64.max) : product.partialValue
        if p <= Int64(Int32.min) { return .failure("\(s.path) holds \(value): weight \(p) is at or below the fault level") }
        let weight = min(65535, max(0, Int64(s.baseWeight) + p))
        return .success(weight: UInt32(weight))
    }
}
