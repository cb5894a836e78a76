#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension KeepalivedConfiguration {
    /// Version of the `--dump-config` JSON layout (Docs/configuration.md); bumped on incompatible changes.
    public static let jsonSchemaVersion = 1

    /// The resolved configuration as pretty-printed JSON with sorted keys:
    /// `{"schemaVersion": 1, "configuration": {...}}`.
    public func jsonString() throws -> String {
        struct Document: Encodable {
            var schemaVersion: Int
            var configuration: KeepalivedConfiguration
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(Document(schemaVersion: Self.jsonSchemaVersion, configuration: self))
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes the `configuration` member of a `--dump-config` document.
    public static func fromJSON(_ text: String) throws -> KeepalivedConfiguration {
        struct Document: Decodable {
            var schemaVersion: Int
            var configuration: KeepalivedConfiguration
        }
        return try JSONDecoder().decode(Document.self, from: Data(text.utf8)).configuration
    }
}
