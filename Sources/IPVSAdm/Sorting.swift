import IPVS
import VigilSupport

/// The order ipvsadm lists services and destinations in.
///
/// ipvsadm sorts with `qsort(3)` and comparators that subtract 32-bit values and keep the
/// result as a signed `int` (libipvs `ipvs_cmp_services` / `ipvs_cmp_dests`). For addresses
/// more than 2^31 apart the sign flips, so e.g. 10.0.0.1 sorts *after* 192.0.2.1. glibc's
/// `qsort` is a top-down merge sort; reproducing both gives byte-identical ordering.
public enum IPVSAdmOrder {
    /// Services sorted as `ipvsadm -L` prints them.
    public static func sorted(_ entries: [ServiceEntry]) -> [ServiceEntry] {
        mergeSorted(entries) { compare($0.service.key, $1.service.key) }
    }

    /// Destinations sorted as `ipvsadm -L` prints them within one service.
    public static func sorted(_ destinations: [Destination]) -> [Destination] {
        mergeSorted(destinations) { compare($0.address, $0.port, $1.address, $1.port) }
    }

    static func compare(_ a: ServiceKey, _ b: ServiceKey) -> Int32 {
        let ka = SortKey(a), kb = SortKey(b)
        var r = Int32(bitPattern: ka.fwmark &- kb.fwmark)
        if r != 0 { return r }
        r = Int32(ka.family) - Int32(kb.family)
        if r != 0 { return r }
        r = Int32(ka.proto) - Int32(kb.proto)
        if r != 0 { return r }
        r = compareWords(ka.addressBytes, kb.addressBytes, wide: ka.family == AddressFamily.inet6.rawValue)
        if r != 0 { return r }
        return Int32(ka.port) - Int32(kb.port)
    }

    static func compare(_ a: IPAddress, _ pa: UInt16, _ b: IPAddress, _ pb: UInt16) -> Int32 {
        let r = compareWords(a.paddedBytes, b.paddedBytes, wide: a.family == .inet6)
        if r != 0 { return r }
        return Int32(pa) - Int32(pb)
    }

    /// `ntohl(x) - ntohl(y)` word by word, truncated to `int` as the C code does.
    private static func compareWords(_ a: [UInt8], _ b: [UInt8], wide: Bool) -> Int32 {
        for w in 0..<(wide ? 4 : 1) {
            let x = word(a, w), y = word(b, w)
            let r = Int32(bitPattern: x &- y)
            if r != 0 { return r }
        }
        return 0
    }

    private static func word(_ bytes: [UInt8], _ index: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[index * 4 + $1]) }
    }

    private struct SortKey {
        var fwmark: UInt32 = 0
        var family: UInt16
        var proto: UInt16 = 0
        var addressBytes = [UInt8](repeating: 0, count: 16)
        var port: UInt16 = 0

        init(_ key: ServiceKey) {
            switch key {
            case .firewallMark(let m, let f):
                fwmark = m
                family = f.rawValue
            case .address(let p, let a, let port):
                family = a.family.rawValue
                proto = p.rawValue
                addressBytes = a.paddedBytes
                self.port = port
            }
        }
    }

    /// glibc's `msort_with_tmp`: split in halves (first half n/2), merge taking the left
    /// element while `compare(left, right) <= 0`.
    static func mergeSorted<T>(_ items: [T], by compare: (T, T) -> Int32) -> [T] {
        var a = items
        var tmp = items
        func sort(_ lo: Int, _ n: Int) {
            if n <= 1 { return }
            let n1 = n / 2, n2 = n - n1
            sort(lo, n1)
            sort(lo + n1, n2)
            var i = lo, j = lo + n1, k = 0
            let iEnd = lo + n1, jEnd = lo + n
            while i < iEnd && j < jEnd {
                if compare(a[i], a[j]) <= 0 {
                    tmp[k] = a[i]; i += 1
                } else {
                    tmp[k] = a[j]; j += 1
                }
                k += 1
            }
            while i < iEnd { tmp[k] = a[i]; i += 1; k += 1 }
            // Remaining right-hand elements are already in place.
            for m in 0..<k { a[lo + m] = tmp[m] }
        }
        sort(0, a.count)
        return a
    }
}
