import Testing

@Suite struct KeepalivedConfigPlaceholder {}
