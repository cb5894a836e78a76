import Testing

@Suite struct IPVSPlaceholder {}
