#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CVigilSystem
import NIOCore
import Synchronization
import VigilSupport

/// Receives the result of an exchange, on the reactor thread. Held strongly until then, so a
/// long-lived owner (a probe) costs no allocation per check, as a closure would.
protocol ExchangeOwner: AnyObject {
    func exchangeFinished(_ result: CheckResult)
}

/// Something a reactor timer wakes, on the reactor thread; held strongly until then.
protocol ReactorTimerTarget: AnyObject {
    func reactorTimerFired()
}

/// One thread running an epoll loop, a timer heap and the plain-TCP conversations of the
/// checks given to it — keepalived's scheduler design: no channel pipeline, no task hop. Its
/// connection slots keep their sockets from check to check, so a TCP_CHECK is two system calls
/// (connect, and a disconnect that resets the connection).
///
/// Everything not marked otherwise runs on the reactor's own thread (``execute(_:)`` gets
/// there from anywhere). TLS conversations run on SwiftNIO instead (see `runExchange`).
public final class ProbeReactor: @unchecked Sendable {
    /// A unit of work for the reactor thread.
    typealias Job = @Sendable () -> Void

    /// The epoll set, the wake-up channel and the inbox of jobs from other threads.
    private let core: EventLoopCore<Job>
    private let exited = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    // Reactor-thread state.
    private var timers = TimerHeap()
    /// Exchange deadlines, kept out of `timers`: one first-in-first-out queue per timeout value.
    /// With a common timeout, exchanges end their time in the order they started, so a deadline
    /// costs O(1) instead of a heap insertion and removal.
    private var deadlines: [DeadlineQueue] = []
    /// One exchange object per slot, reused from check to check (a free slot's has token 0).
    private var exchanges: [ActiveExchange] = []
    private var freeSlots: [Int] = []
    private var generation: UInt32 = 0
    private var stopping = false
    /// Exchanges started but not finished, at most ``maxInFlight``; the rest wait in `waiting`.
    private var inFlight = 0
    private var waiting = CircularBuffer<PendingExchange>()
    /// Bound on concurrent connections per reactor. An overloaded reactor then runs checks late
    /// rather than starting more than it can serve and failing them on its own slowness.
    let maxInFlight: Int
    /// ``maxInFlight``, lowered to the connections open when the process ran out of descriptors
    /// (`EMFILE`, `ENFILE`): checks beyond it then wait for a slot, as under the cap, instead of
    /// failing and taking a healthy server down. Back to ``maxInFlight`` once no check waits.
    private var slotLimit: Int
    /// Opens a slot's socket (``ProbeSocket/open(_:)``; tests stand in a scarcer one).
    private let openSocket: @Sendable (ProbeAddresses) throws(SystemCallError) -> Int32
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    private let name: String

    /// Starts the reactor thread. `maxInFlight` bounds the connections open at once, and so the
    /// descriptors the reactor holds (see ``DescriptorBudget``).
    public convenience init(name: String = "vigil-probe", maxInFlight: Int = 256) throws(SystemCallError) {
        try self.init(name: name, maxInFlight: maxInFlight, openSocket: ProbeSocket.open)
    }

    init(name: String, maxInFlight: Int,
         openSocket: @escaping @Sendable (ProbeAddresses) throws(SystemCallError) -> Int32) throws(SystemCallError) {
        self.name = name
        self.maxInFlight = max(1, maxInFlight)
        self.slotLimit = self.maxInFlight
        self.openSocket = openSocket
        core = try EventLoopCore()
        do throws(SystemCallError) {
            try startDetachedThread(name: name) { self.loop() }
        } catch {
            core.closeDescriptors()
            throw error
        }
    }

    /// Runs `job` on the reactor thread. Returns false, dropping the job, once the reactor is stopping.
    @discardableResult
    public func execute(_ job: @escaping @Sendable () -> Void) -> Bool {
        core.post(job)
    }

    /// Asks the thread to stop without waiting: open exchanges complete with a failure, timers are dropped.
    public func stop() {
        core.requestStop()
    }

