/// Splits a command line into words as keepalived does for scripts: whitespace separates,
/// single or double quotes group, backslash escapes. No expansion of any kind.
public func splitScriptCommand(_ line: String) -> [String] {
    var words: [String] = []
    var current = ""
    var inWord = false
    var quote: Character? = nil
    var escape = false
    for ch in line {
        if escape {
            current.append(ch)
            escape = false
            continue
        }
        if ch == "\\" && quote != "'" {
            escape = true
            inWord = true
            continue
        }
        if let q = quote {
            if ch == q { quote = nil } else { current.append(ch) }
            continue
        }
        if ch == "'" || ch == "\"" {
            quote = ch
            inWord = true
        } else if ch == " " || ch == "\t" {
            if inWord { words.append(current); current = ""; inWord = false }
        } else {
            current.append(ch)
            inWord = true
        }
    }
    if inWord { words.append(current) }
    return words
}
