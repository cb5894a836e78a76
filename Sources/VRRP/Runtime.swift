#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import KeepalivedConfig
import Logging
import VigilSupport

/// Counters a user can read to see what the VRRP half has been doing.
public struct VRRPCounters: Sendable, Hashable, Codable {
    public var advertisementsSent = 0
    public var advertisementsReceived = 0
    /// Dropped packets by reason.
    public var dropped: [VRRPDropReason: Int] = [:]
    public var transitions = 0
    public var effectErrors = 0

    public init() {}
}

/// A point-in-time view of one instance, for status output and tests.
public struct VRRPInstanceStatus: Sendable, Hashable, Codable {
    public var name: String
    public var state: VRRPState
    public var effectivePriority: UInt8
    public var masterAddress: IPAddress?
    public var faults: [String]
}

/// The VRRP runtime: owns the pure ``VRRPRouterMachine`` and does its I/O.
///
/// The actor runs on its own ``VRRPEventLoop`` thread. Packets from the transport's sockets and
/// the one timer (re-armed from the machine's next deadline after every event) are handled there
/// directly; effects go through ``VRRPTransport`` and ``VRRPAddressManager``. A transport without
/// descriptors (tests) is read by threads feeding a stream instead.
public actor VRRPRuntime {
    private nonisolated let loop: VRRPEventLoop
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    private let settings: VRRPSettings
    private var router: VRRPRouterMachine
    private let transport: any VRRPTransport
    private let addresses: VRRPAddressManager
    private let logger: Logger
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private var armedDeadline: Duration?
    /// Receive sockets watched by the event loop.
    private var watched: [Int32] = []
    private var notifyChains: [String: Task<Void, Never>] = [:]
    private var garpTasks: [String: Task<Void, Never>] = [:]
    private var scriptTasks: [Task<Void, Never>] = []
    private var scriptHealthy: [String: Bool] = [:]
    private var interfaceUp: [String: Bool] = [:]
    private var stopped = false
    private var stopWaiter: CheckedContinuation<Void, Never>?
    private let stopFlag = StopFlag()
    public private(set) var counters = VRRPCounters()
    private let byInstance: [String: VRRPInstanceSettings]
    /// keepalived's AH sequence counter per `auth_type AH` instance, shared by sending and receiving.
    private var ahSequences: [String: IPsecAHSequence] = [:]
    /// IPv4 Identification of the last AH datagram per instance (never 0: the kernel would replace it).
    private var ipIdentifications: [String: UInt16] = [:]

    /// Prepares the runtime and starts its event loop thread; sockets are opened by ``run()``.
    public init(settings: VRRPSettings, transport: any VRRPTransport = RawVRRPTransport(), addresses: VRRPAddressManager,
                logger: Logger = Logger(label: "vigil.vrrp")) throws(SystemCallError) {
        self.loop = try VRRPEventLoop()
        self.settings = settings
        self.transport = transport
        self.addresses = addresses
        self.logger = logger
        self.origin = clock.now
        var machines: [VRRPInstanceMachine] = []
        var map: [String: VRRPInstanceSettings] = [:]
        for i in settings.instances {
            let primary = i.sourceAddress ?? .v4(0)  // The real source is set in run().
            machines.append(VRRPInstanceMachine(settings: i, primaryAddress: primary))
            map[i.name] = i
        }
        self.byInstance = map
        self.router = VRRPRouterMachine(machines, syncGroups: settings.syncGroups)
    }

    deinit {
        loop.stop()
    }

    private nonisolated var now: Duration { origin.duration(to: clock.now) }

    /// Current status of every instance in configuration order.
    public var status: [VRRPInstanceStatus] {
        router.order.compactMap { name in
            router.instances[name].map {
                VRRPInstanceStatus(name: name, state: $0.state, effectivePriority: $0.effectivePriority,
                                   masterAddress: $0.masterAddress, faults: $0.faults.map(\.description).sorted())
            }
        }
    }

    /// Runs until ``stop()`` is called, then releases the VIPs (sending priority 0 as master).
    public func run() async throws {
        // Stale VIPs a crashed run left behind go first, before the primary address is read.
        for i in settings.instances {
            do { try addresses.remove(i) } catch { logger.warning("\(i.name): removing stale addresses: \(error)") }
            addresses.prepare(i)
        }
        for i in settings.instances {
            let v6 = i.family == .inet6
            let source = i.sourceAddress ?? (v6 ? linkLocalIPv6Address(of: i.interface) : primaryIPv4Address(of: i.interface))
            guard let source else {
                throw VRRPRuntimeError("interface \(i.interface) has no \(v6 ? "IPv6 link-local" : "IPv4") address to send from", context: i.name)
            }
            try transport.open(instance: i, source: source, group: v6 ? VRRPConstants.multicastV6 : VRRPConstants.multicastV4)
            _ = router.apply(i.name, now: now) { m in
                m.primaryAddress = source
                return []
            }
            // Encode one advertisement now, unsent: a backup's first one is its takeover's, and
            // Swift's first run of a code path (type metadata, conformance lookups) costs time.
            if let m = router.instances[i.name] {
                let group = v6 ? VRRPConstants.multicastV6 : VRRPConstants.multicastV4
                _ = VRRPCodec.encode(m.advertisement(priority: m.effectivePriority), source: source, destination: i.unicastPeers.first ?? group)
            }
        }
        loop.setTimerHandler { [weak self] in self?.assumeIsolated { $0.fire() } }
        startReceivers()
        startLinkMonitor()
        startScripts()
        for name in router.order {
            guard let i = byInstance[name] else { continue }
            let tracked = i.trackInterfaces + (i.dontTrackPrimary ? [] : [VRRPTrackedInterface(name: i.interface)])
            for t in tracked where interfaceUp[t.name] == nil { interfaceUp[t.name] = interfaceIsUp(t.name) }
            // Weights and faults from the start (down interfaces, `init_fail` scripts) apply before the first state.
            applyTracking(i, now: now)
            perform(router.apply(name, now: now) { [now] in $0.start(now: now) })
        }
        rearm()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                if stopped { c.resume() } else { stopWaiter = c }
            }
        } onCancel: {
            Task { await self.stop() }
        }
        await shutdown()
    }

    /// Asks ``run()`` to shut down: priority 0 goes out and the VIPs are released at once.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        stopWaiter?.resume()
        stopWaiter = nil
    }

    private func shutdown() async {
        stopFlag.set()
        loop.setTimer(after: nil)
        for fd in watched { loop.unwatch(fd) }
        watched = []
        for t in scriptTasks { t.cancel() }
        for t in garpTasks.values { t.cancel() }
        for name in router.order {
            perform(router.apply(name, now: now) { [now] in $0.shutdown(now: now) })
        }
        for t in notifyChains.values { await t.value }
    }

    // MARK: Inputs

    private func startReceivers() {
        let t = transport
        var threaded: [String] = []
        for interface in transport.interfaces {
            guard let fd = transport.receiveDescriptor(interface: interface) else {
                threaded.append(interface)
                continue
            }
            loop.watch(fd) { [weak self] in
                guard let self else { return }
                // The clock is read as the packet is taken, before decoding: the Master_Down timer
                // counts from the advertisement's arrival (keepalived reads it once per wake-up).
                let arrival = self.now
                guard let p = t.receive(interface: interface) else { return }
                self.assumeIsolated { $0.handle(p, arrivedAt: arrival) }
            }
            watched.append(fd)
        }
        guard !threaded.isEmpty else { return }
        let (stream, continuation) = AsyncStream<VRRPReceivedPacket>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        for interface in threaded {
            let t = transport
            let flag = stopFlag
            let thread = Thread {
                while !flag.isSet {
                    if let p = t.receive(interface: interface) { continuation.yield(p) }
                }
            }
            thread.name = "vrrp-rx-\(interface)"
            thread.start()
        }
        Task { [weak self] in
            for await p in stream { await self?.handle(p) }
        }
    }

    private func startLinkMonitor() {
        guard let monitor = try? LinkMonitor() else {
            logger.warning("link events unavailable; interface tracking disabled")
            return
        }
        let (stream, continuation) = AsyncStream<(String, Bool)>.makeStream()
        let flag = stopFlag
        let thread = Thread {
            var names: [UInt32: String] = [:]
            while !flag.isSet {
                for e in monitor.read() {
                    if let n = e.name { names[e.index] = n }
                    if let n = e.name ?? names[e.index] { continuation.yield((n, e.up)) }
                }
            }
        }
        thread.name = "vrrp-link"
        thread.start()
        Task { [weak self] in
            for await (name, up) in stream { await self?.linkChanged(name, up: up) }
        }
    }

    private func startScripts() {
        for script in settings.scripts {
            let trackedBy = settings.instances.filter { $0.trackScripts.contains { $0.name == script.name } }
            guard !trackedBy.isEmpty else { continue }
            var arguments = splitScriptCommand(script.command)
            guard !arguments.isEmpty else { continue }
            if settings.scriptSecurity {
                do {
                    try checkScriptSecurity(path: arguments[0])
                } catch {
                    logger.error("\(error); vrrp_script \(script.name) disabled")
                    continue
                }
            }
            let user = script.user ?? settings.scriptUser
            let identity = user.flatMap { ScriptIdentity.lookup(user: $0, group: script.group ?? settings.scriptGroup) } ?? .root
            if arguments[0].hasPrefix("/") == false, let found = which(arguments[0]) { arguments[0] = found }
            let args = arguments
            scriptHealthy[script.name] = !script.initiallyFailed
            scriptTasks.append(Task { [weak self] in
                var tracker = VRRPScriptTracker(rise: script.rise, fall: script.fall, initiallyHealthy: !script.initiallyFailed)
                while !Task.isCancelled {
                    let start = ContinuousClock.now
                    // Runs never overlap: the next starts only after this one ended.
                    let status = await ScriptRunner.run(args, identity: identity, timeout: script.timeout ?? script.interval)
                    if let verdict = tracker.record(success: status == 0) {
                        await self?.scriptChanged(script.name, healthy: verdict)
                    }
                    try? await Task.sleep(until: start + script.interval, clock: .continuous)
                }
            })
        }
    }

    private func which(_ name: String) -> String? {
        for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            if access("\(dir)/\(name)", X_OK) == 0 { return "\(dir)/\(name)" }
        }
        return nil
    }

    /// One received packet: decode, filter, count, and feed the matching instance. `arrival`
    /// (time since `origin`) defaults to now.
    func handle(_ p: VRRPReceivedPacket, arrivedAt arrival: Duration? = nil) {
        guard !stopped else { return }
        let matching = settings.instances.filter { $0.interface == p.interface }
        if matching.contains(where: { transport.source(of: $0.name) == p.source }) { return }
        let adv: VRRPAdvertisement
        do {
            adv = try VRRPCodec.decode(p.payload, source: p.source, destination: p.destination, ttl: p.ttl)
        } catch {
            count(error)
            return
        }
        guard let instance = matching.first(where: { $0.virtualRouterID == adv.virtualRouterID && $0.version == adv.version })
            ?? matching.first(where: { $0.virtualRouterID == adv.virtualRouterID }) else {
            count(VRRPPacketError(.unknownVRID, "VRID \(adv.virtualRouterID) from \(p.source)"))
            return
        }
        if !instance.unicastPeers.isEmpty && !instance.unicastPeers.contains(p.source) {
            count(VRRPPacketError(.unknownVRID, "\(p.source) is not a unicast_peer of \(instance.name)"))
            return
        }
        do {
            try checkAuthenticationHeader(p, instance: instance)
            try instance.receiveFilter.check(adv)
        } catch {
            count(error)
            return
        }
        counters.advertisementsReceived += 1
        let t = arrival ?? now
        perform(router.apply(instance.name, now: t) { $0.received(adv, from: p.source, now: t) })
        rearm()
    }

    /// `auth_type AH`: the packet must have come inside an AH whose ICV, SPI and sequence number verify.
    private func checkAuthenticationHeader(_ p: VRRPReceivedPacket, instance: VRRPInstanceSettings) throws(VRRPPacketError) {
        guard instance.version == .v2, let key = instance.authentication.authenticationHeaderKey else {
            if p.authenticatedDatagram != nil {
                throw VRRPPacketError(.authTypeMismatch, "IPsec AH from \(p.source) but \(instance.name) is not auth_type AH")
            }
            return
        }
        guard let datagram = p.authenticatedDatagram else {
            throw VRRPPacketError(.authTypeMismatch, "no IPsec AH from \(p.source) but \(instance.name) is auth_type AH")
        }
        let opened = try IPsecAH.open(datagram, key: key, unicast: !instance.unicastPeers.isEmpty)
        guard ahSequences[instance.name, default: IPsecAHSequence()].accept(opened.sequence) else {
            let last = ahSequences[instance.name]?.value ?? 0
            throw VRRPPacketError(.replayedSequence, "AH sequence \(opened.sequence) from \(p.source) is not above \(last)")
        }
    }

    private func count(_ error: VRRPPacketError) {
        counters.dropped[error.reason, default: 0] += 1
        logger.debug("\(error)")
    }

    func linkChanged(_ name: String, up: Bool) {
        guard !stopped, interfaceUp[name] != up else { return }
        interfaceUp[name] = up
        let t = now
        for i in settings.instances {
            let tracked = i.trackInterfaces + (i.dontTrackPrimary ? [] : [VRRPTrackedInterface(name: i.interface)])
            guard tracked.contains(where: { $0.name == name }) else { continue }
            logger.info("\(i.name): interface \(name) is \(up ? "up" : "down")")
            applyTracking(i, now: t)
        }
        rearm()
    }

    func scriptChanged(_ name: String, healthy: Bool) {
        guard !stopped else { return }
        scriptHealthy[name] = healthy
        logger.info("vrrp_script \(name) is now \(healthy ? "succeeding" : "failing")")
        let t = now
        for i in settings.instances where i.trackScripts.contains(where: { $0.name == name }) {
            applyTracking(i, now: t)
        }
        rearm()
    }

    /// Recomputes an instance's weight sum and fault causes from every tracked object.
    private func applyTracking(_ i: VRRPInstanceSettings, now t: Duration) {
        var adjustment = 0
        var faults: [(VRRPFaultCause, Bool)] = []
        for s in i.trackScripts {
            let r = trackingAdjustment(weight: s.weight, reverse: s.reverse, healthy: scriptHealthy[s.name] ?? true)
            adjustment += r.adjustment
            faults.append((.script(s.name), r.fault))
        }
        let tracked = i.trackInterfaces + (i.dontTrackPrimary ? [] : [VRRPTrackedInterface(name: i.interface)])
        for iface in tracked {
            let r = trackingAdjustment(weight: iface.weight, reverse: iface.reverse, healthy: interfaceUp[iface.name] ?? true)
            adjustment += r.adjustment
            faults.append((.interface(iface.name), r.fault))
        }
        perform(router.apply(i.name, now: t) { $0.setPriorityAdjustment(adjustment, now: t) })
        for (cause, active) in faults {
            perform(router.apply(i.name, now: t) { $0.setFault(cause, active, now: t) })
        }
    }

    // MARK: Timers

    /// Arms the event loop's timer for the earliest deadline of all instances.
    private func rearm() {
        guard !stopped else { return }
        let next = router.nextDeadline
        guard next != armedDeadline else { return }
        armedDeadline = next
        loop.setTimer(after: next.map { clock.now.duration(to: origin + $0) })
    }

    private func fire() {
        armedDeadline = nil
        guard !stopped else { return }
        perform(router.timersFired(now: now))
        rearm()
    }

    // MARK: Effects

    private func perform(_ actions: [(instance: String, action: VRRPAction)]) {
        // Network effects first (advert, VIPs, GARP), then the transition's log line and notify
        // scripts: a new master announces itself without waiting on logging or process start-up,
        // and notify_master scripts run with the VIP already in place, as in keepalived.
        let ordered = actions.filter { if case .transition = $0.action { false } else { true } }
            + actions.filter { if case .transition = $0.action { true } else { false } }
        for (name, action) in ordered {
            guard let i = byInstance[name], let m = router.instances[name] else { continue }
            do {
                switch action {
                case .sendAdvertisement(let priority):
                    let adv = m.advertisement(priority: priority)
                    let source = transport.source(of: name) ?? m.primaryAddress
                    let group = i.family == .inet6 ? VRRPConstants.multicastV6 : VRRPConstants.multicastV4
                    let destinations = i.unicastPeers.isEmpty ? [group] : i.unicastPeers
                    // AH: one sequence number and IP ID per advertisement, whatever the number of peers (as keepalived).
                    var ah: (key: [UInt8], sequence: UInt32, id: UInt16)?
                    if i.version == .v2, source.family == .inet, let key = adv.authentication.authenticationHeaderKey {
                        let id = ipIdentifications[name, default: 0] &+ 1
                        ipIdentifications[name] = id == 0 ? 1 : id
                        ah = (key, ahSequences[name, default: IPsecAHSequence()].next(), id == 0 ? 1 : id)
                    }
                    for d in destinations {
                        var payload = VRRPCodec.encode(adv, source: source, destination: d)
                        if let ah {
                            payload = IPsecAH.seal(payload, source: source, destination: d, identification: ah.id, sequence: ah.sequence,
                                                   key: ah.key, unicast: !i.unicastPeers.isEmpty)
                        }
                        try transport.send(payload, instance: name, to: d)
                        counters.advertisementsSent += 1
                    }
                case .addVirtualAddresses:
                    try addresses.add(i)
                case .removeVirtualAddresses:
                    garpTasks[name]?.cancel()
                    try addresses.remove(i)
                case .announce:
                    try addresses.announce(i, count: i.gratuitous.masterRepeat)
                    scheduleGratuitous(i)
                case .transition(let from, let to, let priority):
                    counters.transitions += 1
                    logger.notice("VRRP_Instance(\(name)) \(from) -> \(to) (priority \(priority))")
                    notify(i.notify, group: false, name: name, state: to, priority: priority)
                    if let g = router.syncGroup(of: name), let gs = settings.syncGroups.first(where: { $0.name == g.name }),
                       !gs.notify.isEmpty, g.members.allSatisfy({ router.instances[$0]?.state == to }) {
                        notify(gs.notify, group: true, name: g.name, state: to, priority: 0)
                    }
                }
            } catch {
                counters.effectErrors += 1
                logger.error("VRRP_Instance(\(name)) \(action): \(error)")
            }
        }
    }

    /// The delayed second burst (`garp_master_delay`) and periodic refresh (`garp_master_refresh`).
    private func scheduleGratuitous(_ i: VRRPInstanceSettings) {
        garpTasks[i.name]?.cancel()
        let g = i.gratuitous
        let a = addresses
        let name = i.name
        garpTasks[name] = Task { [weak self] in
            if g.masterDelay > .zero {
                try? await Task.sleep(for: g.masterDelay)
                guard !Task.isCancelled, await self?.isMaster(name) == true else { return }
                try? a.announce(i, count: g.masterRepeat)
            }
            guard let refresh = g.masterRefresh, refresh > .zero else { return }
            while !Task.isCancelled {
                try? await Task.sleep(for: refresh)
                guard !Task.isCancelled, await self?.isMaster(name) == true else { return }
                try? a.announce(i, count: g.refreshRepeat)
            }
        }
    }

    private func isMaster(_ name: String) -> Bool { router.instances[name]?.state == .master }

    /// Runs notify scripts asynchronously, in order per instance (each waits for the previous one).
    private func notify(_ scripts: VRRPNotifyScripts, group: Bool, name: String, state: VRRPState, priority: UInt8) {
        var commands: [[String]] = []
        let specific: String? = switch state {
        case .master: scripts.master
        case .backup: scripts.backup
        case .fault: scripts.fault
        case .stopped: scripts.stop
        case .initialize: nil
        }
        if let s = specific { commands.append(splitScriptCommand(s)) }
        if let s = scripts.generic {
            commands.append(splitScriptCommand(s) + genericNotifyArguments(group: group, name: name, state: state, priority: priority))
        }
        commands = commands.filter { !$0.isEmpty }
        guard !commands.isEmpty else { return }
        if settings.scriptSecurity {
            commands = commands.filter { c in
                do {
                    try checkScriptSecurity(path: c[0])
                    return true
                } catch {
                    logger.error("\(error)")
                    return false
                }
            }
        }
        let identity = settings.scriptUser.flatMap { ScriptIdentity.lookup(user: $0, group: settings.scriptGroup) } ?? .root
        let key = (group ? "group:" : "instance:") + name
        let previous = notifyChains[key]
        notifyChains[key] = Task {
            await previous?.value
            for c in commands { _ = await ScriptRunner.run(c, identity: identity, timeout: .seconds(30)) }
        }
    }
}

/// A flag the receive threads poll to know when to stop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLockLike()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
