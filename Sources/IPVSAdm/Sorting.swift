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
        r = compareWords(ka.address, kb.address, wide: ka.family == AddressFamily.inet6.rawValue)
        if r != 0 { return r }
        return Int32(ka.port) - Int32(kb.port)
    }

    static func compare(_ a: IPAddress, _ pa: UInt16, _ b: IPAddress, _ pb: UInt16) -> Int32 {
        let r = compareWords(a, b, wide: a.family == .inet6)
        if r != 0 { return r }
        return Int32(pa) - Int32(pb)
    }

    /// Compares the addresses' 16-byte kernel forms (`union nf_inet_addr`) 32-bit word by word,
    /// as ipvsadm does: only the first word unless `wide`.
    private static func compareWords(_ a: IPAddress?, _ b: IPAddress?, wide: Bool) -> Int32 {
        for w in 0..<(wide ? 4 : 1) {
            let x = word(a, w), y = word(b, w)
            let r = Int32(bitPattern: x &- y)
            if r != 0 { return r }
        }
        return 0
    }

    /// Word `index` (0-3) of the address's 16-byte form, read big-endian; zero for no address.
    private static func word(_ address: IPAddress?, _ index: Int) -> UInt32 {
        switch address {
        case .v4(let v)?: index == 0 ? v : 0
        case .v6(let hi, let lo)?:
            UInt32(truncatingIfNeeded: (index < 2 ? hi : lo) >> (index % 2 == 0 ? 32 : 0))
        case nil: 0
        }
    }

    private struct SortKey {
        var fwmark: UInt32 = 0
        var family: UInt16
        var proto: UInt16 = 0
        var address: IPAddress?
        var port: UInt16 = 0

        init(_ key: ServiceKey) {
            switch key {
            case .firewallMark(let m, let f):
                fwmark = m
                family = f.rawValue
            case .address(let p, let a, let port):
                family = a.family.rawValue
                proto = p.rawValue
                address = a
                self.port = port
            }
        }
    }

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
