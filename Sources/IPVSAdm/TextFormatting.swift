/// printf-style padding helpers used to reproduce ipvsadm's column layout exactly.
extension String {
    /// `%-Ns`: left-justified in a field of at least `width` characters (never truncated).
    func leftPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// `%Ns`: right-justified in a field of at least `width` characters (never truncated).
    func rightPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    /// The first `length` bytes, as ipvsadm's `buf[length] = '\0'` does (names are ASCII).
    func truncated(to length: Int) -> String {
        utf8.count <= length ? self : String(decoding: utf8.prefix(length), as: UTF8.self)
    }
}
