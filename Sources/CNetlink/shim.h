// The C boundary of Vigil: libnl headers, kernel UAPI constants and small static-inline shims
// for what Swift cannot call directly (variadic functions, macros).
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
