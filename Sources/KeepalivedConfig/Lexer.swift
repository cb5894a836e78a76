#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import VigilSupport

/// A lexical token: a word (possibly quoted) or a brace, with where it starts.
struct Token: Sendable {
    enum Kind: Sendable { case word, open, close }

    var kind: Kind
    /// The word with quotes removed and escapes processed; "{" or "}" for braces.
    var text: String
    /// True when any part of the word was quoted (a quoted `{` is a word, not a brace).
    var quoted: Bool
    var location: SourceLocation
}

/// Reads files into token lines: comments, `@id` conditionals, `$NAME=value` parameters and their
/// substitution, `include` (globs relative to the including file, nested, cycle-checked), quoting.
struct Preprocessor {
    /// A `$NAME=value` definition; multi-line definitions hold one entry per line.
    private var parameters: [String: [[UInt8]]] = [:]
    private var pendingMultiline: (name: String, lines: [[UInt8]])?
    private var includeStack: [String] = []
    private let options: LoadOptions
    private let configID: String
    var diagnostics: [Diagnostic] = []
    /// Receives each non-empty token line in order.
    var builder: TreeBuilder

    /// Largest file read (bytes); bigger files are refused rather than exhausting memory.
    static let maximumFileSize = 64 << 20
    /// Deepest include nesting accepted.
    static let maximumIncludeDepth = 32
    /// Deepest parameter substitution (guards `$A=$A`).
    static let maximumSubstitutionDepth = 16
    /// Longest line a substitution may produce, in bytes.
    static let maximumSubstitutedLength = 1 << 20
    /// Most lines substitution may produce in one load (guards exponential multi-line expansion).
    static let maximumSubstitutedLines = 1_000_000
    private var substitutedLines = 0
    private var expansionFailed = false

    init(options: LoadOptions, configID: String, builder: TreeBuilder) {
        self.options = options
        self.configID = configID
        self.builder = builder
    }

    private mutating func error(_ code: DiagnosticCode, _ message: String, _ at: SourceLocation) {
        diagnostics.append(Diagnostic(.error, code, message, at: at))
    }

    private mutating func warning(_ code: DiagnosticCode, _ message: String, _ at: SourceLocation) {
        diagnostics.append(Diagnostic(.warning, code, message, at: at))
    }

    // MARK: Files

    /// Reads and processes the top-level file.
    mutating func processFile(path: String) {
        let location = SourceLocation(file: path, line: 0, column: 0)
        switch FileReader.readFile(path) {
        case .success(let bytes):
            includeStack.append(FileReader.canonicalPath(path))
            processText(bytes, file: path)
            includeStack.removeLast()
        case .failure(let reason):
            error(.unreadableFile, "cannot read configuration file `\(path)`: \(reason)", location)
        }
    }

    /// Processes text that did not come from a file (tests, fuzzing); `file` names it in diagnostics.
    mutating func processText(_ bytes: [UInt8], file: String) {
        var lineNumber = 0
        var start = 0
        let count = bytes.count
        while start <= count {
            var end = start
            while end < count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            if start < lineEnd || pendingMultiline != nil {
                processRawLine(bytes[start..<lineEnd], file: file, line: lineNumber)
            }
            if end >= count { break }
            start = end + 1
        }
        if let pending = pendingMultiline {
            parameters[pending.name] = pending.lines
            pendingMultiline = nil
        }
    }

    private mutating func processRawLine(_ raw: ArraySlice<UInt8>, file: String, line: Int) {
        var text = Array(Lexer.stripComment(raw))
        // Continuation lines of a multi-line `$NAME= \` definition.
        if var pending = pendingMultiline {
            let continues = Lexer.trimTrailingSpace(&text) && text.last == UInt8(ascii: "\\")
            if continues { text.removeLast() }
            pending.lines.append(text)
            if continues {
                pendingMultiline = pending
            } else {
                parameters[pending.name] = pending.lines
                pendingMultiline = nil
            }
            return
        }
        processLogicalLine(text, file: file, line: line, columnBase: 0, depth: 0)
    }

