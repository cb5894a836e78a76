#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KeepalivedConfig
import VigilSupport

/// Rise/fall bookkeeping of one `vrrp_script` (pure).
public struct VRRPScriptTracker: Sendable, Hashable {
    public let rise: Int
    public let fall: Int
    /// Current verdict: true = OK.
    public private(set) var healthy: Bool
    private var streak = 0

    /// keepalived starts scripts as OK unless `init_fail`; a failing one then needs `fall` failures.
    public init(rise: Int, fall: Int, initiallyHealthy: Bool = true) {
        self.rise = max(1, rise)
        self.fall = max(1, fall)
        self.healthy = initiallyHealthy
    }

    /// Records one run; returns the new verdict when it changed.
    public mutating func record(success: Bool) -> Bool? {
        if success == healthy {
            streak = 0
            return nil
        }
        streak += 1
        if streak >= (success ? rise : fall) {
            healthy = success
            streak = 0
            return healthy
        }
        return nil
    }
}

/// How a tracked script's verdict moves an instance: a weight, or FAULT when the weight is 0.
public func trackingAdjustment(weight: Int, reverse: Bool, healthy: Bool) -> (adjustment: Int, fault: Bool) {
    if weight == 0 { return (0, !healthy) }
    // keepalived: a positive weight is added while OK, a negative one while failing; reverse flips both.
    let effective = reverse ? -weight : weight
    if effective > 0 { return (healthy != reverse ? effective : 0, false) }
    return (healthy != reverse ? 0 : effective, false)
}

/// The arguments keepalived gives the generic `notify` script: `INSTANCE|GROUP name state priority`.
public func genericNotifyArguments(group: Bool, name: String, state: VRRPState, priority: UInt8) -> [String] {
    [group ? "GROUP" : "INSTANCE", name, state.rawValue, String(priority)]
}

/// The line keepalived writes to its notify FIFOs for a state: `INSTANCE "VI_1" MASTER 100`,
/// `GROUP "G1" BACKUP 0` (a group's priority is always 0).
public func vrrpFIFOLine(group: Bool, name: String, state: VRRPState, priority: UInt8) -> String {
    "\(group ? "GROUP" : "INSTANCE") \"\(name)\" \(state.rawValue) \(group ? 0 : priority)"
}

/// A script refused by `enable_script_security`, with the reason keepalived would give.
public struct ScriptSecurityError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "SECURITY VIOLATION - script \(path): \(reason)" }
}

/// keepalived's script security check (`scriptSecurityViolation`) against the file system.
public func checkScriptSecurity(path: String, runAsUID: UInt32 = 0) throws(ScriptSecurityError) {
    let reason = scriptSecurityViolation(path: path, runAsUID: runAsUID) { p in
        var st = stat()
        guard stat(p, &st) == 0 else { return nil }
        return FileOwnership(uid: st.st_uid, mode: UInt32(st.st_mode))
    }
    if let reason { throw ScriptSecurityError(path: path, reason: reason) }
}
