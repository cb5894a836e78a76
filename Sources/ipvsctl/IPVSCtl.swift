import ArgumentParser

@main
struct IPVSCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipvsctl",
        abstract: "Inspect and edit the kernel's IPVS tables (ipvsadm-compatible)."
    )
}