    /// One line after comment removal: conditionals, definitions, substitution, then tokens.
    private mutating func processLogicalLine(_ input: [UInt8], file: String, line: Int, columnBase: Int, depth: Int) {
        var text = input
        var column = columnBase
        var i = 0
        while i < text.count && Lexer.isSpace(text[i]) { i += 1 }
        if i == text.count { return }

        // `@ID rest` / `@^ID rest`: keep the rest only when ID matches (or, negated, does not).
        if text[i] == UInt8(ascii: "@") {
            var j = i + 1
            var negate = false
            if j < text.count && text[j] == UInt8(ascii: "^") { negate = true; j += 1 }
            let idStart = j
            while j < text.count && !Lexer.isSpace(text[j]) { j += 1 }
            let id = String(decoding: text[idStart..<j], as: UTF8.self)
            if (id == configID) == negate { return }
            column += Lexer.scalarCount(text[0..<j])
            text = Array(text[j...])
            i = 0
            while i < text.count && Lexer.isSpace(text[i]) { i += 1 }
            if i == text.count { return }
        }

        // `$NAME=value` definitions: only whitespace may precede the `$`.
        if text[i] == UInt8(ascii: "$"), let (name, value) = Lexer.definition(text[(i + 1)...]) {
            var v = Array(value)
            _ = Lexer.trimTrailingSpace(&v)
            if v.last == UInt8(ascii: "\\") {
                v.removeLast()
                _ = Lexer.trimTrailingSpace(&v)
                pendingMultiline = (name, v.isEmpty ? [] : [v])
            } else {
                parameters[name] = [v]
            }
            return
        }

        // `$NAME` / `${NAME}` substitution (recursive); multi-line values become several lines.
        if !parameters.isEmpty && text.contains(UInt8(ascii: "$")) {
            let location = SourceLocation(file: file, line: line, column: column + 1)
            if expansionFailed { return }
            guard let substituted = substitute(text, location: location) else {
                error(.invalidValue, "parameter substitution produces a line longer than \(Self.maximumSubstitutedLength >> 20) MiB", location)
                expansionFailed = true
                return
            }
            if substituted != text {
                if depth >= Self.maximumSubstitutionDepth {
                    error(.invalidValue, "parameter substitution nests too deeply (over \(Self.maximumSubstitutionDepth) levels)", location)
                    return
                }
                let pieces = Lexer.splitLines(substituted)
                substitutedLines += pieces.count
                if substitutedLines > Self.maximumSubstitutedLines {
                    error(.invalidValue, "parameter substitution produces more than \(Self.maximumSubstitutedLines) lines", location)
                    expansionFailed = true
                    return
                }
                for piece in pieces {
                    processLogicalLine(piece, file: file, line: line, columnBase: column, depth: depth + 1)
                }
                return
            }
        }

        let tokens = Lexer.tokenize(text, file: file, line: line, columnBase: column)
        if tokens.isEmpty { return }
        if tokens[0].kind == .word, !tokens[0].quoted, tokens[0].text.utf8.first == UInt8(ascii: "i"),
           Lexer.includeKeywords.contains(tokens[0].text) {
            processInclude(tokens, file: file)
            return
        }
        builder.consume(line: tokens)
    }