    /// True once the reactor is stopping: results arriving now are not acted on. Reactor thread only.
    var isStopping: Bool { stopping }

    /// Stops the thread (see ``stop()``) and returns once it has exited.
    public func shutdown() async {
        stop()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = exited.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    // MARK: Reactor thread

    /// The loop's clock: CLOCK_MONOTONIC (ns) read at each wake-up and again after a long batch
    /// (``clockRereadBatch``), as keepalived's `time_now`. Reading the clock can cost a trap on
    /// virtual machines without a TSC clock source, so it is not read per event. Reactor thread only.
    private(set) var time: UInt64 = ProbeReactor.now()

    /// CLOCK_MONOTONIC in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Wakes `target` at `deadline` (CLOCK_MONOTONIC ns), without allocating. Timers are never
    /// cancelled: targets check whether they still apply. Reactor thread only.
    func schedule(at deadline: UInt64, target: any ReactorTimerTarget) {
        timers.push(deadline, target)
    }

    /// Most socket events handled, and most due timers fired, per turn of the loop. Due timers
    /// (checks to start) wait behind a batch of events, and an event costs up to a `connect(2)`
    /// (a slot's disconnect), so a batch is kept short; events wait behind at most as many timers,
    /// so a backlog of checks to start cannot starve the conversations already under way.
    static let batchSize = 128

    /// Events or timers handled in one go after which the clock is read again. A few take well
    /// under a millisecond even on an emulated CPU, and reading the clock can cost a trap (a
    /// virtual machine's HPET): at light load, one or two events per turn, re-reading it after
    /// each batch was a large share of a turn's cost.
    static let clockRereadBatch = 8

    private func loop() {
        var events = [epoll_event](repeating: epoll_event(), count: Self.batchSize)
        while !stopping {
            var timeout: Int32 = -1
            if let next = nextWake() {
                timeout = next <= time ? 0 : Int32(min((next - time + 999_999) / 1_000_000, 60_000))
            }
            handleEvents(&events, timeout: timeout)
            for q in deadlines.indices {
                while let token = deadlines[q].popDue(time) { deadlineExpired(token) }
            }
            var fired = 0
            while fired < Self.batchSize, let timer = timers.popDue(time) {
                timer.reactorTimerFired()
                fired += 1
            }
            if fired >= Self.clockRereadBatch { time = Self.now() }
        }
        for exchange in exchanges where exchange.token != 0 { finish(exchange, .failure("probe abandoned: checker stopping")) }
        for exchange in exchanges where exchange.fd != -1 { close(exchange.fd) }
        while let next = waiting.popFirst() { next.owner.exchangeFinished(.failure("probe abandoned: checker stopping")) }
        exchanges.removeAll()
        timers = TimerHeap()
        deadlines = []
        core.closeDescriptors()
        readBuffer.deallocate()
        let waiters = exited.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for w in waiters { w.resume() }
    }

    /// Waits up to `timeout` ms for socket events and handles at most a batch of them. The clock
    /// is read after the wait, and again after a batch of ``clockRereadBatch`` events or more or
    /// after jobs from the inbox (which may be long), so timers that fell due meanwhile fire now
    /// and the next wait is measured from now.
    private func handleEvents(_ events: inout [epoll_event], timeout: Int32) {
        let n = core.wait(&events, timeout: timeout)
        time = Self.now()
        guard n > 0 else { return }
        var reread = n >= Self.clockRereadBatch
        for i in 0..<n {
            let data = events[i].data.u64
            if data == EventLoopCore<Job>.wakeToken {
                drainInbox()
                reread = true
            } else {
                readySlot(Int(truncatingIfNeeded: data), events: events[i].events)
            }
        }
        if reread { time = Self.now() }
    }

    /// The earliest timer or deadline of a live exchange; deadlines of exchanges that already
    /// ended are dropped here rather than woken for.
    private func nextWake() -> UInt64? {
        var next = timers.nextDeadline
        for q in deadlines.indices {
            while let (deadline, token) = deadlines[q].first {
                if lookup(token) == nil {
                    _ = deadlines[q].popFirst()
                    continue
                }
                if next.map({ deadline < $0 }) ?? true { next = deadline }
                break
            }
        }
        return next
    }

    private func drainInbox() {
        let (jobs, stop) = core.takeJobs()
        for job in jobs { job() }
        if stop { stopping = true }
    }

    // MARK: Exchanges

    /// An exchange waiting for a free slot.
    private struct PendingExchange {
        let addresses: ProbeAddresses
        let conversation: any Conversation
        let owner: any ExchangeOwner
    }

    /// A connection slot: one conversation at a time over the slot's own socket. The slot keeps
    /// its object, its read buffer's memory and its socket from check to check: a check allocates
    /// nothing here, and costs no socket(2), close(2) or epoll registration (see ``finish``).
    private final class ActiveExchange {
        /// The slot's socket, registered with the slot's number as its epoll data; -1 for none.
        var fd: Int32 = -1
        /// `fd`'s address family.
        var family: Int32 = 0
        /// Generation and slot; 0 while the slot is free.
        var token: UInt64 = 0
        var conversation: any Conversation
        var addresses: ProbeAddresses
        var owner: any ExchangeOwner
        var connected = false
        /// The peer closed first (a bound socket then closes normally, leaving no TIME_WAIT).
        var peerClosed = false
        var buffer = ByteBuffer()
        var pending: [UInt8] = []
        var pendingOffset = 0
        /// Result to report once `pending` is sent (a parting word such as SMTP's QUIT).
        var finishAfterSend: CheckResult?

        init(addresses: ProbeAddresses, owner: any ExchangeOwner) {
            self.conversation = ConnectOnly()
            self.addresses = addresses
            self.owner = owner
        }

        /// Takes on a new exchange.
        func reset(token: UInt64, conversation: any Conversation, addresses: ProbeAddresses, owner: any ExchangeOwner) {
            self.token = token
            self.conversation = conversation
            self.addresses = addresses
            self.owner = owner
            connected = false
            peerClosed = false
            if buffer.capacity > 64 * 1024 { buffer = ByteBuffer() } else { buffer.clear() }
            pending = []
            pendingOffset = 0
            finishAfterSend = nil
        }

        /// Frees the slot, letting go of the owner and the conversation until the next exchange.
        func release(idle: any ExchangeOwner) {
            token = 0
            owner = idle
            conversation = ConnectOnly()
        }
    }

    /// Stands in as a free slot's owner, so the slot holds no probe alive.
    private final class IdleOwner: ExchangeOwner {
        func exchangeFinished(_ result: CheckResult) {}
    }
    private let idleOwner = IdleOwner()

    /// Connects to `addresses` and runs `conversation`; `owner` hears the result exactly once on
    /// the reactor thread, at the latest when `addresses.timeout` has passed (the whole exchange
    /// is bounded, keepalived #1822). Reactor thread only.
    func startExchange(_ addresses: ProbeAddresses, _ conversation: any Conversation, owner: any ExchangeOwner) {
        if stopping {
            owner.exchangeFinished(.failure("probe abandoned: checker stopping"))
            return
        }
        if inFlight >= slotLimit {
            waiting.append(PendingExchange(addresses: addresses, conversation: conversation, owner: owner))
            return
        }
        let slot = freeSlots.popLast() ?? {
            exchanges.append(ActiveExchange(addresses: addresses, owner: idleOwner))
            return exchanges.count - 1
        }()
        let exchange = exchanges[slot]
        let connected: Bool
        do throws(SystemCallError) {
            connected = try connectSlot(exchange, slot: slot, to: addresses)
        } catch {
            freeSlots.append(slot)
            if error.errno == .tooManyOpenFiles || error.errno == .tooManyOpenFilesInSystem, inFlight > 0 {
                slotLimit = inFlight
                waiting.prepend(PendingExchange(addresses: addresses, conversation: conversation, owner: owner))
                return
            }
            // A socket that could not be set up says which call and option failed (bind_if, fwmark, bindto).
            owner.exchangeFinished(.failure(error.call == "connect" ? "connect to \(addresses.label): \(error.errno)"
                                                                     : "probe \(addresses.label): \(error)"))
            return
        }
        inFlight += 1
        generation &+= 1
        if generation == 0 { generation = 1 }
        let token = UInt64(generation) << 32 | UInt64(slot)
        exchange.reset(token: token, conversation: conversation, addresses: addresses, owner: owner)
        let timeout = addresses.timeoutNanoseconds
        if let q = deadlines.firstIndex(where: { $0.timeout == timeout }) {
            deadlines[q].append(time &+ timeout, token)
        } else {
            var queue = DeadlineQueue(timeout: timeout)
            queue.append(time &+ timeout, token)
            deadlines.append(queue)
        }
        if connected { becameConnected(exchange) }
    }

    /// Starts `exchange`'s connection to `addresses` over the slot's socket, opening and
    /// registering one first when the slot has none of the right family (or the probe owns its
    /// socket, ``ProbeAddresses/ownsSocket``, which takes a fresh one each time). Returns whether
    /// it is already up (always, for datagram and ICMP sockets).
    private func connectSlot(_ exchange: ActiveExchange, slot: Int, to addresses: ProbeAddresses) throws(SystemCallError) -> Bool {
        if exchange.fd == -1 || exchange.family != addresses.target.family || addresses.ownsSocket {
            if exchange.fd != -1 {
                close(exchange.fd)
                exchange.fd = -1
            }
            let fd = try openSocket(addresses)
            // Edge-triggered: one registration serves every connect, request and reply of the slot.
            // epoll reports a socket's state as of delivery, so an edge still queued from the
            // slot's previous connection describes the current one.
            do throws(SystemCallError) {
                try core.add(fd, events: EPOLLOUT.rawValue | EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue,
                             token: UInt64(slot))
            } catch {
                close(fd)
                throw error
            }
            exchange.fd = fd
            exchange.family = addresses.target.family
        }
        do throws(SystemCallError) {
            return try ProbeSocket.startConnect(exchange.fd, to: addresses)
        } catch {
            close(exchange.fd)
            exchange.fd = -1
            throw error
        }
    }

    /// An epoll event for a slot's socket; ignored while the slot is free.
    private func readySlot(_ slot: Int, events: UInt32) {
        guard slot >= 0, slot < exchanges.count else { return }
        let token = exchanges[slot].token
        if token != 0 { ready(token: token, events: events) }
    }

    /// An exchange's deadline: unless it already ended, it fails now.
    private func deadlineExpired(_ token: UInt64) {
        guard let exchange = lookup(token) else { return }
        // Events may be waiting behind a busy loop: judge by what the socket says now.
        var p = pollfd(fd: exchange.fd, events: Int16(POLLIN | POLLOUT), revents: 0)
        if poll(&p, 1, 0) == 1 {
            var events: UInt32 = 0
            if p.revents & Int16(POLLIN) != 0 { events |= EPOLLIN.rawValue }
            if p.revents & Int16(POLLOUT) != 0 { events |= EPOLLOUT.rawValue }
            if p.revents & Int16(POLLHUP) != 0 { events |= EPOLLHUP.rawValue }
            if p.revents & Int16(POLLERR) != 0 { events |= EPOLLERR.rawValue }
            ready(token: token, events: events)
        }
        guard let current = lookup(token) else { return }
        if current.connected, let result = current.conversation.timedOut() {
            finish(current, result)
            return
        }
        finish(current, .failure(current.connected
            ? "no complete answer within \(current.addresses.timeout)"
            : "connect to \(current.addresses.label): connect timed out"))
    }

    private func lookup(_ token: UInt64) -> ActiveExchange? {
        let slot = Int(token & 0xFFFF_FFFF)
        guard token != 0, slot < exchanges.count else { return nil }
        let e = exchanges[slot]
        return e.token == token ? e : nil
    }

    private func ready(token: UInt64, events: UInt32) {
        guard let exchange = lookup(token) else { return }
        if !exchange.connected {
            // EPOLLOUT alone means the connect succeeded; ask for the error only when there is one.
            if events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0, let error = ProbeSocket.pendingError(exchange.fd) {
                finish(exchange, .failure("connect to \(exchange.addresses.label): \(error)"))
                return
            }
            if events & (EPOLLOUT.rawValue | EPOLLIN.rawValue) == 0 { return }
            becameConnected(exchange)
            guard lookup(token) != nil else { return }
        } else if events & EPOLLOUT.rawValue != 0, !exchange.pending.isEmpty {
            flush(exchange)
            guard lookup(token) != nil else { return }
        }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readAvailable(exchange)
        }
    }

