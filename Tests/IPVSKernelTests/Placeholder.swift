import Testing

@Suite struct IPVSKernelPlaceholder {}
