#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HealthCheck
import IPVS
import Logging

/// The operators' overrides (`vigil ctl drain|weight|disable`) in a state file, so that a
/// restart keeps them: JSON, written whole to a temporary file and renamed over the old one
/// (mode 0600) after every change.
public struct OverrideStore: Sendable {
    /// Where `vigil` keeps them unless `--state-file` says otherwise.
    public static let defaultPath = "/var/lib/vigil/overrides.json"

    public let path: String

    public init(path: String) { self.path = path }

    /// The file's format: one entry per real server with an override.
    struct File: Codable {
        var version = 1
        var overrides: [Entry]
    }

    struct Entry: Codable {
        var virtualServer: ServiceKey
        var realServer: DestinationKey
        var override: RealServerOverride
    }

    /// A state file that exists but cannot be used.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The overrides kept in the file; none when it does not exist.
    public func load() throws(LoadError) -> [ServiceKey: [DestinationKey: RealServerOverride]] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw LoadError(description: "\(path): cannot read the state file") }
            return [:]
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw LoadError(description: "\(path): not a Vigil state file (\(error)); starting without overrides, the file is left as it is")
        }
        guard file.version == 1 else { throw LoadError(description: "\(path): state file version \(file.version), expected 1") }
        var out: [ServiceKey: [DestinationKey: RealServerOverride]] = [:]
        for e in file.overrides { out[e.virtualServer, default: [:]][e.realServer] = e.override }
        return out
    }

    /// Replaces the file's content with `overrides` (removes it when there are none).
    public func save(_ overrides: [ServiceKey: [DestinationKey: RealServerOverride]]) throws {
        let entries = overrides.sorted { ServiceKey.precedes($0.key, $1.key) }.flatMap { service, servers in
            servers.sorted { DestinationKey.precedes($0.key, $1.key) }.map { Entry(virtualServer: service, realServer: $0.key, override: $0.value) }
        }
        guard !entries.isEmpty else {
            if unlink(path) != 0, errno != ENOENT { throw LoadError(description: "\(path): cannot remove: \(String(cString: strerror(errno)))") }
            return
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(File(overrides: entries))
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw LoadError(description: "\(temporary): cannot write: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            throw LoadError(description: "\(path): cannot replace: \(String(cString: strerror(errno)))")
        }
    }
}