    private func becameConnected(_ exchange: ActiveExchange) {
        exchange.connected = true
        if exchange.addresses.transport == .icmp {
            exchange.conversation.icmpSocketOpened(ProbeSocket.icmpKind(exchange.fd))
        }
        switch exchange.conversation.opening() {
        case .some(let bytes) where bytes.isEmpty:
            finish(exchange, .success(weight: nil))
        case .some(let bytes):
            send(exchange, bytes)
        case .none:
            break
        }
    }

    private func send(_ exchange: ActiveExchange, _ bytes: [UInt8]) {
        exchange.pending = bytes
        exchange.pendingOffset = 0
        flush(exchange)
    }

    /// Writes what is pending; watches for writability while some remains.
    private func flush(_ exchange: ActiveExchange) {
        do throws(SystemCallError) {
            while exchange.pendingOffset < exchange.pending.count {
                let n = try ProbeSocket.send(exchange.fd, exchange.pending[exchange.pendingOffset...])
                if n == 0 { break }
                exchange.pendingOffset += n
            }
        } catch {
            finish(exchange, exchange.finishAfterSend ?? .failure("send to \(exchange.addresses.label): \(error.errno)"))
            return
        }
        if exchange.pendingOffset >= exchange.pending.count {
            exchange.pending = []
            exchange.pendingOffset = 0
            if let result = exchange.finishAfterSend {
                finish(exchange, result)
            }
        }
        // Otherwise the rest goes out on the next EPOLLOUT edge.
    }

