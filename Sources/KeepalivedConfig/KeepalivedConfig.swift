// Placeholder until the KeepalivedConfig layer lands.
