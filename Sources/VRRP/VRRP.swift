// Placeholder until the VRRP layer lands.
