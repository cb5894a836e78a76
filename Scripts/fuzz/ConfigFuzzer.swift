// libFuzzer entry point for the keepalived.conf parser (built by Scripts/fuzz/config.sh).
import KeepalivedConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func configFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Includes are not followed and scripts not probed: the input alone decides the outcome.
    let options = LoadOptions(configID: "fuzz", hostName: "fuzz.example", checkScripts: false, followIncludes: false)
    let result = ConfigLoader.parse(bytes: bytes, fileName: "fuzz.conf", options: options)
    // Invariants: a configuration is produced exactly when there are no errors; it encodes and decodes.
    if (result.configuration == nil) != result.hasErrors { fatalError("configuration/error mismatch") }
    for d in result.diagnostics where d.line < 1 || d.column < 1 { fatalError("diagnostic without a position: \(d)") }
    if let c = result.configuration, size < 4096 {
        guard let json = try? c.jsonString(), let back = try? KeepalivedConfiguration.fromJSON(json) else {
            fatalError("JSON encoding failed")
        }
        if back != c { fatalError("JSON round trip changed the configuration") }
    }
    return 0
}
