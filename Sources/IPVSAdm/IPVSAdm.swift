// Placeholder until the IPVSAdm layer lands.
