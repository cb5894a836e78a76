import Testing

@Suite struct IPVSAdmPlaceholder {}
