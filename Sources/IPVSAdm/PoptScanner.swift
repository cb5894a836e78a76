/// Reads ipvsadm option tokens one at a time, the way popt 1.x (ipvsadm's option parser) does.
///
/// - `--name VALUE`, `--name=VALUE`; long names match exactly.
/// - `-x VALUE`, `-xVALUE`, `-x=VALUE`; bundles such as `-Ln` or `-gw5` (a short option that takes
///   a value ends the bundle and takes the rest of it).
/// - An optional value (`-p [TIMEOUT]`) is taken from the next token only when that token does not
///   start with `-`.
/// - `--` ends the options; a lone `-` and other words are positional arguments.
///
/// Lazy, so a caller that checks each option as it comes reports mistakes in the order popt
/// meets them.
struct PoptScanner {
    typealias Opt = RuleSyntax.Opt

    /// What the scanner read.
    enum Item {
        /// An option, its value (nil when it takes none or an optional one was not given) and the
        /// command-line token it came from.
        case option(Opt, value: String?, token: String)
        /// A word that is not an option.
        case positional(String)
    }

    /// A token popt refuses. `token` is the whole command-line word, as `poptBadOption` names it.
    struct Failure: Error {
        enum Kind {
            /// `POPT_ERROR_BADOPT`; `character` is the unknown letter of a short-option bundle.
            case unknownOption(character: Character?)
            /// `POPT_ERROR_NOARG`.
            case missingArgument(Opt)
            /// `POPT_ERROR_UNWANTEDARG`: `--flag=VALUE` for an option without a value.
            case unwantedArgument(Opt)
        }
        var kind: Kind
        var token: String

        /// popt's `poptStrerror` text.
        var poptMessage: String {
            switch kind {
            case .unknownOption: "unknown option"
            case .missingArgument: "missing argument"
            case .unwantedArgument: "option does not take an argument"
            }
        }
    }

    private let tokens: [String]
    private var index = 0
    /// The rest of a short-option bundle still to read, and the token it belongs to.
    private var bundle: (rest: Substring, token: String)?
    private var optionsEnded = false

    init(_ tokens: [String]) {
        self.tokens = tokens
    }

    mutating func next() throws(Failure) -> Item? {
        if let (rest, token) = bundle {
            bundle = nil
            return try short(rest, token: token)
        }
        guard index < tokens.count else { return nil }
        let t = tokens[index]
        index += 1
        if optionsEnded || !t.hasPrefix("-") || t == "-" { return .positional(t) }
        if t == "--" {
            optionsEnded = true
            return try next()
        }
        if t.hasPrefix("--") {
            let body = t.dropFirst(2)
            let name: Substring, inline: String?
            if let eq = body.firstIndex(of: "=") {
                name = body[..<eq]
                inline = String(body[body.index(after: eq)...])
            } else {
                name = body
                inline = nil
            }
            guard let opt = Opt.byLong[String(name)] else {
                throw Failure(kind: .unknownOption(character: nil), token: t)
            }
            if opt.arity == .none {
                if inline != nil { throw Failure(kind: .unwantedArgument(opt), token: t) }
                return .option(opt, value: nil, token: t)
            }
            if let inline { return .option(opt, value: inline, token: t) }
            return .option(opt, value: try separateValue(opt, token: t), token: t)
        }
        return try short(t.dropFirst(), token: t)
    }

    /// The first option of a short bundle; the rest of the bundle is kept for the next call.
    private mutating func short(_ chars: Substring, token: String) throws(Failure) -> Item {
        let c = chars.first!
        guard let opt = Opt.byShort[c] else {
            throw Failure(kind: .unknownOption(character: c), token: token)
        }
        var rest = chars.dropFirst()
        if rest.first == "=" { rest = rest.dropFirst() }
        if opt.arity == .none {
            if !rest.isEmpty { bundle = (rest, token) }
            return .option(opt, value: nil, token: token)
        }
        if !rest.isEmpty { return .option(opt, value: String(rest), token: token) }
        return .option(opt, value: try separateValue(opt, token: token), token: token)
    }

    /// The value in the next token, for an option written without one attached.
    private mutating func separateValue(_ opt: Opt, token: String) throws(Failure) -> String? {
        guard index < tokens.count else {
            if opt.arity == .optional { return nil }
            throw Failure(kind: .missingArgument(opt), token: token)
        }
        if opt.arity == .optional && tokens[index].hasPrefix("-") { return nil }
        index += 1
        return tokens[index - 1]
    }
}
