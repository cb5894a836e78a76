import Testing
import VigilSupport
@testable import VRRP

private func settings(_ name: String = "VI_1", version: VRRPVersion = .v2, priority: UInt8 = 100, interval: UInt16 = 100,
                      preempt: Bool = true, preemptDelay: Duration = .zero) -> VRRPInstanceSettings {
    VRRPInstanceSettings(name: name, version: version, virtualRouterID: 51, priority: priority,
                         advertIntervalCentiseconds: interval, interface: "eth0", preempt: preempt,
                         preemptDelay: preemptDelay, virtualAddresses: [VRRPVirtualAddress(address: IPAddress("192.0.2.100")!)])
}

private let me = IPAddress("192.0.2.10")!
private let lowerPeer = IPAddress("192.0.2.5")!
private let higherPeer = IPAddress("192.0.2.20")!

private func adv(_ priority: UInt8, version: VRRPVersion = .v2, interval: UInt16 = 100) -> VRRPAdvertisement {
    VRRPAdvertisement(version: version, virtualRouterID: 51, priority: priority, intervalCentiseconds: interval,
                      addresses: [IPAddress("192.0.2.100")!])
}

private func ms(_ v: Int64) -> Duration { .milliseconds(v) }

@Suite("VRRP state machine")
struct StateMachineTests {
    @Test func timersFollowTheRFC() {
        var m = VRRPInstanceMachine(settings: settings(priority: 100), primaryAddress: me)
        // v2: skew = (256-100)/256 s = 609.375 ms; MDI = 3 s + skew.
        #expect(m.skewTime == .microseconds(609_375))
        #expect(m.masterDownInterval == .microseconds(3_609_375))
        var v3 = VRRPInstanceMachine(settings: settings(version: .v3, priority: 100, interval: 5), primaryAddress: me)
        // v3: skew = (256-100) * 50 ms / 256 = 30.46875 ms; MDI = 150 ms + skew.
        #expect(v3.skewTime == .microseconds(30_468))
        _ = m.start(now: .zero)
        _ = v3.start(now: .zero)
        #expect(m.state == .backup && m.nextDeadline == .microseconds(3_609_375))
    }

