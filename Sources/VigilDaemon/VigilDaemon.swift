// Placeholder until the VigilDaemon layer lands.
