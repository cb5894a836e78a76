#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import VigilSupport
import VigilTestSupport

/// What a reader of a notify FIFO sees, and that a FIFO nobody reads never blocks the writer.
@Suite struct NotifyFIFOWriterTests {
    private func scratchPath(_ name: String) -> String {
        "/tmp/vigil-fifo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
    }

    @Test func createsTheFIFOAndAReaderReadsOneLinePerWrite() throws {
        let path = scratchPath("a")
        let writer = try NotifyFIFOWriter(path: path)
        #expect(writer.created)
        var st = stat()
        #expect(stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO && (st.st_mode & 0o777) == 0o600)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        try #require(reader >= 0)
        defer { close(reader) }
        #expect(writer.write(#"INSTANCE "VI_1" BACKUP 100"#) == .written)
        #expect(writer.write("RS [192.0.2.11]:tcp:80 [192.0.2.1]:tcp:80 DOWN") == .written)
        #expect(Lab.availableLines(reader) == [#"INSTANCE "VI_1" BACKUP 100"#, "RS [192.0.2.11]:tcp:80 [192.0.2.1]:tcp:80 DOWN"])
        writer.close()
        #expect(access(path, F_OK) != 0, "a FIFO Vigil created is removed when it closes")
        #expect(writer.write("late") == .closed)
    }

    @Test func aFullPipeWithoutReaderDropsLinesAndNeverBlocks() throws {
        let path = scratchPath("b")
        let writer = try NotifyFIFOWriter(path: path)
        defer { writer.close() }
        let started = ContinuousClock.now
        var outcomes: [NotifyFIFOWrite: Int] = [:]
        for i in 0..<5000 { outcomes[writer.write("INSTANCE \"VI_\(i)\" MASTER 100 padding padding padding padding"), default: 0] += 1 }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(outcomes[.written, default: 0] > 0)
        #expect(outcomes[.droppedFull, default: 0] > 0, "64 KiB of pipe cannot hold 5,000 lines")
        // A reader arriving later gets whole lines only.
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let lines = Lab.availableLines(reader)
        #expect(lines.count == outcomes[.written])
        #expect(lines.allSatisfy { $0.hasPrefix("INSTANCE \"VI_") && $0.hasSuffix("padding") })
        #expect(writer.write("after") == .written)
    }

    @Test func anExistingFIFOIsKeptAndARegularFileRefused() throws {
        let path = scratchPath("c")
        #expect(mkfifo(path, 0o644) == 0)
        defer { unlink(path) }
        let writer = try NotifyFIFOWriter(path: path)
        #expect(!writer.created)
        writer.close()
        #expect(access(path, F_OK) == 0, "a FIFO Vigil did not create stays")

        let file = scratchPath("d")
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        defer { unlink(file) }
        #expect(throws: NotifyFIFOError(.notAFIFO, "exists and is not a FIFO", path: file)) { try NotifyFIFOWriter(path: file) }
        #expect(throws: NotifyFIFOError(.unknownOwner, "unknown user no-such-user-vigil", path: path)) {
            try NotifyFIFOWriter(path: path, user: "no-such-user-vigil")
        }
        let missingDirectory = "/nonexistent-vigil/k.fifo"
        do {
            _ = try NotifyFIFOWriter(path: missingDirectory)
            Issue.record("a FIFO in a missing directory cannot open")
        } catch {
            #expect(error.code == .createFailed && error.context == missingDirectory)
        }
    }

    @Test func aFIFOItCreatesForAnotherUserBelongsToThatUser() throws {
        guard getuid() == 0, let nobody = getpwnam("nobody") else { return }
        let path = scratchPath("e")
        let writer = try NotifyFIFOWriter(path: path, user: "nobody")
        defer { writer.close() }
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_uid == nobody.pointee.pw_uid)
    }

    @Test func aStartedProgramRunsUntilStoppedAsAGroup() async throws {
        let marker = scratchPath("marker")
        defer { unlink(marker) }
        guard case .success(let p) = await ProgramRunner.start(["/bin/sh", "-c", "(sleep 1; touch \(marker)) & sleep 30"]) else {
            Issue.record("not started")
            return
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(kill(p.pid, 0) == 0, "still running")
        #expect(await p.stop() == .signaled(SIGTERM))
        try await Task.sleep(for: .milliseconds(1500))
        #expect(access(marker, F_OK) != 0, "the group was ended with its leader")
        guard case .failure(let e) = await ProgramRunner.start(["/nonexistent/reader"]) else {
            Issue.record("a missing program must not start")
            return
        }
        #expect(e.message.hasPrefix("cannot run /nonexistent/reader"))
    }
}
