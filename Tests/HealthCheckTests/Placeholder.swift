import Testing

@Suite struct HealthCheckPlaceholder {}
