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

/// One instance's own counters and last transition, for status and metrics (keepalived's
/// per-instance statistics, `SIGUSR2`).
public struct VRRPInstanceActivity: Sendable, Hashable, Codable {
    /// A state change: when (wall clock), between which states, and why.
    public struct Transition: Sendable, Hashable, Codable {
        public var from: VRRPState
        public var to: VRRPState
        public var at: Date
        public var reason: String
    }

    public var advertisementsSent = 0
    public var advertisementsReceived = 0
    public var priorityZeroSent = 0
    public var priorityZeroReceived = 0
    public var becameMaster = 0
    public var releasedMaster = 0
    /// Packets that reached this instance (its VRID on its interface) and were dropped, by reason.
    public var dropped: [VRRPDropReason: Int] = [:]
    public var transitions = 0
    public var lastTransition: Transition?

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
    /// ``VRRPEventLoop/bootTime`` at start: the state machine's times are offsets from it.
    private let origin: Duration
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
    /// Per instance name: its own counters and last transition.
    public private(set) var activity: [String: VRRPInstanceActivity] = [:]
    /// Each tracked `vrrp_script` by name: succeeding?
    public var trackedScripts: [String: Bool] { scriptHealthy }
    /// Each tracked (or primary) interface by name: up?
    public var trackedInterfaces: [String: Bool] { interfaceUp }
    /// Per instance (index of ``VRRPRouterMachine/machines``): its encoded advertisement for the
    /// last priority sent, one payload per destination, so a steady master only re-sends bytes.
    private var advertisementCache: [CachedAdvertisement?]
    /// The actions of the event being handled; kept to reuse its storage.
    private var actionBuffer: [VRRPIndexedAction] = []
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
        self.origin = VRRPEventLoop.bootTime
        var machines: [VRRPInstanceMachine] = []
        for i in settings.instances {
            let primary = i.sourceAddress ?? .v4(0)  // The real source is set in run().
            machines.append(VRRPInstanceMachine(settings: i, primaryAddress: primary))
        }
        self.advertisementCache = Array(repeating: nil, count: machines.count)
        self.router = VRRPRouterMachine(machines, syncGroups: settings.syncGroups)
    }

    deinit {
        loop.stop()
    }

    private nonisolated var now: Duration { VRRPEventLoop.bootTime - origin }

    /// When `p` arrived, on the state machine's clock: its kernel receive time (a wall-clock time,
    /// turned into an age) unless that is missing or implausible (the wall clock was stepped).
    private nonisolated func arrival(of p: VRRPReceivedPacket, readAt: Duration) -> Duration {
        guard let stamp = p.kernelTimestamp else { return readAt }
        let current = now
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        let age = .seconds(wall.tv_sec) + .nanoseconds(wall.tv_nsec) - stamp
        guard age >= .zero, age < .seconds(1) else { return readAt }
        return current - age
    }

    /// Current status of every instance in configuration order.
    public var status: [VRRPInstanceStatus] {
        router.machines.map {
            VRRPInstanceStatus(name: $0.settings.name, state: $0.state, effectivePriority: $0.effectivePriority,
                               masterAddress: $0.masterAddress, faults: $0.faults.map(\.description).sorted())
        }
    }

    /// Runs until ``stop()`` is called, then releases the VIPs (sending priority 0 as master).
    public func run() async throws {
        // Stale VIPs a crashed run left behind go first, before the primary address is read.
        for i in settings.instances {
            do { try addresses.remove(i) } catch { logger.warning("\(i.name): removing stale addresses: \(error)") }
            addresses.prepare(i)
        }
        for (n, i) in settings.instances.enumerated() {
            let v6 = i.family == .inet6
            let source = i.sourceAddress ?? (v6 ? linkLocalIPv6Address(of: i.interface) : primaryIPv4Address(of: i.interface))
            guard let source else {
                throw VRRPRuntimeError("interface \(i.interface) has no \(v6 ? "IPv6 link-local" : "IPv4") address to send from", context: i.name)
            }
            try transport.open(instance: i, source: source, group: v6 ? VRRPConstants.multicastV6 : VRRPConstants.multicastV4)
            var ignored: [VRRPIndexedAction] = []
            router.apply(at: n, now: now, into: &ignored) { m in
                m.primaryAddress = source
                return []
            }
            // Encode the advertisement now, unsent: a backup's first one is its takeover's, and
            // Swift's first run of a code path (type metadata, conformance lookups) costs time.
            _ = encodedAdvertisement(n, priority: router.machines[n].effectivePriority)
        }
        loop.setTimerHandler { [weak self] in self?.onLoop { $0.fire() } }
        startReceivers()
        startLinkMonitor()
        startScripts()
        for (n, i) in settings.instances.enumerated() {
            let tracked = i.trackInterfaces + (i.dontTrackPrimary ? [] : [VRRPTrackedInterface(name: i.interface)])
            for t in tracked where interfaceUp[t.name] == nil { interfaceUp[t.name] = interfaceIsUp(t.name) }
            // Weights and faults from the start (down interfaces, `init_fail` scripts) apply before the first state.
            applyTracking(n, now: now)
            let t = now
            apply(n, now: t) { $0.start(now: t) }
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
        loop.setTimer(at: nil)
        for fd in watched { loop.unwatch(fd) }
        watched = []
        for t in scriptTasks { t.cancel() }
        for t in garpTasks.values { t.cancel() }
        for n in router.machines.indices {
            let t = now
            apply(n, now: t) { $0.shutdown(now: t) }
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
                // The Master_Down timer counts from the advertisement's arrival: the kernel's
                // receive time when the socket gives it, else the time the loop got to the socket
                // (keepalived reads the clock once per wake-up).
                let readAt = self.now
                guard let p = t.receive(interface: interface) else { return }
                let arrival = self.arrival(of: p, readAt: readAt)
                self.onLoop { $0.handle(p, arrivedAt: arrival) }
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
        let instances = settings.instances
        if instances.contains(where: { $0.interface == p.interface && transport.source(of: $0.name) == p.source }) { return }
        let adv: VRRPAdvertisement
        do {
            adv = try VRRPCodec.decode(p.payload, source: p.source, destination: p.destination, ttl: p.ttl)
        } catch {
            count(error)
            return
        }
        let sameVRID = { (i: VRRPInstanceSettings) in i.interface == p.interface && i.virtualRouterID == adv.virtualRouterID }
        guard let n = instances.firstIndex(where: { sameVRID($0) && $0.version == adv.version }) ?? instances.firstIndex(where: sameVRID) else {
            count(VRRPPacketError(.unknownVRID, "VRID \(adv.virtualRouterID) from \(p.source)"))
            return
        }
        let instance = instances[n]
        if !instance.unicastPeers.isEmpty && !instance.unicastPeers.contains(p.source) {
            count(VRRPPacketError(.unknownVRID, "\(p.source) is not a unicast_peer of \(instance.name)"))
            return
        }
        do {
            try checkAuthenticationHeader(p, instance: instance)
            try instance.receiveFilter.check(adv)
        } catch {
            count(error)
            activity[instance.name, default: VRRPInstanceActivity()].dropped[error.reason, default: 0] += 1
            return
        }
        counters.advertisementsReceived += 1
        activity[instance.name, default: VRRPInstanceActivity()].advertisementsReceived += 1
        if adv.priority == 0 { activity[instance.name, default: VRRPInstanceActivity()].priorityZeroReceived += 1 }
        let t = arrival ?? now
        apply(n, now: t) { $0.received(adv, from: p.source, now: t) }
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
        for (n, i) in settings.instances.enumerated() {
            let tracked = i.trackInterfaces + (i.dontTrackPrimary ? [] : [VRRPTrackedInterface(name: i.interface)])
            guard tracked.contains(where: { $0.name == name }) else { continue }
            logger.info("\(i.name): interface \(name) is \(up ? "up" : "down")")
            applyTracking(n, now: t)
        }
        rearm()
    }

    func scriptChanged(_ name: String, healthy: Bool) {
        guard !stopped else { return }
        scriptHealthy[name] = healthy
        logger.info("vrrp_script \(name) is now \(healthy ? "succeeding" : "failing")")
        let t = now
        for (n, i) in settings.instances.enumerated() where i.trackScripts.contains(where: { $0.name == name }) {
            applyTracking(n, now: t)
        }
        rearm()
    }

    /// Recomputes an instance's weight sum and fault causes from every tracked object.
    private func applyTracking(_ n: Int, now t: Duration) {
        let i = settings.instances[n]
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
        apply(n, now: t) { $0.setPriorityAdjustment(adjustment, now: t) }
        for (cause, active) in faults {
            apply(n, now: t) { $0.setFault(cause, active, now: t) }
        }
    }

    // MARK: Timers

    /// Arms the event loop's timer for the earliest deadline of all instances.
    private func rearm() {
        guard !stopped else { return }
        let next = router.nextDeadline
        guard next != armedDeadline else { return }
        armedDeadline = next
        loop.setTimer(at: next.map { origin + $0 })
    }

    private func fire() {
        armedDeadline = nil
        guard !stopped else { return }
        let t = now
        performActions { router.timersFired(now: t, into: &$0) }
        rearm()
    }

    // MARK: Effects

    /// Applies `event` to the instance at `index` (and its sync group) and performs the actions.
    private func apply(_ index: Int, now t: Duration, _ event: (inout VRRPInstanceMachine) -> [VRRPAction]) {
        performActions { router.apply(at: index, now: t, into: &$0, event) }
    }

    /// Performs the actions `fill` appends, in the reused ``actionBuffer``.
    private func performActions(_ fill: (inout [VRRPIndexedAction]) -> Void) {
        var actions = actionBuffer
        actionBuffer = []
        fill(&actions)
        perform(actions)
        actions.removeAll(keepingCapacity: true)
        actionBuffer = actions
    }

    private func perform(_ actions: [VRRPIndexedAction]) {
        // Network effects first (advert, VIPs, GARP), then the transition's log line and notify
        // scripts: a new master announces itself without waiting on logging or process start-up,
        // and notify_master scripts run with the VIP already in place, as in keepalived.
        for a in actions {
            if case .transition = a.action { continue }
            perform(a)
        }
        for a in actions {
            if case .transition = a.action { perform(a) }
        }
    }

    private func perform(_ a: VRRPIndexedAction) {
        let n = a.index
        let name = router.order[n]
        do {
            switch a.action {
            case .sendAdvertisement(let priority):
                try sendAdvertisement(n, priority: priority)
            case .addVirtualAddresses:
                try addresses.add(settings.instances[n])
            case .removeVirtualAddresses:
                garpTasks[name]?.cancel()
                try addresses.remove(settings.instances[n])
            case .announce:
                let i = settings.instances[n]
                try addresses.announce(i, count: i.gratuitous.masterRepeat)
                scheduleGratuitous(i)
            case .transition(let from, let to, let priority):
                counters.transitions += 1
                recordTransition(name, from: from, to: to, faults: router.machines[n].faults.map(\.description).sorted())
                logger.notice("VRRP_Instance(\(name)) \(from) -> \(to) (priority \(priority))")
                notify(settings.instances[n].notify, group: false, name: name, state: to, priority: priority)
                if let g = router.syncGroup(at: n), let gs = settings.syncGroups.first(where: { $0.name == g.name }),
                   !gs.notify.isEmpty, g.members.allSatisfy({ router[$0]?.state == to }) {
                    notify(gs.notify, group: true, name: g.name, state: to, priority: 0)
                }
            }
        } catch {
            counters.effectErrors += 1
            logger.error("VRRP_Instance(\(name)) \(a.action): \(error)")
        }
    }

    /// Counts a transition of instance `name` and keeps it, with its likeliest cause, as the last.
    private func recordTransition(_ name: String, from: VRRPState, to: VRRPState, faults: [String]) {
        var a = activity[name, default: VRRPInstanceActivity()]
        a.transitions += 1
        if to == .master { a.becameMaster += 1 }
        if from == .master { a.releasedMaster += 1 }
        let reason: String = switch (from, to) {
        case (_, .fault): "fault: " + faults.joined(separator: ", ")
        case (.fault, _): "fault cleared"
        case (.initialize, _): "started"
        case (_, .stopped): "shutting down"
        case (.backup, .master): "no advertisement from a higher priority within the master down interval"
        case (.master, .backup): "advertisement with a higher priority received"
        default: "\(from) to \(to)"
        }
        a.lastTransition = .init(from: from, to: to, at: Date(), reason: reason)
        activity[name] = a
    }

    /// Sends the advertisement of the instance at `index` with `priority` to each destination.
    /// `auth_type AH` seals it with the next sequence number and IP ID, one per advertisement
    /// whatever the number of peers (as keepalived).
    private func sendAdvertisement(_ n: Int, priority: UInt8) throws {
        let name = router.order[n]
        let encoded = encodedAdvertisement(n, priority: priority)
        var seal: (sequence: UInt32, id: UInt16)?
        if encoded.sealKey != nil {
            let id = ipIdentifications[name, default: 0] &+ 1
            ipIdentifications[name] = id == 0 ? 1 : id
            seal = (ahSequences[name, default: IPsecAHSequence()].next(), id == 0 ? 1 : id)
        }
        for (destination, payload) in encoded.packets {
            var bytes = payload
            if let key = encoded.sealKey, let seal {
                bytes = IPsecAH.seal(payload, source: encoded.source, destination: destination, identification: seal.id,
                                     sequence: seal.sequence, key: key, unicast: encoded.unicast)
            }
            try transport.send(bytes, instance: name, to: destination)
            counters.advertisementsSent += 1
            activity[name, default: VRRPInstanceActivity()].advertisementsSent += 1
            if priority == 0 { activity[name, default: VRRPInstanceActivity()].priorityZeroSent += 1 }
        }
    }

    /// The advertisement of the instance at `index` with `priority`, encoded for each destination
    /// (the group, or every unicast peer); kept and reused while the priority is the same.
    private func encodedAdvertisement(_ n: Int, priority: UInt8) -> CachedAdvertisement {
        if let c = advertisementCache[n], c.priority == priority { return c }
        let i = settings.instances[n]
        let adv = router.machines[n].advertisement(priority: priority)
        let source = transport.source(of: i.name) ?? router.machines[n].primaryAddress
        let group = i.family == .inet6 ? VRRPConstants.multicastV6 : VRRPConstants.multicastV4
        let destinations = i.unicastPeers.isEmpty ? [group] : i.unicastPeers
        let sealKey = i.version == .v2 && source.family == .inet ? adv.authentication.authenticationHeaderKey : nil
        let c = CachedAdvertisement(
            priority: priority, source: source, sealKey: sealKey, unicast: !i.unicastPeers.isEmpty,
            packets: destinations.map { (destination: $0, payload: VRRPCodec.encode(adv, source: source, destination: $0)) })
        advertisementCache[n] = c
        return c
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

    private func isMaster(_ name: String) -> Bool { router[name]?.state == .master }

    /// Runs `body` isolated to the runtime from the event loop's thread (timer and socket handlers).
    ///
    /// The loop thread is the actor's executor and runs handlers only between its jobs, so this is
    /// `assumeIsolated` with the check made by comparing threads, without the Swift runtime's
    /// executor lookup: that lookup alone was about 5% of a master's CPU time.
    private nonisolated func onLoop<T>(_ body: (isolated VRRPRuntime) -> T) -> T {
        precondition(loop.isLoopThread, "VRRP runtime entered off its event loop thread")
        return withoutActuallyEscaping(body) { escapable in
            unsafeBitCast(escapable, to: ((VRRPRuntime) -> T).self)(self)
        }
    }

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

/// An instance's encoded advertisement for one priority, per destination.
private struct CachedAdvertisement {
    var priority: UInt8
    var source: IPAddress
    /// `auth_type AH`: the key each send seals the packets with.
    var sealKey: [UInt8]?
    var unicast: Bool
    var packets: [(destination: IPAddress, payload: [UInt8])]
}

/// A flag the receive threads poll to know when to stop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLockLike()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
