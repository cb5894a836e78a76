/// One statement: a keyword, its arguments, and its `{ }` block when it has one.
final class Node {
    let keyword: Token
    var arguments: [Token] = []
    /// Child statements; nil when the statement has no block.
    var children: [Node]?
    /// Where the block's `{` is.
    var openLocation: SourceLocation?

    init(keyword: Token) { self.keyword = keyword }

    var name: String { keyword.text }
    var location: SourceLocation { keyword.location }
    var hasBlock: Bool { children != nil }
}

/// Builds the statement tree from token lines. Braces may share lines with keywords and values
/// (`authentication { auth_type PASS`), or stand alone on the line after the keyword they open.
final class TreeBuilder {
    /// Top-level statements.
    private(set) var root: [Node] = []
    /// Open blocks, innermost last.
    private var stack: [Node] = []
    private(set) var diagnostics: [Diagnostic] = []
    /// Deepest block nesting kept; deeper braces are counted but not built (bounded memory and recursion).
    static let maximumDepth = 64
    private var overflowDepth = 0

    private func append(_ node: Node) {
        if let top = stack.last { top.children!.append(node) } else { root.append(node) }
    }

    private var lastStatement: Node? {
        if let top = stack.last { return top.children!.last }
        return root.last
    }

    func consume(line tokens: [Token]) {
        var current: Node?
        for token in tokens {
            switch token.kind {
            case .word:
                if overflowDepth > 0 { continue }
                if let c = current { c.arguments.append(token) } else { current = Node(keyword: token) }
            case .open:
                if stack.count >= Self.maximumDepth {
                    if overflowDepth == 0 {
                        diagnostics.append(Diagnostic(.error, .unbalancedBraces, "blocks nest deeper than \(Self.maximumDepth) levels", at: token.location))
                    }
                    overflowDepth += 1
                    current = nil
                    continue
                }
                let opener: Node
                if let c = current {
                    opener = c
                    append(c)
                    current = nil
                } else if let last = lastStatement, !last.hasBlock, last.location.line < token.location.line
                            || last.location.file != token.location.file {
                    // `{` alone on the line after its keyword (`SMTP_CHECK` / `{`).
                    opener = last
                } else {
                    diagnostics.append(Diagnostic(.error, .unbalancedBraces, "unexpected `{` with no keyword before it", at: token.location))
                    // Recover by opening an anonymous block so the matching `}` balances.
                    let anonymous = Node(keyword: token)
                    append(anonymous)
                    opener = anonymous
                }
                opener.children = []
                opener.openLocation = token.location
                stack.append(opener)
            case .close:
                if overflowDepth > 0 {
                    overflowDepth -= 1
                    current = nil
                    continue
                }
                if let c = current {
                    append(c)
                    current = nil
                }
                if stack.isEmpty {
                    diagnostics.append(Diagnostic(.error, .unbalancedBraces, "unexpected `}` with no open block", at: token.location))
                } else {
                    stack.removeLast()
                }
            }
        }
        if let c = current, overflowDepth == 0 { append(c) }
    }

    /// Reports blocks still open at the end of input, naming where each opened.
    func finish() {
        if overflowDepth > 0 { stack.removeAll() }
        for node in stack.reversed() {
            let at = node.openLocation ?? node.location
            diagnostics.append(Diagnostic(.error, .unbalancedBraces,
                                          "unclosed block: `{` of `\(node.name)` opened here has no matching `}`", at: at))
        }
        stack.removeAll()
    }
}
