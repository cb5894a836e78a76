// The kernel tests land with the netlink client merge.
