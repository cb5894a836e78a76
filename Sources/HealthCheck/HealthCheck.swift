// Placeholder until the HealthCheck layer lands.