    /// Replaces defined `$NAME` (followed by whitespace or end) and `${NAME}`; undefined ones stay.
    private func substitute(_ text: [UInt8], location: SourceLocation) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            let c = text[i]
            if c == UInt8(ascii: "$"), i + 1 < text.count {
                if text[i + 1] == UInt8(ascii: "{") {
                    var j = i + 2
                    while j < text.count && text[j] != UInt8(ascii: "}") { j += 1 }
                    if j < text.count {
                        let name = String(decoding: text[(i + 2)..<j], as: UTF8.self)
                        if let value = lookup(name, location: location) {
                            out.append(contentsOf: value)
                            i = j + 1
                            continue
                        }
                    }
                } else if Lexer.isNameStart(text[i + 1]) {
                    var j = i + 1
                    while j < text.count && Lexer.isNameByte(text[j]) { j += 1 }
                    if j == text.count || Lexer.isSpace(text[j]) {
                        let name = String(decoding: text[(i + 1)..<j], as: UTF8.self)
                        if let value = lookup(name, location: location) {
                            out.append(contentsOf: value)
                            i = j
                            continue
                        }
                    }
                }
            }
            out.append(c)
            i += 1
            if out.count > Self.maximumSubstitutedLength { return nil }
        }
        return out.count > Self.maximumSubstitutedLength ? nil : out
    }

    private func lookup(_ name: String, location: SourceLocation) -> [UInt8]? {
        if let lines = parameters[name] {
            var joined: [UInt8] = []
            for (n, l) in lines.enumerated() {
                if n > 0 { joined.append(UInt8(ascii: "\n")) }
                joined.append(contentsOf: l)
            }
            return joined
        }
        switch name {
        case "_PWD":
            let dir = FileReader.directory(of: location.file)
            return Array((dir.isEmpty ? "." : dir).utf8)
        case "_INSTANCE": return Array(configID.utf8)
        case "_HASH": return [UInt8(ascii: "#")]
        case "_BANG": return [UInt8(ascii: "!")]
        default: return nil
        }
    }

    // MARK: include

    private mutating func processInclude(_ tokens: [Token], file: String) {
        let keyword = tokens[0]
        guard tokens.count >= 2, tokens[1].kind == .word else {
            error(.missingArgument, "`\(keyword.text)` expects a file name or glob pattern", keyword.location)
            return
        }
        if tokens.count > 2 {
            warning(.unexpectedArgument, "`\(keyword.text)` takes one file name; ignoring `\(tokens[2].text)` and what follows", tokens[2].location)
        }
        let pattern = tokens[1].text
        guard options.followIncludes else {
            warning(.ignoredSetting, "`include \(pattern)` not followed (includes are disabled)", keyword.location)
            return
        }
        if includeStack.count >= Self.maximumIncludeDepth {
            error(.includeCycle, "includes nest deeper than \(Self.maximumIncludeDepth) levels at `\(pattern)`", tokens[1].location)
            return
        }
        let full: String
        if pattern.hasPrefix("/") {
            full = pattern
        } else {
            let dir = FileReader.directory(of: file)
            full = dir.isEmpty ? pattern : dir + "/" + pattern
        }
        let isPattern = pattern.contains { "*?[{".contains($0) }
        let matches = isPattern ? FileReader.glob(full) : [full]
        if matches.isEmpty {
            warning(.emptyInclude, "`include \(pattern)` matches no files", tokens[1].location)
            return
        }
        for match in matches {
            let canonical = FileReader.canonicalPath(match)
            if let index = includeStack.firstIndex(of: canonical) {
                let chain = (includeStack[index...] + [canonical]).map { FileReader.lastComponent($0) }.joined(separator: " → ")
                error(.includeCycle, "include cycle: `\(match)` is already being read (\(chain))", tokens[1].location)
                continue
            }
            switch FileReader.readFile(match) {
            case .success(let bytes):
                includeStack.append(canonical)
                processText(bytes, file: match)
                includeStack.removeLast()
            case .failure(let reason):
                error(.unreadableFile, "cannot read included file `\(match)`: \(reason)", tokens[1].location)
            }
        }
    }
}

