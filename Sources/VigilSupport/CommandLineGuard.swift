#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Exits with status 2 when the process has no command line at all (not even its own name).
/// With the Swift runtime linked statically, `CommandLine.arguments` comes from /proc/self/cmdline;
/// where /proc is not mounted (a bare chroot) it is empty, and running on as if no flag were given
/// would start the daemon on the default configuration instead of doing what was asked.
public func requireCommandLine(_ program: String) {
    guard CommandLine.arguments.isEmpty else { return }
    writeStandardError("\(program): cannot read the command line (the Swift runtime reads /proc/self/cmdline): mount /proc\n")
    exit(2)
}
