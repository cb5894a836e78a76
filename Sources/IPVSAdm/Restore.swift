import IPVS
import VigilSupport

/// A rule that could not be applied: which one (file, line, text) and why.
public struct RestoreError: Error, Sendable, CustomStringConvertible {
    public var file: String
    /// The failing rule, when it could be identified.
    public var rule: Rule?
    public var error: IPVSError
    /// True when the failure was found before anything was sent to the kernel.
    public var nothingApplied: Bool
    /// Rules applied before the failure (0 when `nothingApplied`).
    public var applied: Int?

    public var description: String {
        var text = rule.map { "\(file):\($0.line): error: \(error.message) (rule: \($0.text))" }
            ?? "\(file): error: \(error)"
        if nothingApplied {
            text += "; nothing was applied"
        } else if let applied {
            text += "; \(applied) rule(s) before it were applied"
        }
        return text
    }
}

/// Applies parsed rules to the kernel the way `ipvsctl restore` does.
public enum Restorer {
    /// Checks the rules against the current table (duplicate adds, edits or deletes of things
    /// that do not exist, servers of missing services) and, if all are consistent, applies them
    /// in one pipelined batch.
    ///
    /// - Returns: the number of rules applied.
    /// - Throws: ``RestoreError`` naming the rule; for a consistency failure nothing is applied.
    @discardableResult
    public static func restore(_ rules: [Rule], file: String, to ipvs: some IPVSControlling) async throws -> Int {
        guard !rules.isEmpty else { return 0 }
        let needsTable = rules.contains {
            switch $0.operation {
            case .setTimeouts, .startDaemon, .stopDaemon: false
            default: true
            }
        }
        if needsTable {
            var checker = Checker(try await ipvs.table())
            if let (rule, failure) = checker.firstFailure(rules) {
                throw RestoreError(file: file, rule: rule, error: failure, nothingApplied: true, applied: 0)
            }
        }
        do {
            return try await ipvs.apply(rules.map(\.operation))
        } catch let e as IPVSError {
            let rule = e.operationIndex.flatMap { rules.indices.contains($0) ? rules[$0] : nil }
                ?? failingRule(for: e, in: rules)
            throw RestoreError(file: file, rule: rule, error: e, nothingApplied: e.appliedCount == 0, applied: e.appliedCount)
        }
    }

    /// Parses nothing and changes nothing: throws the first rule the current table makes impossible.
    public static func check(_ rules: [Rule], file: String, against ipvs: some IPVSControlling) async throws {
        guard !rules.isEmpty else { return }
        var checker = Checker(try await ipvs.table())
        if let (rule, failure) = checker.firstFailure(rules) {
            throw RestoreError(file: file, rule: rule, error: failure, nothingApplied: true, applied: 0)
        }
    }

    /// The rule a kernel error is about, found by the service/destination it names (for
    /// controllers that do not report the failing operation's index).
    static func failingRule(for error: IPVSError, in rules: [Rule]) -> Rule? {
        let matching = rules.filter { OperationText.context($0.operation) == error.context }
        if error.code == .schedulerMissing,
           let r = matching.first(where: {
               if case .addService = $0.operation { return true }
               if case .editService = $0.operation { return true }
               return false
           }) {
            return r
        }
        return matching.first
    }
}

/// How operations are named in messages (the same shape as ``IPVSError/context``).
public enum OperationText {
    /// `TCP 192.0.2.1:80`, `TCP 192.0.2.1:80 -> 198.51.100.2:80`, `FWM 42`; empty for table-wide operations.
    public static func context(_ op: IPVSOperation) -> String {
        switch op {
        case .addService(let s), .editService(let s): s.key.description
        case .deleteService(let k): k.description
        case .addDestination(let k, let d), .editDestination(let k, let d): "\(k) -> \(d.key)"
        case .deleteDestination(let k, let d): "\(k) -> \(d)"
        case .zero(let k): k?.description ?? ""
        case .flush, .setTimeouts, .startDaemon, .stopDaemon: ""
        }
    }
}

/// The table's keys, to predict which rules the kernel would refuse.
struct TableModel: Sendable {
    var services: [ServiceKey: Set<DestinationKey>] = [:]

    init(_ table: [ServiceEntry]) {
        for e in table {
            services[e.service.key] = Set(e.destinations.map(\.key))
        }
    }

    /// Applies one operation; returns the error the kernel would give, or nil.
    mutating func apply(_ op: IPVSOperation) -> IPVSError? {
        // Formatted only on failure: building it for every rule was a large part of checking.
        var context: String { OperationText.context(op) }
        func missingService(_ k: ServiceKey) -> IPVSError? {
            services[k] == nil ? IPVSError(code: .notFound, message: "no such service", context: context) : nil
        }
        switch op {
        case .addService(let s):
            if services[s.key] != nil {
                return IPVSError(code: .alreadyExists, message: "service already exists", context: context)
            }
            services[s.key] = []
        case .editService(let s):
            return missingService(s.key)
        case .deleteService(let k):
            if let e = missingService(k) { return e }
            services[k] = nil
        case .addDestination(let k, let d):
            if let e = missingService(k) { return e }
            if services[k]!.contains(d.key) {
                return IPVSError(code: .alreadyExists, message: "destination already exists", context: context)
            }
            services[k]!.insert(d.key)
        case .editDestination(let k, let d):
            if let e = missingService(k) { return e }
            if !services[k]!.contains(d.key) {
                return IPVSError(code: .notFound, message: "no such destination", context: context)
            }
        case .deleteDestination(let k, let d):
            if let e = missingService(k) { return e }
            if services[k]!.remove(d) == nil {
                return IPVSError(code: .notFound, message: "no such destination", context: context)
            }
        case .flush:
            services = [:]
        case .zero(let k):
            if let k { return missingService(k) }
        case .setTimeouts, .startDaemon, .stopDaemon:
            break
        }
        return nil
    }
}

extension Restorer {
    /// Predicts which rule the kernel would refuse, given the current table.
    public struct Checker: Sendable {
        var model: TableModel

        public init(_ table: [ServiceEntry]) {
            model = TableModel(table)
        }

        /// The first rule that cannot succeed (already exists / not found), with the error.
        public mutating func firstFailure(_ rules: [Rule]) -> (Rule, IPVSError)? {
            for rule in rules {
                if let e = model.apply(rule.operation) { return (rule, e) }
            }
            return nil
        }
    }
}