/// Byte-level helpers for lines and words.
enum Lexer {
    static let includeKeywords: Set<String> = ["include", "includer", "includem", "includew", "includeb", "includea"]

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0B || c == 0x0C || c == 0x0D
    }

    @inline(__always) static func isNameStart(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
    }

    @inline(__always) static func isNameByte(_ c: UInt8) -> Bool { isNameStart(c) || (c >= 0x30 && c <= 0x39) }

    /// Unicode scalars in UTF-8 bytes (continuation bytes do not count).
    static func scalarCount(_ bytes: ArraySlice<UInt8>) -> Int {
        var n = 0
        for b in bytes where b & 0xC0 != 0x80 { n += 1 }
        return n
    }

    /// Removes trailing whitespace; returns true (for chaining in conditions).
    static func trimTrailingSpace(_ bytes: inout [UInt8]) -> Bool {
        while let last = bytes.last, isSpace(last) { bytes.removeLast() }
        return true
    }

    /// Splits on newlines (multi-line parameter values).
    static func splitLines(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
    }

    /// Cuts the line at the first `#` or `!` outside quotes.
    static func stripComment(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var quote: UInt8 = 0
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            if quote != 0 {
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == quote { quote = 0 }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == UInt8(ascii: "#") || c == UInt8(ascii: "!") {
                return line[line.startIndex..<i]
            }
            i += 1
        }
        return line
    }

    /// Parses `NAME=value` (after the `$`); nil when this is not a definition.
    static func definition(_ text: ArraySlice<UInt8>) -> (String, ArraySlice<UInt8>)? {
        var i = text.startIndex
        guard i < text.endIndex, isNameStart(text[i]) else { return nil }
        while i < text.endIndex && isNameByte(text[i]) { i += 1 }
        guard i < text.endIndex, text[i] == UInt8(ascii: "=") else { return nil }
        let name = String(decoding: text[text.startIndex..<i], as: UTF8.self)
        var v = i + 1
        while v < text.endIndex && isSpace(text[v]) { v += 1 }
        return (name, text[v...])
    }

    /// Splits a comment-free line into words and braces. Quotes (`"` or `'`) group text with spaces
    /// and may join with adjacent text; escapes are processed inside quotes.
    static func tokenize(_ text: [UInt8], file: String, line: Int, columnBase: Int) -> [Token] {
        var tokens: [Token] = []
        var i = 0
        var column = columnBase + 1
        let n = text.count
        while i < n {
            let c = text[i]
            if isSpace(c) {
                i += 1
                column += 1
                continue
            }
            let location = SourceLocation(file: file, line: line, column: column)
            if c == UInt8(ascii: "{") || c == UInt8(ascii: "}") {
                tokens.append(Token(kind: c == UInt8(ascii: "{") ? .open : .close, text: c == UInt8(ascii: "{") ? "{" : "}",
                                    quoted: false, location: location))
                i += 1
                column += 1
                continue
            }
            // Fast path: a plain word (no quotes) becomes a String straight from the line's bytes.
            let wordStart = i
            var plainEnd = i
            var plainColumns = 0
            while plainEnd < n {
                let b = text[plainEnd]
                if isSpace(b) || b == UInt8(ascii: "{") || b == UInt8(ascii: "}") || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") { break }
                if b & 0xC0 != 0x80 { plainColumns += 1 }
                plainEnd += 1
            }
            if plainEnd == n || text[plainEnd] != UInt8(ascii: "\"") && text[plainEnd] != UInt8(ascii: "'") {
                tokens.append(Token(kind: .word, text: String(decoding: text[wordStart..<plainEnd], as: UTF8.self), quoted: false,
                                    location: location))
                i = plainEnd
                column += plainColumns
                continue
            }
            var word: [UInt8] = []
            var quoted = false
            var quote: UInt8 = 0
            while i < n {
                let b = text[i]
                if quote != 0 {
                    if b == quote {
                        quote = 0
                        i += 1
                        column += 1
                        continue
                    }
                    if b == UInt8(ascii: "\\") && i + 1 < n {
                        let (bytes, consumed) = unescape(text, at: i + 1)
                        word.append(contentsOf: bytes)
                        column += scalarCount(text[i..<(i + 1 + consumed)])
                        i += 1 + consumed
                        continue
                    }
                    word.append(b)
                    if b & 0xC0 != 0x80 { column += 1 }
                    i += 1
                    continue
                }
                if isSpace(b) || b == UInt8(ascii: "{") || b == UInt8(ascii: "}") { break }
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                    quote = b
                    quoted = true
                    i += 1
                    column += 1
                    continue
                }
                word.append(b)
                if b & 0xC0 != 0x80 { column += 1 }
                i += 1
            }
            tokens.append(Token(kind: .word, text: String(decoding: word, as: UTF8.self), quoted: quoted, location: location))
        }
        return tokens
    }

    /// Decodes the escape whose character is at `index` (after the backslash): bytes produced, bytes consumed.
    static func unescape(_ text: [UInt8], at index: Int) -> ([UInt8], Int) {
        let c = text[index]
        switch c {
        case UInt8(ascii: "a"): return ([0x07], 1)
        case UInt8(ascii: "b"): return ([0x08], 1)
        case UInt8(ascii: "E"): return ([0x1B], 1)
        case UInt8(ascii: "f"): return ([0x0C], 1)
        case UInt8(ascii: "n"): return ([0x0A], 1)
        case UInt8(ascii: "r"): return ([0x0D], 1)
        case UInt8(ascii: "t"): return ([0x09], 1)
        case UInt8(ascii: "v"): return ([0x0B], 1)
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var value = 0
            var j = index
            while j < text.count && j < index + 3, text[j] >= UInt8(ascii: "0"), text[j] <= UInt8(ascii: "7") {
                value = value * 8 + Int(text[j] - UInt8(ascii: "0"))
                j += 1
            }
            return ([UInt8(truncatingIfNeeded: value)], j - index)
        case UInt8(ascii: "x"):
            var value = 0
            var j = index + 1
            while j < text.count, let d = hexValue(text[j]) {
                value = (value * 16 + d) & 0xFF
                j += 1
            }
            return j == index + 1 ? ([c], 1) : ([UInt8(value)], j - index)
        case UInt8(ascii: "c"):
            if index + 1 < text.count { return ([text[index + 1] & 0x1F], 2) }
            return ([c], 1)
        default:
            return ([c], 1)
        }
    }

    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(c - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(c - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }
}

