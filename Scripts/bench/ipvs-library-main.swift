// Times IPVSClient directly (no CLI): apply and list a SERVICES x DESTS table, in the same shape
// as Scripts/bench/ipvs-library.sh feeds ipvsadm. Built with -O by that script.
import IPVS
import VigilSupport

let arguments = CommandLine.arguments
let services = arguments.count > 1 ? Int(arguments[1]) ?? 1000 : 1000
let destinations = arguments.count > 2 ? Int(arguments[2]) ?? 10 : 10

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

let client = try IPVSClient()
try await client.flush()
var operations: [IPVSOperation] = []
for s in 0..<services {
    let key = ServiceKey.address(.tcp, IPAddress("192.0.2.\(s % 100 + 1)")!, UInt16(80 + s / 100))
    operations.append(.addService(Service(key: key, scheduler: "wlc")))
    for d in 0..<destinations {
        let real = IPAddress("198.51.100.\((s + d) % 250 + 1)")!
        operations.append(.addDestination(key, Destination(address: real, port: UInt16(8000 + d), forwarding: .masquerade, weight: UInt32(d % 5 + 1))))
    }
}
let clock = ContinuousClock()
let applyTime = try await clock.measure { _ = try await client.apply(operations) }
var listed: [ServiceEntry] = []
let listTime = try await clock.measure { listed = try await client.table() }
let total = listed.reduce(0) { $0 + $1.destinations.count }
print("lib_apply \(seconds(applyTime))")
print("lib_list \(seconds(listTime))")
print("lib_counts \(listed.count) \(total)")
try await client.flush()
