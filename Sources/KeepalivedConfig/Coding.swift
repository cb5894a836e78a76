import VigilSupport

// JSON shapes for the model's enums with payloads; Docs/configuration.md documents them.

extension VirtualServerAddress: Codable {
    private enum Keys: String, CodingKey { case type, address, port, fwmark, group }

    /// `{"type":"ip","address":A,"port":P}`, `{"type":"fwmark","fwmark":N}` or `{"type":"group","group":NAME}`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .socket(let s):
            try c.encode("ip", forKey: .type)
            try c.encode(s.address, forKey: .address)
            try c.encode(s.port, forKey: .port)
        case .firewallMark(let m):
            try c.encode("fwmark", forKey: .type)
            try c.encode(m, forKey: .fwmark)
        case .group(let g):
            try c.encode("group", forKey: .type)
            try c.encode(g, forKey: .group)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        switch try c.decode(String.self, forKey: .type) {
        case "ip":
            self = .socket(SocketAddress(try c.decode(IPAddress.self, forKey: .address), try c.decode(UInt16.self, forKey: .port)))
        case "fwmark":
            self = .firewallMark(try c.decode(UInt32.self, forKey: .fwmark))
        case "group":
            self = .group(try c.decode(String.self, forKey: .group))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown address type \(other)")
        }
    }
}

extension VirtualServerGroupEntry: Codable {
    private enum Keys: String, CodingKey { case type, address, first, last, port, fwmark }

    /// `{"type":"address",...}`, `{"type":"range","first":A,"last":B,"port":P}` or `{"type":"fwmark","fwmark":N}`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .address(let s):
            try c.encode("address", forKey: .type)
            try c.encode(s.address, forKey: .address)
            try c.encode(s.port, forKey: .port)
        case .range(let first, let last, let port):
            try c.encode("range", forKey: .type)
            try c.encode(first, forKey: .first)
            try c.encode(last, forKey: .last)
            try c.encode(port, forKey: .port)
        case .firewallMark(let m):
            try c.encode("fwmark", forKey: .type)
            try c.encode(m, forKey: .fwmark)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        switch try c.decode(String.self, forKey: .type) {
        case "address":
            self = .address(SocketAddress(try c.decode(IPAddress.self, forKey: .address), try c.decode(UInt16.self, forKey: .port)))
        case "range":
            self = .range(first: try c.decode(IPAddress.self, forKey: .first), last: try c.decode(IPAddress.self, forKey: .last),
                          port: try c.decode(UInt16.self, forKey: .port))
        case "fwmark":
            self = .firewallMark(try c.decode(UInt32.self, forKey: .fwmark))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown entry type \(other)")
        }
    }
}

extension Checker: Codable {
    private enum Keys: String, CodingKey { case type }

    /// The payload's fields plus `"type": "TCP_CHECK"` (or the other keepalived block names).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(kind.rawValue, forKey: .type)
        switch self {
        case .tcp(let p): try p.encode(to: encoder)
        case .http(let p), .ssl(let p): try p.encode(to: encoder)
        case .smtp(let p): try p.encode(to: encoder)
        case .misc(let p): try p.encode(to: encoder)
        case .dns(let p): try p.encode(to: encoder)
        case .udp(let p): try p.encode(to: encoder)
        case .ping(let p): try p.encode(to: encoder)
        case .file(let p): try p.encode(to: encoder)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let type = try c.decode(String.self, forKey: .type)
        guard let kind = CheckerKind(rawValue: type) else {
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown checker type \(type)")
        }
        switch kind {
        case .tcp: self = .tcp(try TCPCheck(from: decoder))
        case .http: self = .http(try HTTPCheck(from: decoder))
        case .ssl: self = .ssl(try HTTPCheck(from: decoder))
        case .smtp: self = .smtp(try SMTPCheck(from: decoder))
        case .misc: self = .misc(try MiscCheck(from: decoder))
        case .dns: self = .dns(try DNSCheck(from: decoder))
        case .udp: self = .udp(try UDPCheck(from: decoder))
        case .ping: self = .ping(try PingCheck(from: decoder))
        case .file: self = .file(try FileCheck(from: decoder))
        }
    }
}