    @Test func backupBecomesMasterWhenNoAdvertisementsArrive() {
        var m = VRRPInstanceMachine(settings: settings(), primaryAddress: me)
        #expect(m.start(now: .zero) == [.transition(from: .initialize, to: .backup, priority: 100)])
        #expect(m.timerFired(now: ms(3000)) == [], "early wake-ups do nothing")
        let actions = m.timerFired(now: ms(3610))
        #expect(actions == [.sendAdvertisement(priority: 100), .addVirtualAddresses, .announce,
                            .transition(from: .backup, to: .master, priority: 100)])
        #expect(m.state == .master && m.nextDeadline == ms(4610))
        #expect(m.timerFired(now: ms(4610)) == [.sendAdvertisement(priority: 100)])
    }

    @Test func ownerStartsAsMasterAtOnce() {
        var m = VRRPInstanceMachine(settings: settings(priority: 255), primaryAddress: me)
        let a = m.start(now: .zero)
        #expect(m.state == .master && a.first == .sendAdvertisement(priority: 255) && a.contains(.addVirtualAddresses))
    }

    @Test func advertisementsFromAHigherMasterHoldTheBackupDown() {
        var m = VRRPInstanceMachine(settings: settings(), primaryAddress: me)
        _ = m.start(now: .zero)
        for t in stride(from: Int64(1000), through: 20_000, by: 1000) {
            #expect(m.received(adv(150), from: higherPeer, now: ms(t)) == [])
            #expect(m.timerFired(now: ms(t + 500)) == [])
        }
        #expect(m.state == .backup && m.masterAddress == higherPeer)
    }

    @Test func backupPreemptsALowerPriorityMaster() {
        var m = VRRPInstanceMachine(settings: settings(priority: 150), primaryAddress: me)
        _ = m.start(now: .zero)
        _ = m.received(adv(100), from: lowerPeer, now: ms(1000))
        _ = m.received(adv(100), from: lowerPeer, now: ms(2000))
        // Lower-priority adverts are discarded, so the first timer still fires at MDI after start.
        #expect(m.timerFired(now: m.masterDownInterval).contains(.addVirtualAddresses))
        // The old master sees our higher priority and steps down.
        var other = VRRPInstanceMachine(settings: settings(priority: 100), primaryAddress: lowerPeer)
        _ = other.start(now: .zero)
        _ = other.timerFired(now: ms(4000))
        #expect(other.state == .master)
        #expect(other.received(adv(150), from: me, now: ms(4100)) == [.removeVirtualAddresses, .transition(from: .master, to: .backup, priority: 100)])
    }

    @Test func nopreemptBackupStaysBackupBehindALowerMaster() {
        var m = VRRPInstanceMachine(settings: settings(priority: 150, preempt: false), primaryAddress: me)
        _ = m.start(now: .zero)
        for t in stride(from: Int64(1000), through: 30_000, by: 1000) {
            _ = m.received(adv(100), from: lowerPeer, now: ms(t))
            _ = m.timerFired(now: ms(t + 999))
        }
        #expect(m.state == .backup)
    }

    @Test func preemptDelayDefersTakeover() {
        var m = VRRPInstanceMachine(settings: settings(priority: 150, preemptDelay: .seconds(10)), primaryAddress: me)
        _ = m.start(now: .zero)
        var became: Duration?
        for t in stride(from: Int64(1000), through: 30_000, by: 1000) {
            _ = m.received(adv(100), from: lowerPeer, now: ms(t))
            if m.timerFired(now: ms(t + 999)).contains(.addVirtualAddresses) { became = ms(t + 999); break }
        }
        let at = try! #require(became)
        #expect(at >= .seconds(10) && at <= .seconds(14), "took over at \(at)")
    }

    @Test func priorityZeroMeansTakeOverAfterSkew() {
        var m = VRRPInstanceMachine(settings: settings(priority: 100), primaryAddress: me)
        _ = m.start(now: .zero)
        _ = m.received(adv(200), from: higherPeer, now: ms(1000))
        _ = m.received(adv(0), from: higherPeer, now: ms(1500))
        #expect(m.nextDeadline == ms(1500) + m.skewTime)
        #expect(m.timerFired(now: ms(1500) + m.skewTime).contains(.addVirtualAddresses))
    }

    @Test func shutdownSendsPriorityZeroAndReleasesTheVIPs() {
        var m = VRRPInstanceMachine(settings: settings(priority: 255), primaryAddress: me)
        _ = m.start(now: .zero)
        #expect(m.shutdown(now: ms(10)) == [.sendAdvertisement(priority: 0), .removeVirtualAddresses,
                                             .transition(from: .master, to: .stopped, priority: 255)])
        #expect(m.nextDeadline == nil)
    }

    @Test func masterAnswersPriorityZeroAtOnce() {
        var m = VRRPInstanceMachine(settings: settings(priority: 255), primaryAddress: me)
        _ = m.start(now: .zero)
        #expect(m.received(adv(0), from: lowerPeer, now: ms(300)) == [.sendAdvertisement(priority: 255)])
    }

    @Test func equalPrioritiesAreBrokenByTheHigherPrimaryAddress() {
        var m = VRRPInstanceMachine(settings: settings(priority: 100), primaryAddress: me)
        _ = m.start(now: .zero)
        _ = m.timerFired(now: ms(4000))
        #expect(m.received(adv(100), from: lowerPeer, now: ms(4100)) == [], "lower address loses")
        #expect(m.state == .master)
        #expect(m.received(adv(100), from: higherPeer, now: ms(4200)).contains(.removeVirtualAddresses))
        #expect(m.state == .backup)
    }

    @Test func v3BackupLearnsTheMastersInterval() {
        var m = VRRPInstanceMachine(settings: settings(version: .v3, priority: 100, interval: 100), primaryAddress: me)
        _ = m.start(now: .zero)
        _ = m.received(adv(200, version: .v3, interval: 10), from: higherPeer, now: ms(100))
        #expect(m.masterAdverIntervalCentiseconds == 10)
        // 3 × 100 ms + (156 × 100 ms / 256) = 360.9375 ms
        #expect(m.nextDeadline == ms(100) + .microseconds(360_937))
    }

    @Test func v2BackupKeepsItsOwnInterval() {
        var m = VRRPInstanceMachine(settings: settings(priority: 100), primaryAddress: me)
        _ = m.start(now: .zero)
        _ = m.received(adv(200, interval: 300), from: higherPeer, now: ms(100))
        #expect(m.masterAdverIntervalCentiseconds == 100)
    }

    @Test func trackingWeightsAreAdvertisedAtOnceAndClamped() {
        var m = VRRPInstanceMachine(settings: settings(priority: 100), primaryAddress: me)
        _ = m.start(now: .zero)
        _ = m.timerFired(now: ms(4000))
        #expect(m.setPriorityAdjustment(-20, now: ms(4100)) == [.sendAdvertisement(priority: 80)])
        #expect(m.setPriorityAdjustment(-20, now: ms(4200)) == [], "unchanged priority sends nothing new")
        _ = m.setPriorityAdjustment(-500, now: ms(4300))
        #expect(m.effectivePriority == 1)
        _ = m.setPriorityAdjustment(500, now: ms(4400))
        #expect(m.effectivePriority == 254)
        // A master whose priority dropped below a backup's loses when that backup preempts.
        _ = m.setPriorityAdjustment(-50, now: ms(4500))
        #expect(m.received(adv(90), from: lowerPeer, now: ms(4600)).contains(.removeVirtualAddresses))
    }

    @Test func faultReleasesTheVIPsAndRecoveryReturnsToBackup() {
        var m = VRRPInstanceMachine(settings: settings(priority: 100), primaryAddress: me)
        _ = m.start(now: .zero)
        _ = m.timerFired(now: ms(4000))
        let a = m.setFault(.interface("eth0"), true, now: ms(5000))
        #expect(a == [.sendAdvertisement(priority: 0), .removeVirtualAddresses, .transition(from: .master, to: .fault, priority: 100)])
        #expect(m.timerFired(now: ms(60_000)) == [] && m.nextDeadline == nil)
        _ = m.setFault(.script("chk"), true, now: ms(6000))
        #expect(m.setFault(.interface("eth0"), false, now: ms(7000)) == [], "still faulted by the script")
        #expect(m.setFault(.script("chk"), false, now: ms(8000)) == [.transition(from: .fault, to: .backup, priority: 100)])
        #expect(m.state == .backup)
    }

    @Test func startingWithAFaultEntersFault() {
        var m = VRRPInstanceMachine(settings: settings(), primaryAddress: me)
        _ = m.setFault(.interface("eth0"), true, now: .zero)
        _ = m.start(now: .zero)
        #expect(m.state == .fault)
    }

    @Test func syncGroupMembersMoveTogether() {
        var a = settings("A", priority: 100)
        a.virtualRouterID = 1
        var b = settings("B", priority: 100)
        b.virtualRouterID = 2
        var r = VRRPRouterMachine([VRRPInstanceMachine(settings: a, primaryAddress: me), VRRPInstanceMachine(settings: b, primaryAddress: me)],
                                  syncGroups: [VRRPSyncGroupSettings(name: "G", members: ["A", "B"])])
        _ = r.apply("A", now: .zero) { $0.start(now: .zero) }
        _ = r.apply("B", now: .zero) { $0.start(now: .zero) }
        // B keeps hearing its master; A's does not speak: A goes master and drags B along.
        _ = r.apply("B", now: ms(3000)) { $0.received(adv(200), from: higherPeer, now: ms(3000)) }
        let out = r.timersFired(now: ms(3700))
        #expect(out.contains { $0.instance == "B" && $0.action == .addVirtualAddresses })
        #expect(r.instances["A"]?.state == .master && r.instances["B"]?.state == .master)
        // A fault in B faults A too; recovery brings both back to backup.
        _ = r.apply("B", now: ms(4000)) { $0.setFault(.script("chk"), true, now: ms(4000)) }
        #expect(r.instances["A"]?.state == .fault && r.instances["B"]?.state == .fault)
        _ = r.apply("B", now: ms(5000)) { $0.setFault(.script("chk"), false, now: ms(5000)) }
        #expect(r.instances["A"]?.state == .backup && r.instances["B"]?.state == .backup)
    }
}

