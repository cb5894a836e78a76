#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilSupport

private struct Refused: Error, Equatable {}

@Suite("Background worker")
struct BackgroundWorkerTests {
    @Test("runs jobs in the order posted, at nice 19, and leaves the caller's priority alone")
    func orderAndPriority() async throws {
        let worker = try BackgroundWorker(name: "test-worker")
        let callerNice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        async let a = worker.run { 1 }
        async let b = worker.run { 2 }
        #expect(try await [a, b] == [1, 2])
        #expect(try await worker.currentNice() == BackgroundWorker.niceValue)
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == callerNice)
    }

    @Test("hands a job's error back to its caller, and keeps running later jobs")
    func errors() async throws {
        let worker = try BackgroundWorker(name: "test-worker")
        await #expect(throws: Refused.self) { try await worker.run { () throws -> Int in throw Refused() } }
        #expect(try await worker.run { "still here" } == "still here")
    }
}
