import Testing
import VigilSupport
@testable import VRRP

/// rtnetlink link events decoded through the shared framing.
@Suite struct RouteNetlinkTests {
    private func linkMessage(type: UInt16, index: UInt32, flags: UInt32, name: String) -> [UInt8] {
        var w = NetlinkWriter()
        w.beginMessage(type: type, flags: 0, sequence: 0)
        var info: [UInt8] = [0, 0, 1, 0]
        withUnsafeBytes(of: index) { info += $0 }
        withUnsafeBytes(of: flags) { info += $0 }
        info += [0, 0, 0, 0]
        w.appendRaw(info)
        w.attribute(RouteNetlinkConstant.iflaName, string: name)
        w.endMessage()
        return w.bytes
    }

    @Test func linkUpAndDownEventsCarryIndexAndName() {
        let upFlags = RouteNetlinkConstant.interfaceUp | RouteNetlinkConstant.interfaceRunning
        let datagram = linkMessage(type: RouteNetlinkConstant.newLink, index: 3, flags: upFlags, name: "veth-a")
            + linkMessage(type: RouteNetlinkConstant.newLink, index: 4, flags: RouteNetlinkConstant.interfaceUp, name: "veth-b")
            + linkMessage(type: RouteNetlinkConstant.deleteLink, index: 3, flags: upFlags, name: "veth-a")
        let events = LinkMonitor.linkEvents(datagram[...])
        #expect(events.map(\.index) == [3, 4, 3])
        #expect(events.map(\.name) == ["veth-a", "veth-b", "veth-a"])
        #expect(events.map(\.up) == [true, false, false])
    }

    @Test func aMalformedDatagramGivesNoEvents() {
        var datagram = linkMessage(type: RouteNetlinkConstant.newLink, index: 3, flags: 0, name: "veth-a")
        datagram[0] = 0xff
        #expect(LinkMonitor.linkEvents(datagram[...]).isEmpty)
        #expect(LinkMonitor.linkEvents([1, 2, 3][...]).isEmpty)
    }
}