@Suite("VRRP operator requests (vigil ctl vrrp)")
struct OperatorRequestTests {
    /// A master after its master-down interval: at 4 s.
    static func master(_ s: VRRPInstanceSettings = settings()) -> VRRPInstanceMachine {
        var m = VRRPInstanceMachine(settings: s, primaryAddress: me)
        _ = m.start(now: .zero)
        _ = m.timerFired(now: ms(4000))
        return m
    }

    @Test("priority N: a master advertises N at once; restore returns to the configured priority")
    func priority() {
        var m = Self.master()
        #expect(m.state == .master)
        #expect(m.setPriorityOverride(150, now: ms(4100)) == [.sendAdvertisement(priority: 150)])
        #expect(m.effectivePriority == 150)
        #expect(m.setPriorityOverride(nil, now: ms(4200)) == [.sendAdvertisement(priority: 100)])
    }

    @Test("the override outlives an in-place reload and a backup judges adverts against it")
    func reloadKeeps() {
        var m = VRRPInstanceMachine(settings: settings(priority: 100), primaryAddress: me)
        _ = m.start(now: .zero)
        #expect(m.setPriorityOverride(50, now: ms(10)).isEmpty)
        _ = m.reconfigure(settings(priority: 120), priorityAdjustment: 0, now: ms(20))
        #expect(m.effectivePriority == 50)
        // An advertisement of priority 80 from the master now keeps this backup a backup.
        _ = m.received(adv(80), from: lowerPeer, now: ms(30))
        #expect(m.state == .backup)
    }