/// File access for the loader: bounded reads of regular files, glob, path helpers.
enum FileReader {
    enum Outcome {
        case success([UInt8])
        case failure(String)
    }

    /// Reads a regular file of at most `Preprocessor.maximumFileSize` bytes.
    static func readFile(_ path: String) -> Outcome {
        var st = stat()
        guard stat(path, &st) == 0 else { return .failure(String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) == S_IFDIR { return .failure("is a directory") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .failure("not a regular file") }
        guard Int(st.st_size) <= Preprocessor.maximumFileSize else {
            return .failure("larger than \(Preprocessor.maximumFileSize >> 20) MiB")
        }
        let fd: Int32
        do { fd = try systemCall("open", context: path) { open(path, O_RDONLY | O_CLOEXEC) } } catch {
            return .failure(error.errno.description)
        }
        defer { close(fd) }
        var result: [UInt8] = []
        result.reserveCapacity(Int(st.st_size))
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n: Int
            do { n = try buffer.withUnsafeMutableBytes { raw in try systemCall("read", context: path) { read(fd, raw.baseAddress, raw.count) } } } catch {
                return .failure((error as? SystemCallError)?.errno.description ?? "\(error)")
            }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
            if result.count > Preprocessor.maximumFileSize { return .failure("larger than \(Preprocessor.maximumFileSize >> 20) MiB") }
        }
        return .success(result)
    }

    /// Sorted matches of a glob pattern (brace expansion where libc supports it).
    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        #if canImport(Glibc)
        let flags = GLOB_BRACE
        #else
        let flags: Int32 = 0
        #endif
        guard Glibc.glob(pattern, flags, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out.sorted()
    }

    /// The resolved absolute path (for cycle detection); the path itself when it cannot be resolved.
    static func canonicalPath(_ path: String) -> String {
        guard let r = realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }

    /// Directory part of a path as written ("" for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func lastComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