    private func readAvailable(_ exchange: ActiveExchange) {
        // A finished exchange's object may already carry the next one: compare tokens, not objects.
        let token = exchange.token
        // A datagram socket's reads are whole messages: each is judged alone, and 0 bytes is an
        // empty datagram, not the end of a stream.
        let datagrams = exchange.addresses.transport != .stream
        while true {
            if datagrams { exchange.buffer.clear() }
            let n: Int?
            do throws(SystemCallError) {
                n = try ProbeSocket.receive(exchange.fd, into: readBuffer)
            } catch {
                finish(exchange, .failure("receive from \(exchange.addresses.label): \(error.errno)"))
                return
            }
            guard let n else { return }
            if n == 0, !datagrams {
                exchange.peerClosed = true
                finish(exchange, exchange.conversation.closed(&exchange.buffer))
                return
            }
            exchange.buffer.writeBytes(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
            switch exchange.conversation.received(&exchange.buffer) {
            case .needMore:
                if exchange.buffer.readableBytes > exchange.conversation.maxBuffered {
                    finish(exchange, .failure("response larger than \(exchange.conversation.maxBuffered) bytes"))
                    return
                }
            case .send(let bytes):
                send(exchange, bytes)
                guard exchange.token == token else { return }
            case .finished(let result):
                finish(exchange, result)
                return
            case .sendThenFinish(let bytes, let result):
                exchange.finishAfterSend = result
                send(exchange, bytes)
                return
            }
        }
    }

    private func finish(_ exchange: ActiveExchange, _ result: CheckResult) {
        guard exchange.token != 0 else { return }
        freeSlots.append(Int(exchange.token & 0xFFFF_FFFF))
        inFlight -= 1
        if exchange.addresses.ownsSocket {
            // The socket (and any bound source port) is the probe's own: free it now.
            if exchange.peerClosed || exchange.addresses.transport != .stream { close(exchange.fd) } else { ProbeSocket.abort(exchange.fd) }
            exchange.fd = -1
        } else if !ProbeSocket.disconnect(exchange.fd) {
            close(exchange.fd)
            exchange.fd = -1
        }
        let owner = exchange.owner
        exchange.release(idle: idleOwner)
        owner.exchangeFinished(result)
        while inFlight < slotLimit, let next = waiting.popFirst() {
            startExchange(next.addresses, next.conversation, owner: next.owner)
        }
        if waiting.isEmpty { slotLimit = maxInFlight }
    }
}

extension ProbeReactor {
    /// Runs one exchange from any task and returns its result (one-shot checks, genhash).
    func exchange(_ addresses: ProbeAddresses, _ makeConversation: @escaping @Sendable () -> any Conversation) async -> CheckResult {
        await withCheckedContinuation { (c: CheckedContinuation<CheckResult, Never>) in
            let accepted = execute { [unowned self] in
                self.startExchange(addresses, makeConversation(), owner: ResumingOwner(c))
            }
            if !accepted { c.resume(returning: .failure("probe abandoned: checker stopping")) }
        }
    }
}

/// Hands an exchange's result to a waiting task.
private final class ResumingOwner: ExchangeOwner {
    let continuation: CheckedContinuation<CheckResult, Never>
    init(_ continuation: CheckedContinuation<CheckResult, Never>) { self.continuation = continuation }
    func exchangeFinished(_ result: CheckResult) { continuation.resume(returning: result) }
}

/// Deadlines of one timeout value in the order they were set, which is deadline order because
/// the reactor's clock never goes back.
struct DeadlineQueue {
    let timeout: UInt64
    private var entries = CircularBuffer<(deadline: UInt64, token: UInt64)>()

