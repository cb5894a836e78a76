import VigilDaemon

/// `vigil -P`: the VRRP half only (as `keepalived -P`).
enum VRRPMode {
    static func run(_ options: VigilOptions) async -> Int32 {
        await VRRPDaemon.run(VRRPDaemonOptions(
            configFile: options.file, configID: options.configID, pidFile: options.pidFile,
            vrrpPidFile: options.vrrpPidFile, logDetail: options.logDetail))
    }
}
