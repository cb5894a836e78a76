import Testing

@Suite struct VigilDaemonPlaceholder {}
