import Testing
import VigilSupport

@Suite struct IPAddressTests {
    @Test func parsesAndPrintsBothFamilies() {
        #expect(IPAddress("192.0.2.10")?.description == "192.0.2.10")
        #expect(IPAddress("2001:0db8:0:0:0:0:0:1")?.description == "2001:db8::1")
        #expect(IPAddress("192.0.2.256") == nil)
        #expect(IPAddress("1.2.3") == nil)
        #expect(IPAddress("not an address") == nil)
    }

    @Test func bytesRoundTrip() {
        let v6 = IPAddress("2001:db8::ff")!
        #expect(IPAddress(bytes: v6.bytes) == v6)
        #expect(IPAddress("192.0.2.1")!.paddedBytes == [192, 0, 2, 1] + [UInt8](repeating: 0, count: 12))
    }

    @Test func rangesAddOffsets() {
        #expect(IPAddress("192.0.2.250")!.adding(5)?.description == "192.0.2.255")
        #expect(IPAddress("255.255.255.255")!.adding(1) == nil)
        #expect(SocketAddress(IPAddress("2001:db8::1")!, 80).description == "[2001:db8::1]:80")
    }
}
