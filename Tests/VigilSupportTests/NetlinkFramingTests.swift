import Testing
import VigilSupport

/// The shared netlink framing: what generic netlink (IPVS) and rtnetlink (VRRP) put on the socket.
@Suite struct NetlinkFramingTests {
    /// An `RTM_NEWADDR`-shaped message: header, a 8-byte fixed part, then attributes.
    private func routeStyleMessage(sequence: UInt32) -> [UInt8] {
        var w = NetlinkWriter()
        w.beginMessage(type: 20, flags: Netlink.flagRequest | Netlink.flagAck | Netlink.flagCreate, sequence: sequence)
        w.appendRaw([2, 24, 0, 0, 7, 0, 0, 0])
        w.attribute(2, bytes: [192, 0, 2, 10])
        w.attribute(3, string: "eth0:vip")
        w.attribute(4, UInt8(9))
        w.endMessage()
        return w.bytes
    }

    @Test func messagesRoundTripWithLengthsAndAlignment() throws {
        var bytes = routeStyleMessage(sequence: 41)
        bytes += routeStyleMessage(sequence: 42)
        #expect(bytes.count % 4 == 0)
        let messages = try NetlinkMessage.parse(bytes[...])
        #expect(messages.map(\.sequence) == [41, 42])
        let m = messages[0]
        #expect(m.type == 20)
        #expect(m.flags == Netlink.flagRequest | Netlink.flagAck | Netlink.flagCreate)
        #expect(Array(m.payload.prefix(8)) == [2, 24, 0, 0, 7, 0, 0, 0])
        let attributes = try NetlinkAttributes(m.payload.dropFirst(8))
        #expect(attributes.types == [2, 3, 4])
        #expect(Array(attributes[2] ?? []) == [192, 0, 2, 10])
        #expect(attributes.string(3) == "eth0:vip")
        #expect(try attributes.integer(4, as: UInt8.self) == 9)
    }

    @Test func genericHeaderAndNestedAttributesRoundTrip() throws {
        var w = NetlinkWriter()
        w.beginMessage(type: 0x20, flags: Netlink.flagRequest | Netlink.flagDump, sequence: 7, command: 5, version: 1)
        w.beginNested(1)
        w.attribute(2, UInt32(0xdead_beef))
        w.attribute(3, bigEndian: UInt16(80))
        w.endNested()
        w.endMessage()
        let m = try #require(try NetlinkMessage.parse(w.bytes[...]).first)
        let (command, top) = try m.genericPayload()
        #expect(command == 5)
        let nest = try #require(try top.nested(1))
        #expect(try nest.integer(2, as: UInt32.self) == 0xdead_beef)
        #expect(try nest.bigEndian(3, as: UInt16.self) == 80)
        #expect(try nest.integer(9, as: UInt32.self) == nil)
    }

    @Test func errorAndAcknowledgementPayloads() throws {
        func errorMessage(_ code: Int32) -> [UInt8] {
            var w = NetlinkWriter()
            w.beginMessage(type: Netlink.messageError, flags: Netlink.flagCapped, sequence: 3)
            var payload: [UInt8] = []
            withUnsafeBytes(of: code) { payload += $0 }
            payload += routeStyleMessage(sequence: 3).prefix(16)
            w.appendRaw(payload)
            w.endMessage()
            return w.bytes
        }
        let ack = try #require(try NetlinkMessage.parse(errorMessage(0)[...]).first)
        #expect(ack.type == Netlink.messageError)
        #expect(try ack.errorPayload().code == 0)
        let refused = try #require(try NetlinkMessage.parse(errorMessage(-17)[...]).first)
        #expect(try refused.errorPayload().code == -17)
    }

    @Test func truncatedOrHostileInputIsATypedError() throws {
        let good = routeStyleMessage(sequence: 1)
        // Every truncation of a valid message: a typed error or fewer messages, never a crash.
        for cut in 0..<good.count {
            let slice = good[..<cut]
            do {
                let messages = try NetlinkMessage.parse(slice)
                #expect(messages.isEmpty)
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
        // A header claiming more bytes than were received.
        var long = good
        long[0] = 0xff
        long[1] = 0xff
        #expect(throws: NetlinkDecodeError.self) { try NetlinkMessage.parse(long[...]) }
        // A header claiming fewer bytes than a header.
        var short = good
        short[0] = 4
        short[1] = 0
        #expect(throws: NetlinkDecodeError.self) { try NetlinkMessage.parse(short[...]) }
        // An attribute longer than what is left, and one shorter than its own header.
        #expect(throws: NetlinkDecodeError.self) { try NetlinkAttributes([200, 0, 1, 0, 9, 9][...]) }
        #expect(throws: NetlinkDecodeError.self) { try NetlinkAttributes([2, 0, 1, 0][...]) }
        // An integer attribute of the wrong size.
        let odd = try NetlinkAttributes([6, 0, 1, 0, 1, 2, 0, 0][...])
        #expect(throws: NetlinkDecodeError.self) { try odd.integer(1, as: UInt32.self) }
        // An error message without its code.
        let bare = NetlinkMessage(type: Netlink.messageError, flags: 0, sequence: 0, portID: 0, payload: [1, 2][...])
        #expect(throws: NetlinkDecodeError.self) { try bare.errorPayload() }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0..<96, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if let messages = try? NetlinkMessage.parse(bytes[...]) {
                for m in messages {
                    _ = try? m.errorPayload()
                    if let (_, attributes) = try? m.genericPayload() {
                        for t in attributes.types { _ = try? attributes.nested(t); _ = try? attributes.counter(t) }
                    }
                }
            }
        }
    }
}
