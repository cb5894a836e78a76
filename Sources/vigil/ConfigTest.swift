#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KeepalivedConfig
import VigilSupport

enum ConfigTestMode {
    /// `vigil -t`: prints diagnostics compiler style; 0 when the configuration can run, 1 on errors.
    /// Runs on the main thread so allocations come from glibc's main arena, which grows with `brk(2)` in
    /// large steps (a worker thread's arena grows a page at a time with `mprotect(2)`).
    @MainActor
    static func run(_ options: VigilOptions) async -> Int32 {
        growHeapInLargeSteps()
        var result = ConfigLoader.load(path: options.file, options: LoadOptions(configID: options.configID, freesSyntaxTree: false))
        if options.allConfig { result = result.requiringIncludedFiles() }
        var text = ""
        for d in result.diagnostics { text += d.description + "\n" }
        let errors = result.errors.count
        let warnings = result.warnings.count
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        if errors > 0 {
            text += "vigil: \(options.file): \(plural(errors, "error")), \(plural(warnings, "warning")); configuration rejected\n"
        } else {
            text += "vigil: \(options.file): configuration OK (\(plural(warnings, "warning")))\n"
        }
        if let path = options.configTestFile {
            guard let file = fopen(path, "w") else {
                writeStandardError("vigil: -t=\(path): cannot open: \(Errno.current)\n")
                exit(1)
            }
            fputs(text, file)
            fclose(file)
        } else {
            writeStandardError(text)
        }
        let status: Int32 = errors > 0 ? 1 : 0
        // The process ends here: exiting now spares tearing down the resolved model object by object.
        exit(status)
    }

    /// `M_TOP_PAD` from glibc's <malloc.h>: extra bytes requested from the kernel each time the heap grows.
    private static let mallocTopPad: Int32 = -2

    /// Loading a large file builds one object per statement; growing the heap 64 MiB at a time instead of
    /// glibc's 128 KiB saves hundreds of `brk(2)` calls (measured by `make bench-config`). `mallopt` is
    /// looked up at run time because <malloc.h> is not part of the Glibc module; elsewhere this does nothing.
    private static func growHeapInLargeSteps() {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mallocTopPad, 64 << 20)
        #endif
    }
}
