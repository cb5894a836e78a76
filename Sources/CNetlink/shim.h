// The netlink C boundary of Vigil: libnl headers and the kernel's netlink and IPVS UAPI
// constants. Only the layers that speak netlink import it; system-call shims are in CVigilSystem.
#ifndef VIGIL_CNETLINK_SHIM_H
#define VIGIL_CNETLINK_SHIM_H

#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#endif
