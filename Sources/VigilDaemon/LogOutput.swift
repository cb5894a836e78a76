#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import Synchronization
import VigilSupport

/// Where the daemon's log lines go, as keepalived's `-l`, `-G`, `-S` and `-g` choose.
public struct LogDestinations: Sendable, Hashable {
    /// Syslog (`/dev/log`) unless `-G`.
    public var syslog: Bool
    /// The syslog facility (`-S`; default daemon).
    public var facility: SyslogFacility
    /// Standard error (`-l`).
    public var console: Bool
    /// A file, appended to (`-g FILE`).
    public var file: String?
    /// `-D`: debug detail.
    public var detail: Bool

    public init(syslog: Bool = true, facility: SyslogFacility = .daemon, console: Bool = false, file: String? = nil, detail: Bool = false) {
        self.syslog = syslog
        self.facility = facility
        self.console = console
        self.file = file
        self.detail = detail
    }
}

/// A syslog facility as `-S` names it: `0`–`7` or `local0`–`local7` (LOG_LOCAL0…7), `user`, `daemon`.
public struct SyslogFacility: Sendable, Hashable, CustomStringConvertible {
    /// The facility code shifted as `<syslog.h>` does (`LOG_DAEMON` is 3 << 3).
    public let code: Int32
    public let description: String

    /// `LOG_DAEMON`.
    public static let daemon = SyslogFacility(code: 3 << 3, description: "daemon")
    /// `LOG_USER`.
    public static let user = SyslogFacility(code: 1 << 3, description: "user")

    private init(code: Int32, description: String) {
        self.code = code
        self.description = description
    }

    /// Parses `-S`'s argument; nil when it is none of the accepted spellings.
    public init?(_ text: String) {
        switch text {
        case "daemon": self = .daemon
        case "user": self = .user
        default:
            let digit = text.hasPrefix("local") ? String(text.dropFirst(5)) : text
            // LOG_LOCAL0 is 16 << 3; LOG_LOCAL1…7 follow.
            guard digit.count == 1, let n = Int32(digit), (0...7).contains(n) else { return nil }
            self.init(code: (16 + n) << 3, description: "local\(n)")
        }
    }
}

/// One shared output for every logger of the process: writes a line to each destination.
final class LogOutput: Sendable {
    let destinations: LogDestinations
    private let file: Mutex<Int32>

    init(_ destinations: LogDestinations) throws(SystemCallError) {
        self.destinations = destinations
        var fd: Int32 = -1
        if let path = destinations.file {
            fd = try systemCall("open \(path)") { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640) }
        }
        self.file = Mutex(fd)
        if destinations.syslog {
            // The identity string must outlive the connection: a static literal.
            openlog("Vigil", LOG_PID | LOG_NDELAY, destinations.facility.code)
        }
    }

    func write(level: Logger.Level, label: String, message: String) {
        if destinations.syslog {
            // "%s" takes a C string: a Swift String is no C variadic argument.
            message.withCString { text in withVaList([text]) { vsyslog(Self.priority(level), "%s", $0) } }
        }
        guard destinations.console || destinations.file != nil else { return }
        let line = "\(Self.timestamp()) \(label): \(message)\n"
        if destinations.console { writeStandardError(line) }
        file.withLock { fd in
            guard fd >= 0 else { return }
            let bytes = Array(line.utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
    }

    /// keepalived's console time stamp: `Thu Dec  3 06:21:17 2026`.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%a %b %e %H:%M:%S %Y", &parts)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// swift-log level → `<syslog.h>` priority (LOG_DEBUG 7 … LOG_CRIT 2).
    static func priority(_ level: Logger.Level) -> Int32 {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

/// A swift-log handler writing through the process's ``LogOutput``.
struct VigilLogHandler: LogHandler {
    let label: String
    let output: LogOutput
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        var text = message.description
        let all = self.metadata.merging(metadata ?? [:]) { _, new in new }
        if !all.isEmpty { text += " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        output.write(level: level, label: label, message: text)
    }
}

/// The daemon's logging: sets swift-log's global handler once, for every label.
public enum DaemonLogging {
    /// Bootstraps swift-log with `destinations`; call once, before the first logger is made.
    public static func bootstrap(_ destinations: LogDestinations) throws(SystemCallError) {
        let output = try LogOutput(destinations)
        let level: Logger.Level = destinations.detail ? .debug : .info
        LoggingSystem.bootstrap { label in VigilLogHandler(label: label, output: output, logLevel: level) }
    }
}