    init(timeout: UInt64) { self.timeout = timeout }

    var first: (deadline: UInt64, token: UInt64)? { entries.first }

    mutating func append(_ deadline: UInt64, _ token: UInt64) {
        entries.append((deadline, token))
    }

    mutating func popFirst() -> (deadline: UInt64, token: UInt64)? { entries.popFirst() }

    /// Removes and returns the token of the first deadline due at `now`.
    mutating func popDue(_ now: UInt64) -> UInt64? {
        guard let f = entries.first, f.deadline <= now else { return nil }
        entries.removeFirst()
        return f.token
    }
}


/// A binary min-heap of timers keyed by deadline; ties run in scheduling order. The heap holds
/// plain values; what each timer does waits in a side table, so sifting never retains or releases.
struct TimerHeap {
    private struct Entry {
        let deadline: UInt64
        let sequence: UInt64
        let slot: Int
        func before(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }
    private var entries: [Entry] = []
    private var bodies: [(any ReactorTimerTarget)?] = []
    private var freeSlots: [Int] = []
    private var sequence: UInt64 = 0

    var count: Int { entries.count }
    var nextDeadline: UInt64? { entries.first?.deadline }

    mutating func push(_ deadline: UInt64, _ body: any ReactorTimerTarget) {
        sequence &+= 1
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            bodies[slot] = body
        } else {
            slot = bodies.count
            bodies.append(body)
        }
        entries.append(Entry(deadline: deadline, sequence: sequence, slot: slot))
        entries.withUnsafeMutableBufferPointer { e in
            var i = e.count - 1
            let moving = e[i]
            while i > 0 {
                let parent = (i - 1) / 2
                guard moving.before(e[parent]) else { break }
                e[i] = e[parent]
                i = parent
            }
            e[i] = moving
        }
    }

    /// Removes and returns the earliest timer due at `now`.
    mutating func popDue(_ now: UInt64) -> (any ReactorTimerTarget)? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries.withUnsafeMutableBufferPointer { e in
                let n = e.count
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    guard l < n else { break }
                    let child = r < n && e[r].before(e[l]) ? r : l
                    guard e[child].before(last) else { break }
                    e[i] = e[child]
                    i = child
                }
                e[i] = last
            }
        }
        let body = bodies[first.slot]
        bodies[first.slot] = nil
        freeSlots.append(first.slot)
        return body
    }
}
