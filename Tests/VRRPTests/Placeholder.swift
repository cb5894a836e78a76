import Testing

@Suite struct VRRPPlaceholder {}
