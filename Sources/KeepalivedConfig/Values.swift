import VigilSupport

/// Shared state for turning statements into the model: diagnostics and value parsers that report
/// what was wrong, where, and what was expected.
struct Context {
    var diagnostics: [Diagnostic] = []

    mutating func error(_ code: DiagnosticCode, _ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.error, code, message, at: location))
    }

    mutating func warning(_ code: DiagnosticCode, _ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.warning, code, message, at: location))
    }

    /// Warns about a keyword not known in `block`, suggesting the nearest known one.
    mutating func unknownKeyword(_ node: Node, in block: String, known: [String]) {
        var message = "unknown keyword `\(node.name)` in \(block)"
        if let suggestion = Suggest.nearest(node.name, in: known) { message += "; did you mean `\(suggestion)`?" }
        message += " (ignored)"
        warning(.unknownKeyword, message, at: node.location)
    }

    mutating func deprecated(_ node: Node, replacement: String) {
        warning(.deprecatedKeyword, "`\(node.name)` is deprecated; use `\(replacement)`", at: node.location)
    }

    // MARK: Arguments

    /// The argument at `index`, or an error naming what was expected.
    mutating func argument(_ node: Node, _ index: Int = 0, expected: String) -> Token? {
        if index < node.arguments.count { return node.arguments[index] }
        let at = node.arguments.last?.location ?? node.location
        error(.missingArgument, "`\(node.name)` expects \(expected)", at: at)
        return nil
    }

    /// Warns about arguments beyond `count`.
    mutating func noExtraArguments(_ node: Node, count: Int) {
        if node.arguments.count > count {
            let extra = node.arguments[count]
            warning(.unexpectedArgument, "unexpected `\(extra.text)` after `\(node.name)`\(count > 0 ? " value" : "") (ignored)", at: extra.location)
        }
    }

    /// The arguments joined by spaces (a command line or free text), or an error when there are none.
    mutating func text(_ node: Node, expected: String = "a value") -> String? {
        guard !node.arguments.isEmpty else {
            error(.missingArgument, "`\(node.name)` expects \(expected)", at: node.location)
            return nil
        }
        if node.arguments.count == 1 { return node.arguments[0].text }
        return node.arguments.map(\.text).joined(separator: " ")
    }

    /// A single word argument.
    mutating func word(_ node: Node, expected: String = "a value") -> String? {
        guard let t = argument(node, expected: expected) else { return nil }
        noExtraArguments(node, count: 1)
        return t.text
    }

    mutating func integer(_ token: Token, for keyword: String, in range: ClosedRange<Int>) -> Int? {
        let s = token.text
        var value: Int?
        if s.hasPrefix("0x") || s.hasPrefix("0X") {
            value = Int(s.dropFirst(2), radix: 16)
        } else {
            value = Int(s)
        }
        guard let v = value else {
            error(.invalidNumber, "`\(keyword)` expects an integer in \(Context.describe(range)), not `\(s)`", at: token.location)
            return nil
        }
        guard range.contains(v) else {
            error(.valueOutOfRange, "`\(keyword)` value \(v) is out of range (expected \(Context.describe(range)))", at: token.location)
            return nil
        }
        return v
    }

    /// An integer argument in `range`.
    mutating func integer(_ node: Node, in range: ClosedRange<Int>, index: Int = 0, checkExtra: Bool = true) -> Int? {
        guard let t = argument(node, index, expected: "an integer in \(Context.describe(range))") else { return nil }
        if checkExtra { noExtraArguments(node, count: index + 1) }
        return integer(t, for: node.name, in: range)
    }

    mutating func seconds(_ token: Token, for keyword: String, in range: ClosedRange<Double>) -> Seconds? {
        guard let v = Double(token.text), v.isFinite, !token.text.hasPrefix("+"),
              token.text.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" }) else {
            error(.invalidNumber, "`\(keyword)` expects a number of seconds (\(Context.describe(range))), not `\(token.text)`", at: token.location)
            return nil
        }
        guard range.contains(v) else {
            error(.valueOutOfRange, "`\(keyword)` value \(token.text) is out of range (expected \(Context.describe(range)) seconds)", at: token.location)
            return nil
        }
        return v
    }

    /// A time in seconds (fractions allowed) in `range`.
    mutating func seconds(_ node: Node, in range: ClosedRange<Double> = 0...Context.maximumSeconds) -> Seconds? {
        guard let t = argument(node, expected: "a number of seconds in \(Context.describe(range))") else { return nil }
        noExtraArguments(node, count: 1)
        return seconds(t, for: node.name, in: range)
    }

    /// A boolean: no argument means true; otherwise on|off|true|false|yes|no.
    mutating func bool(_ node: Node) -> Bool {
        guard let t = node.arguments.first else { return true }
        noExtraArguments(node, count: 1)
        switch t.text.lowercased() {
        case "on", "true", "yes": return true
        case "off", "false", "no": return false
        default:
            error(.invalidValue, "`\(node.name)` expects on|off|true|false|yes|no, not `\(t.text)`", at: t.location)
            return true
        }
    }

    mutating func address(_ token: Token, for keyword: String) -> IPAddress? {
        if let a = IPAddress(token.text) { return a }
        error(.invalidAddress, "`\(keyword)` expects an IPv4 or IPv6 address, not `\(token.text)`", at: token.location)
        return nil
    }

    mutating func address(_ node: Node, index: Int = 0) -> IPAddress? {
        guard let t = argument(node, index, expected: "an IP address") else { return nil }
        return address(t, for: node.name)
    }

    mutating func port(_ token: Token, for keyword: String) -> UInt16? {
        guard let v = Int(token.text) else {
            error(.invalidNumber, "`\(keyword)` expects a port in 1–65535, not `\(token.text)`", at: token.location)
            return nil
        }
        guard (1...65535).contains(v) else {
            error(.valueOutOfRange, "port \(v) of `\(keyword)` is out of range (expected 1–65535)", at: token.location)
            return nil
        }
        return UInt16(v)
    }

    mutating func port(_ node: Node) -> UInt16? {
        guard let t = argument(node, expected: "a port in 1–65535") else { return nil }
        noExtraArguments(node, count: 1)
        return port(t, for: node.name)
    }

    /// The statement's block, or an error saying one was expected.
    mutating func block(_ node: Node) -> [Node]? {
        if let c = node.children { return c }
        error(.missingBlock, "`\(node.name)` expects a `{ ... }` block", at: node.location)
        return nil
    }

    /// Warns when a statement that takes no block has one.
    mutating func noBlock(_ node: Node) {
        if node.hasBlock {
            warning(.unexpectedBlock, "`\(node.name)` does not take a `{ ... }` block (block ignored)", at: node.openLocation ?? node.location)
        }
    }

    static let maximumSeconds: Double = 31_536_000

    static func describe(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int.max { return "\(range.lowerBound) or more" }
        return "\(range.lowerBound)–\(range.upperBound)"
    }

    static func describe(_ range: ClosedRange<Double>) -> String {
        func f(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(d) }
        if range.upperBound >= maximumSeconds {
            return range.lowerBound > 0 && range.lowerBound < 0.001 ? "more than 0" : "\(f(range.lowerBound)) or more"
        }
        return "\(f(range.lowerBound))–\(f(range.upperBound))"
    }
}

/// Nearest-keyword suggestions for typos.
enum Suggest {
    /// The closest candidate within an edit distance that scales with the word's length.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        let w = Array(word.lowercased().utf8)
        let limit = max(2, w.count / 3)
        var best: (String, Int)?
        for c in candidates {
            let d = distance(w, Array(c.lowercased().utf8), limit: limit)
            if d <= limit, d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        return best?.0
    }

    /// Levenshtein distance with adjacent transpositions, giving up above `limit`.
    static func distance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int {
        if abs(a.count - b.count) > limit { return limit + 1 }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev2 = [Int](repeating: 0, count: b.count + 1)
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            var rowMin = cur[0]
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { v = min(v, prev2[j - 2] + 1) }
                cur[j] = v
                rowMin = min(rowMin, v)
            }
            if rowMin > limit { return limit + 1 }
            (prev2, prev, cur) = (prev, cur, prev2)
        }
        return prev[b.count]
    }
}