    @Test("a master answers a lower-priority advert with an advert and garp_lower_prio_repeat announcements, not a transition")
    func lowerPriority() {
        var m = Self.master()
        #expect(m.received(adv(50), from: lowerPeer, now: ms(4100)) == [.sendAdvertisement(priority: 100), .announceToLowerPriority])
        #expect(m.state == .master && m.nextDeadline == ms(5100), "the advert timer restarts from the answer")
        var quiet = settings()
        quiet.gratuitous.lowerPriorityRepeat = 0
        quiet.lowerPriorityNoAdvert = true
        var q = Self.master(quiet)
        #expect(q.received(adv(50), from: lowerPeer, now: ms(4100)).isEmpty, "lower_prio_no_advert and no repeat: RFC 5798's discard")
    }

    @Test("higher_prio_send_advert: a master yielding to a higher priority sends one advert first")
    func higherPriority() {
        var s = settings()
        s.higherPrioritySendAdvert = true
        var m = Self.master(s)
        let actions = m.received(adv(200), from: higherPeer, now: ms(4100))
        #expect(actions.first == .sendAdvertisement(priority: 100) && m.state == .backup)
        var plain = Self.master()
        #expect(plain.received(adv(200), from: higherPeer, now: ms(4100)).first == .removeVirtualAddresses)
    }

    @Test("backup: a master sends priority 0, releases its VIPs, waits as BACKUP with priority 1")
    func handOver() {
        var m = Self.master()
        let actions = m.handOver(now: ms(4100))
        #expect(actions == [.sendAdvertisement(priority: 0), .removeVirtualAddresses,
                            .transition(from: .master, to: .backup, priority: 1)])
        #expect(m.state == .backup && m.effectivePriority == 1)
        // The peer's advertisements (priority 90, lower than the configured 100) no longer make it preempt.
        _ = m.received(adv(90), from: lowerPeer, now: ms(4200))
        #expect(m.state == .backup)
    }
}
