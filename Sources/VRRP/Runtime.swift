#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import KeepalivedConfig
import Logging
import Synchronization
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
    /// The settings running: replaced whole by ``reload(_:)``. Per-instance settings are read from
    /// the router's machines, which a reload updates in place.
    private var settings: VRRPSettings
    private var router: VRRPRouterMachine
    private let transport: any VRRPTransport
    private let addresses: VRRPAddressManager
    private let logger: Logger
    /// ``VRRPEventLoop/bootTime`` at start: the state machine's times are offsets from it.
    private let origin: Duration
    private var armedDeadline: Duration?
    /// Receive sockets watched by the event loop, by transport interface key.
    private var watched: [String: Int32] = [:]
    /// Transport interfaces read by threads (a transport without descriptors).
    private var threadedInterfaces: Set<String> = []
    private var threadedPackets: AsyncStream<VRRPReceivedPacket>.Continuation?
    private var notifyChains: [String: Task<Void, Never>] = [:]
    /// Where notify FIFO lines go (``vrrpFIFOLine(group:name:state:priority:)``); nil writes none.
    private let fifoLines: (@Sendable (String) -> Void)?
    /// Shutting down: sync groups' STOP lines wait until every instance has written its own.
    private var stopping = false
    private var garpTasks: [String: Task<Void, Never>] = [:]
    /// The pending second set of announcements after a lower-priority advertisement, by instance.
    private var lowerPriorityTasks: [String: Task<Void, Never>] = [:]
    /// Running `vrrp_script`s by name.
    private var scriptTasks: [String: Task<Void, Never>] = [:]
    /// Bumped when a script stops, so a run still finishing cannot report to its successor.
    private var scriptGenerations: [String: Int] = [:]
    private var scriptHealthy: [String: Bool] = [:]
    private var interfaceUp: [String: Bool] = [:]
    /// The number each tracked file (by path) held when last read.
    private var fileValues: [String: Int64] = [:]
    private var fileWatcher: FileWatcher?
    /// ``run()`` has opened the sockets and started the instances.
    private var started = false
    private var stopped = false
    private var stopWaiter: CheckedContinuation<Void, Never>?
    private let stopFlag = StopFlag()
    public private(set) var counters = VRRPCounters()
    /// Per instance name: its own counters and last transition.
    public private(set) var activity: [String: VRRPInstanceActivity] = [:]

    /// keepalived's STATS_CLEAR: the per-instance counters back to 0 (transitions and the last
    /// transition are kept).
    public func clearStatistics() {
        for name in activity.keys {
            let kept = activity[name]!
            var fresh = VRRPInstanceActivity()
            fresh.transitions = kept.transitions
            fresh.lastTransition = kept.lastTransition
            activity[name] = fresh
        }
    }
    /// Each tracked `vrrp_script` by name: succeeding?
    public var trackedScripts: [String: Bool] { scriptHealthy }
    /// Each tracked (or primary) interface by name: up?
    public var trackedInterfaces: [String: Bool] { interfaceUp }
    /// Each tracked file by path: the number it held when last read.
    public var trackedFiles: [String: Int64] { fileValues }
    /// Per instance (index of ``VRRPRouterMachine/machines``, carried over by name on reload): its
    /// encoded advertisement for the last priority sent, one payload per destination, so a steady
    /// master only re-sends bytes.
    private var advertisementCache: [CachedAdvertisement?]
    /// The actions of the event being handled; kept to reuse its storage.
    private var actionBuffer: [VRRPIndexedAction] = []
    /// keepalived's AH sequence counter per `auth_type AH` instance, shared by sending and receiving.
    private var ahSequences: [String: IPsecAHSequence] = [:]
    /// IPv4 Identification of the last AH datagram per instance (never 0: the kernel would replace it).
    private var ipIdentifications: [String: UInt16] = [:]

    /// Prepares the runtime and starts its event loop thread; sockets are opened by ``run()``.
    ///
    /// `fifoLines` receives each state line for the notify FIFOs, on the runtime's thread, in order.
    public init(settings: VRRPSettings, transport: any VRRPTransport = RawVRRPTransport(), addresses: VRRPAddressManager,
                logger: Logger = Logger(label: "vigil.vrrp"), fifoLines: (@Sendable (String) -> Void)? = nil) throws(SystemCallError) {
        self.fifoLines = fifoLines
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
        for n in router.machines.indices { try openInstance(n) }
        loop.setTimerHandler { [weak self] in self?.onLoop { $0.fire() } }
        startReceivers()
        startLinkMonitor()
        startFileTracking()
        startScripts(settings.scripts.map(\.name))
        for n in router.machines.indices { startInstance(n) }
        started = true
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

    /// Opens the sockets of the instance at `index` and learns its source address.
    private func openInstance(_ n: Int) throws {
        let i = router.machines[n].settings
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

    /// Start-up event of the instance at `index`, with its tracked objects' weights and faults applied first.
    private func startInstance(_ n: Int) {
        for t in trackedInterfaces(router.machines[n].settings) where interfaceUp[t.name] == nil {
            interfaceUp[t.name] = interfaceIsUp(t.name)
        }
        // Weights and faults from the start (down interfaces, `init_fail` scripts) apply before the first state.
        applyTracking(n, now: now)
        let t = now
        apply(n, now: t) { $0.start(now: t) }
    }

    /// A `vigil ctl vrrp` request naming an instance this process does not run.
    public struct ControlError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// What an operator may ask of an instance at run time.
    public enum OperatorRequest: Sendable, Hashable {
        /// Run with this priority in place of the configured one; nil returns to the configured.
        case priority(UInt8?)
        /// Give mastership up cleanly (priority 0 once, then priority 1) before maintenance.
        case backup
    }

    /// Applies an operator's request to the instance named `instance`; returns the line logged.
    /// Changes nothing when no instance has that name.
    @discardableResult
    public func control(_ instance: String, _ request: OperatorRequest) throws(ControlError) -> String {
        guard let n = router.index(of: instance) else {
            let names = router.order.joined(separator: ", ")
            throw ControlError(description: "VRRP instance \(instance) not found (instances: \(names.isEmpty ? "none" : names))")
        }
        let t = now
        let line: String
        switch request {
        case .priority(let p?):
            apply(n, now: t) { $0.setPriorityOverride(p, now: t) }
            line = "VRRP_Instance(\(instance)) priority set to \(p) by vigil ctl (effective \(router.machines[n].effectivePriority))"
        case .priority(nil):
            apply(n, now: t) { $0.setPriorityOverride(nil, now: t) }
            line = "VRRP_Instance(\(instance)) back to its configured priority \(router.machines[n].settings.priority) (vigil ctl)"
        case .backup:
            apply(n, now: t) { $0.handOver(now: t) }
            line = "VRRP_Instance(\(instance)) handing mastership over (vigil ctl): priority 0 sent, now priority 1 until vigil ctl vrrp \(instance) priority restore"
        }
        logger.notice("\(line)")
        rearm()
        return line
    }

    /// Asks ``run()`` to shut down: priority 0 goes out and the VIPs are released at once.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        stopWaiter?.resume()
        stopWaiter = nil
    }

    // MARK: Reload

    /// Applies a new, already validated configuration, disturbing nothing that did not change.
    ///
    /// Instances are matched by name (``VRRPReloadPlan``). An unchanged instance keeps its state,
    /// timers and master: no transition, no advertisement gap, no gratuitous ARP. One changed in
    /// place takes its new settings: a master advertises a changed priority at once, adds and
    /// removes only the VIPs that differ (announcing the added ones) without a transition; a backup
    /// judges the next advertisement against its new priority. A removed instance is released as on
    /// stop (priority 0, VIPs removed) and its sockets close; a new one starts as at start-up; one
    /// whose VRID, interface, version, interval, authentication or peers changed is released, then
    /// started as new. Every removal (removed, restarted and changed instances) comes before any
    /// addition, so a VIP moves from one instance to another in one reload. Unchanged
    /// `vrrp_script`s keep their verdict and schedule; sync groups are re-formed.
    public func reload(_ new: VRRPSettings) async -> VRRPReloadReport {
        let plan = VRRPReloadPlan(old: settings, new: new)
        var report = plan.report
        guard !stopped else {
            report.errors.append("VRRP is stopping: reload not applied")
            return report
        }
        guard started else {
            // Nothing runs yet: run() starts the new settings as they are.
            settings = new
            router = VRRPRouterMachine(new.instances.map { VRRPInstanceMachine(settings: $0, primaryAddress: $0.sourceAddress ?? .v4(0)) },
                                       syncGroups: new.syncGroups)
            advertisementCache = Array(repeating: nil, count: new.instances.count)
            return report
        }
        let t = now
        let newByName = Dictionary(new.instances.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

        // Removed and restarted instances go as on stop: priority 0 and VIPs released, sockets closed.
        let leaving = plan.removed + plan.restarted
        for name in leaving {
            guard let n = router.index(of: name) else { continue }
            apply(n, now: t) { $0.shutdown(now: t) }
            garpTasks.removeValue(forKey: name)?.cancel()
            lowerPriorityTasks.removeValue(forKey: name)?.cancel()
            transport.close(instance: name)
        }
        for name in plan.removed {
            ahSequences[name] = nil
            ipIdentifications[name] = nil
        }
        unwatchClosedReceivers()

        // Scripts: the global ones (script user, security) and the list come from the new settings.
        settings = new
        startFileTracking()
        for name in plan.stoppedScripts { stopScript(name) }
        startScripts(plan.startedScripts)

        // Changed in place: first every removal, then the new settings (a changed priority is
        // advertised at once), then the additions of masters, announced.
        let changes = plan.changedInPlace.compactMap { c -> (n: Int, change: VRRPInstanceChange, settings: VRRPInstanceSettings)? in
            guard let n = router.index(of: c.name), let i = newByName[c.name] else { return nil }
            return (n, c, i)
        }
        var mastersBefore: Set<String> = []
        for (n, c, _) in changes where router.machines[n].state == .master {
            mastersBefore.insert(c.name)
            let delta = c.addressDelta
            guard !delta.removed.isEmpty || !delta.removedRoutes.isEmpty else { continue }
            var part = router.machines[n].settings
            part.virtualAddresses = delta.removed
            part.excludedAddresses = []
            part.virtualRoutes = delta.removedRoutes
            do { try addresses.remove(part) } catch {
                counters.effectErrors += 1
                report.errors.append("\(c.name): removing \(delta.removed.map(\.description).joined(separator: " ")): \(error)")
            }
        }
        for (n, _, i) in changes {
            for iface in trackedInterfaces(i) where interfaceUp[iface.name] == nil { interfaceUp[iface.name] = interfaceIsUp(iface.name) }
            advertisementCache[n] = nil
            let adjustment = tracking(i).adjustment
            apply(n, now: t) { $0.reconfigure(i, priorityAdjustment: adjustment, now: t) }
            applyTracking(n, now: t)
        }
        for (n, c, i) in changes where mastersBefore.contains(c.name) && router.machines[n].state == .master {
            let delta = c.addressDelta
            if !delta.added.isEmpty || !delta.addedRoutes.isEmpty {
                var part = i
                part.virtualAddresses = delta.added
                part.excludedAddresses = []
                part.virtualRoutes = delta.addedRoutes
                do {
                    try addresses.add(part)
                    try addresses.announce(part, count: i.gratuitous.masterRepeat)
                } catch {
                    counters.effectErrors += 1
                    report.errors.append("\(c.name): adding \(delta.added.map(\.description).joined(separator: " ")): \(error)")
                }
            }
            // The refresh announces the new list from now on.
            if !delta.isEmpty || c.differences.contains(.gratuitous) { scheduleGratuitous(i, delayedBurst: false) }
        }

        // The new layout, by name; sync groups re-formed.
        let fresh = Set(plan.added + plan.restarted)
        var cacheByName: [String: CachedAdvertisement] = [:]
        for (n, name) in router.order.enumerated() where !fresh.contains(name) {
            if let c = advertisementCache[n] { cacheByName[name] = c }
        }
        router = router.reloaded(new.instances, syncGroups: new.syncGroups, fresh: fresh)
        advertisementCache = router.order.map { cacheByName[$0] }
        performActions { router.reconcileSyncGroups(now: t, into: &$0) }
        // A kept instance whose tracked script started again takes that script's initial verdict.
        let restartedScripts = Set(plan.startedScripts).union(plan.stoppedScripts)
        if !restartedScripts.isEmpty {
            for (n, name) in router.order.enumerated() where !fresh.contains(name)
                && router.machines[n].settings.trackScripts.contains(where: { restartedScripts.contains($0.name) }) {
                applyTracking(n, now: t)
            }
        }

        // New and restarted instances start as at start-up.
        var opened: [Int] = []
        for (n, name) in router.order.enumerated() where fresh.contains(name) {
            do {
                try openInstance(n)
                addresses.prepare(router.machines[n].settings)
                opened.append(n)
            } catch {
                counters.effectErrors += 1
                report.errors.append("\(name): not started: \(error)")
            }
        }
        startReceivers()
        for n in opened { startInstance(n) }
        rearm()
        for line in report.lines { logger.notice("VRRP reload: \(line)") }
        return report
    }

    private func shutdown() async {
        stopFlag.set()
        fileWatcher?.stop()
        fileWatcher = nil
        loop.setTimer(at: nil)
        for fd in watched.values { loop.unwatch(fd) }
        watched = [:]
        threadedPackets?.finish()
        for t in scriptTasks.values { t.cancel() }
        for t in garpTasks.values { t.cancel() }
        for t in lowerPriorityTasks.values { t.cancel() }
        stopping = true
        for n in router.machines.indices {
            let t = now
            apply(n, now: t) { $0.shutdown(now: t) }
        }
        // keepalived writes every instance's STOP line, then every group's.
        if let fifoLines {
            for g in settings.syncGroups { fifoLines(vrrpFIFOLine(group: true, name: g.name, state: .stopped, priority: 0)) }
        }
        for t in notifyChains.values { await t.value }
    }

    // MARK: Inputs

    /// Watches (or reads from threads) every transport interface not yet read.
    private func startReceivers() {
        let t = transport
        var threaded: [String] = []
        for interface in transport.interfaces where watched[interface] == nil && !threadedInterfaces.contains(interface) {
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
            watched[interface] = fd
        }
        guard !threaded.isEmpty else { return }
        let continuation: AsyncStream<VRRPReceivedPacket>.Continuation
        if let c = threadedPackets {
            continuation = c
        } else {
            let (stream, c) = AsyncStream<VRRPReceivedPacket>.makeStream(bufferingPolicy: .bufferingNewest(1024))
            threadedPackets = c
            continuation = c
            Task { [weak self] in
                for await p in stream { await self?.handle(p) }
            }
        }
        for interface in threaded {
            threadedInterfaces.insert(interface)
            let flag = stopFlag
            let thread = Thread {
                while !flag.isSet {
                    if let p = t.receive(interface: interface) { continuation.yield(p) }
                }
            }
            thread.name = "vrrp-rx-\(interface)"
            thread.start()
        }
    }

    /// Stops watching receive sockets the transport has closed.
    private func unwatchClosedReceivers() {
        let open = Set(transport.interfaces)
        for (interface, fd) in watched where !open.contains(interface) {
            loop.unwatch(fd)
            watched[interface] = nil
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

    /// Starts the `vrrp_script`s called `names` that some instance tracks, each with its initial verdict.
    private func startScripts(_ names: [String]) {
        let tracked = Set(settings.instances.flatMap { $0.trackScripts.map(\.name) })
        for name in names where tracked.contains(name) && scriptTasks[name] == nil {
            guard let script = settings.scripts.first(where: { $0.name == name }) else { continue }
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
            let group = script.group ?? settings.scriptGroup
            if arguments[0].hasPrefix("/") == false, let found = which(arguments[0]) { arguments[0] = found }
            let args = arguments
            let generation = scriptGenerations[name, default: 0]
            scriptHealthy[name] = !script.initiallyFailed
            scriptTasks[name] = Task { [weak self] in
                var tracker = VRRPScriptTracker(rise: script.rise, fall: script.fall, initiallyHealthy: !script.initiallyFailed)
                while !Task.isCancelled {
                    let start = ContinuousClock.now
                    // Runs never overlap: the next starts only after this one ended.
                    let outcome = await ProgramRunner.run(args, user: user, group: group, timeout: script.timeout ?? script.interval)
                    if let verdict = tracker.record(success: outcome == .exited(0)) {
                        await self?.scriptChanged(name, healthy: verdict, generation: generation)
                    }
                    try? await Task.sleep(until: start + script.interval, clock: .continuous)
                }
            }
        }
    }

    /// Stops a `vrrp_script`'s runs and forgets its verdict.
    private func stopScript(_ name: String) {
        scriptTasks.removeValue(forKey: name)?.cancel()
        scriptGenerations[name, default: 0] += 1
        scriptHealthy[name] = nil
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
        guard !stopped, !isOwnAdvertisement(p) else { return }
        let adv: VRRPAdvertisement
        do {
            adv = try VRRPCodec.decode(p.payload, source: p.source, destination: p.destination, ttl: p.ttl)
        } catch {
            count(error)
            return
        }
        guard let n = instanceIndex(interface: p.interface, adv) else {
            count(VRRPPacketError(.unknownVRID, "VRID \(adv.virtualRouterID) from \(p.source)"))
            return
        }
        let instance = router.machines[n].settings
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

    /// Whether `p` is one of our own advertisements (looped back by the interface).
    ///
    /// Reads ``router`` in place: a copy of the machines held while an event mutates one would
    /// copy them all.
    private func isOwnAdvertisement(_ p: VRRPReceivedPacket) -> Bool {
        for m in router.machines where m.settings.interface == p.interface && transport.source(of: m.settings.name) == p.source {
            return true
        }
        return false
    }

    /// The instance an advertisement is for: same interface and VRID, the same version first.
    private func instanceIndex(interface: String, _ adv: VRRPAdvertisement) -> Int? {
        var other: Int?
        for n in router.machines.indices {
            guard router.machines[n].settings.interface == interface,
                  router.machines[n].settings.virtualRouterID == adv.virtualRouterID else { continue }
            if router.machines[n].settings.version == adv.version { return n }
            other = other ?? n
        }
        return other
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
        for n in router.machines.indices {
            let i = router.machines[n].settings
            guard trackedInterfaces(i).contains(where: { $0.name == name }) else { continue }
            logger.info("\(i.name): interface \(name) is \(up ? "up" : "down")")
            applyTracking(n, now: t)
        }
        rearm()
    }

    /// Does `init_file`, reads every tracked file and (re)starts the inotify watch on them.
    private func startFileTracking() {
        fileWatcher?.stop()
        fileWatcher = nil
        for f in settings.fileInitialisations {
            do { try initialiseTrackedFile(f.path, value: f.value, overwrite: f.overwrite) } catch {
                logger.warning("track_file \(f.path): init_file: \(error)")
            }
        }
        let paths = Set(settings.instances.flatMap { $0.trackFiles.map(\.path) })
        fileValues = fileValues.filter { paths.contains($0.key) }
        for p in paths { fileValues[p] = trackedFileValue(p) }
        guard !paths.isEmpty else { return }
        do {
            fileWatcher = try FileWatcher(paths: paths.sorted(), name: "vrrp-files") { [weak self] path in
                Task { await self?.fileChanged(path) }
            }
        } catch {
            logger.warning("track_file: cannot watch \(paths.sorted().joined(separator: " ")): \(error); their values stay as read at start")
        }
    }

    func fileChanged(_ path: String) {
        guard !stopped else { return }
        let value = trackedFileValue(path)
        guard fileValues[path] != value else { return }
        fileValues[path] = value
        logger.info("track_file \(path) now holds \(value)")
        let t = now
        for n in router.machines.indices where router.machines[n].settings.trackFiles.contains(where: { $0.path == path }) {
            applyTracking(n, now: t)
        }
        rearm()
    }

    func scriptChanged(_ name: String, healthy: Bool, generation: Int = 0) {
        guard !stopped, scriptGenerations[name, default: 0] == generation else { return }
        scriptHealthy[name] = healthy
        logger.info("vrrp_script \(name) is now \(healthy ? "succeeding" : "failing")")
        let t = now
        for n in router.machines.indices where router.machines[n].settings.trackScripts.contains(where: { $0.name == name }) {
            applyTracking(n, now: t)
        }
        rearm()
    }

    /// The interfaces an instance tracks, its own included unless `dont_track_primary`.
    private func trackedInterfaces(_ i: VRRPInstanceSettings) -> [VRRPTrackedInterface] {
        i.trackInterfaces + (i.dontTrackPrimary ? [] : [VRRPTrackedInterface(name: i.interface)])
    }

    /// An instance's weight sum and fault causes from the current state of every object it tracks.
    private func tracking(_ i: VRRPInstanceSettings) -> (adjustment: Int, faults: [(VRRPFaultCause, Bool)]) {
        var adjustment = 0
        var faults: [(VRRPFaultCause, Bool)] = []
        for s in i.trackScripts {
            let r = trackingAdjustment(weight: s.weight, reverse: s.reverse, healthy: scriptHealthy[s.name] ?? true)
            adjustment += r.adjustment
            faults.append((.script(s.name), r.fault))
        }
        for iface in trackedInterfaces(i) {
            let r = trackingAdjustment(weight: iface.weight, reverse: iface.reverse, healthy: interfaceUp[iface.name] ?? true)
            adjustment += r.adjustment
            faults.append((.interface(iface.name), r.fault))
        }
        for f in i.trackFiles {
            let r = f.effect(of: fileValues[f.path] ?? 0)
            adjustment += r.adjustment
            faults.append((.file(f.name), r.fault))
        }
        return (adjustment, faults)
    }

    /// Recomputes an instance's weight sum and fault causes from every tracked object.
    private func applyTracking(_ n: Int, now t: Duration) {
        let (adjustment, faults) = tracking(router.machines[n].settings)
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
                try addresses.add(router.machines[n].settings)
            case .removeVirtualAddresses:
                garpTasks[name]?.cancel()
                lowerPriorityTasks.removeValue(forKey: name)?.cancel()
                try addresses.remove(router.machines[n].settings)
            case .announce:
                let i = router.machines[n].settings
                try addresses.announce(i, count: i.gratuitous.masterRepeat)
                scheduleGratuitous(i)
            case .announceToLowerPriority:
                let i = router.machines[n].settings
                try addresses.announce(i, count: i.gratuitous.lowerPriorityRepeat)
                scheduleLowerPriorityAnnouncement(i)
            case .transition(let from, let to, let priority):
                counters.transitions += 1
                recordTransition(name, from: from, to: to, faults: router.machines[n].faults.map(\.description).sorted())
                logger.notice("VRRP_Instance(\(name)) \(from) -> \(to) (priority \(priority))")
                notify(router.machines[n].settings.notify, group: false, name: name, state: to, priority: priority)
                fifoLines?(vrrpFIFOLine(group: false, name: name, state: to, priority: priority))
                if let g = router.syncGroup(at: n), let gs = settings.syncGroups.first(where: { $0.name == g.name }),
                   g.members.allSatisfy({ router[$0]?.state == to }) {
                    notify(gs.notify, group: true, name: g.name, state: to, priority: 0)
                    if !stopping { fifoLines?(vrrpFIFOLine(group: true, name: g.name, state: to, priority: 0)) }
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
        let i = router.machines[n].settings
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

    /// The delayed second burst (`garp_master_delay`, unless `delayedBurst` is false: a reload
    /// re-schedules the refresh of a running master) and periodic refresh (`garp_master_refresh`).
    private func scheduleGratuitous(_ i: VRRPInstanceSettings, delayedBurst: Bool = true) {
        garpTasks[i.name]?.cancel()
        let g = i.gratuitous
        let a = addresses
        let name = i.name
        garpTasks[name] = Task { [weak self] in
            if delayedBurst && g.masterDelay > .zero {
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

    /// The second set after a lower-priority advertisement (`garp_lower_prio_delay`); a later
    /// such advertisement restarts the delay rather than stacking sets.
    private func scheduleLowerPriorityAnnouncement(_ i: VRRPInstanceSettings) {
        let g = i.gratuitous
        guard g.lowerPriorityDelay > .zero else { return }
        lowerPriorityTasks[i.name]?.cancel()
        let a = addresses
        let name = i.name
        lowerPriorityTasks[name] = Task { [weak self] in
            try? await Task.sleep(for: g.lowerPriorityDelay)
            guard !Task.isCancelled, await self?.isMaster(name) == true else { return }
            try? a.announce(i, count: g.lowerPriorityRepeat)
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

    /// The notify FIFO lines of every instance's current state, then every sync group's whose
    /// members share one (`fifo_write_vrrp_states_on_reload`); instances not started yet are left out.
    public func currentFIFOLines() -> [String] {
        var lines: [String] = []
        for (n, name) in router.order.enumerated() {
            let m = router.machines[n]
            guard m.state != .initialize && m.state != .stopped else { continue }
            lines.append(vrrpFIFOLine(group: false, name: name, state: m.state, priority: m.effectivePriority))
        }
        for g in settings.syncGroups {
            let states = Set(g.members.compactMap { router[$0]?.state })
            if states.count == 1, let state = states.first, state != .initialize, state != .stopped {
                lines.append(vrrpFIFOLine(group: true, name: g.name, state: state, priority: 0))
            }
        }
        return lines
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
        let user = settings.scriptUser
        let userGroup = settings.scriptGroup
        let key = (group ? "group:" : "instance:") + name
        let previous = notifyChains[key]
        notifyChains[key] = Task {
            await previous?.value
            for c in commands { _ = await ProgramRunner.run(c, user: user, group: userGroup, timeout: .seconds(30)) }
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
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
