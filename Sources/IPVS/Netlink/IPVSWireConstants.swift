import CNetlink

/// The IPVS generic-netlink family (linux/ip_vs.h), with Swift names for its C constants.
enum IPVSWire {
    /// `IPVS_GENL_NAME`: the family name the controller resolves.
    static let familyName = "IPVS"
    /// `IPVS_GENL_VERSION`.
    static let version = UInt8(IPVS_GENL_VERSION)

    /// `IPVS_CMD_*` commands.
    enum Command {
        /// `IPVS_CMD_NEW_SERVICE`.
        static let newService = UInt8(IPVS_CMD_NEW_SERVICE)
        /// `IPVS_CMD_SET_SERVICE`.
        static let setService = UInt8(IPVS_CMD_SET_SERVICE)
        /// `IPVS_CMD_DEL_SERVICE`.
        static let deleteService = UInt8(IPVS_CMD_DEL_SERVICE)
        /// `IPVS_CMD_GET_SERVICE`.
        static let getService = UInt8(IPVS_CMD_GET_SERVICE)
        /// `IPVS_CMD_NEW_DEST`.
        static let newDestination = UInt8(IPVS_CMD_NEW_DEST)
        /// `IPVS_CMD_SET_DEST`.
        static let setDestination = UInt8(IPVS_CMD_SET_DEST)
        /// `IPVS_CMD_DEL_DEST`.
        static let deleteDestination = UInt8(IPVS_CMD_DEL_DEST)
        /// `IPVS_CMD_GET_DEST`.
        static let getDestination = UInt8(IPVS_CMD_GET_DEST)
        /// `IPVS_CMD_NEW_DAEMON`.
        static let newDaemon = UInt8(IPVS_CMD_NEW_DAEMON)
        /// `IPVS_CMD_DEL_DAEMON`.
        static let deleteDaemon = UInt8(IPVS_CMD_DEL_DAEMON)
        /// `IPVS_CMD_GET_DAEMON`.
        static let getDaemon = UInt8(IPVS_CMD_GET_DAEMON)
        /// `IPVS_CMD_SET_CONFIG`.
        static let setConfig = UInt8(IPVS_CMD_SET_CONFIG)
        /// `IPVS_CMD_GET_CONFIG`.
        static let getConfig = UInt8(IPVS_CMD_GET_CONFIG)
        /// `IPVS_CMD_GET_INFO`.
        static let getInfo = UInt8(IPVS_CMD_GET_INFO)
        /// `IPVS_CMD_ZERO`.
        static let zero = UInt8(IPVS_CMD_ZERO)
        /// `IPVS_CMD_FLUSH`.
        static let flush = UInt8(IPVS_CMD_FLUSH)
    }

    /// `IPVS_CMD_ATTR_*`: top-level attributes.
    enum CommandAttribute {
        /// `IPVS_CMD_ATTR_SERVICE` (nested).
        static let service = UInt16(IPVS_CMD_ATTR_SERVICE)
        /// `IPVS_CMD_ATTR_DEST` (nested).
        static let destination = UInt16(IPVS_CMD_ATTR_DEST)
        /// `IPVS_CMD_ATTR_DAEMON` (nested).
        static let daemon = UInt16(IPVS_CMD_ATTR_DAEMON)
        /// `IPVS_CMD_ATTR_TIMEOUT_TCP` (u32 seconds).
        static let timeoutTCP = UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP)
        /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN` (u32 seconds).
        static let timeoutTCPFin = UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN)
        /// `IPVS_CMD_ATTR_TIMEOUT_UDP` (u32 seconds).
        static let timeoutUDP = UInt16(IPVS_CMD_ATTR_TIMEOUT_UDP)
    }

    /// `IPVS_SVC_ATTR_*`: inside `IPVS_CMD_ATTR_SERVICE`.
    enum ServiceAttribute {
        /// `IPVS_SVC_ATTR_AF` (u16).
        static let family = UInt16(IPVS_SVC_ATTR_AF)
        /// `IPVS_SVC_ATTR_PROTOCOL` (u16).
        static let `protocol` = UInt16(IPVS_SVC_ATTR_PROTOCOL)
        /// `IPVS_SVC_ATTR_ADDR` (16-byte `union nf_inet_addr`).
        static let address = UInt16(IPVS_SVC_ATTR_ADDR)
        /// `IPVS_SVC_ATTR_PORT` (be16).
        static let port = UInt16(IPVS_SVC_ATTR_PORT)
        /// `IPVS_SVC_ATTR_FWMARK` (u32).
        static let firewallMark = UInt16(IPVS_SVC_ATTR_FWMARK)
        /// `IPVS_SVC_ATTR_SCHED_NAME` (string).
        static let scheduler = UInt16(IPVS_SVC_ATTR_SCHED_NAME)
        /// `IPVS_SVC_ATTR_FLAGS` (`struct ip_vs_flags`: u32 flags, u32 mask).
        static let flags = UInt16(IPVS_SVC_ATTR_FLAGS)
        /// `IPVS_SVC_ATTR_TIMEOUT` (u32 seconds).
        static let timeout = UInt16(IPVS_SVC_ATTR_TIMEOUT)
        /// `IPVS_SVC_ATTR_NETMASK` (be32 mask for IPv4, prefix length for IPv6).
        static let netmask = UInt16(IPVS_SVC_ATTR_NETMASK)
        /// `IPVS_SVC_ATTR_STATS` (nested, 32-bit counters).
        static let statistics = UInt16(IPVS_SVC_ATTR_STATS)
        /// `IPVS_SVC_ATTR_PE_NAME` (string).
        static let persistenceEngine = UInt16(IPVS_SVC_ATTR_PE_NAME)
        /// `IPVS_SVC_ATTR_STATS64` (nested, 64-bit counters).
        static let statistics64 = UInt16(IPVS_SVC_ATTR_STATS64)
    }

    /// `IPVS_DEST_ATTR_*`: inside `IPVS_CMD_ATTR_DEST`.
    enum DestinationAttribute {
        /// `IPVS_DEST_ATTR_ADDR` (16 bytes).
        static let address = UInt16(IPVS_DEST_ATTR_ADDR)
        /// `IPVS_DEST_ATTR_PORT` (be16).
        static let port = UInt16(IPVS_DEST_ATTR_PORT)
        /// `IPVS_DEST_ATTR_FWD_METHOD` (u32, `IP_VS_CONN_F_FWD_MASK` bits).
        static let forwarding = UInt16(IPVS_DEST_ATTR_FWD_METHOD)
        /// `IPVS_DEST_ATTR_WEIGHT` (u32; the kernel stores an int).
        static let weight = UInt16(IPVS_DEST_ATTR_WEIGHT)
        /// `IPVS_DEST_ATTR_U_THRESH` (u32).
        static let upperThreshold = UInt16(IPVS_DEST_ATTR_U_THRESH)
        /// `IPVS_DEST_ATTR_L_THRESH` (u32).
        static let lowerThreshold = UInt16(IPVS_DEST_ATTR_L_THRESH)
        /// `IPVS_DEST_ATTR_ACTIVE_CONNS` (u32).
        static let activeConnections = UInt16(IPVS_DEST_ATTR_ACTIVE_CONNS)
        /// `IPVS_DEST_ATTR_INACT_CONNS` (u32).
        static let inactiveConnections = UInt16(IPVS_DEST_ATTR_INACT_CONNS)
        /// `IPVS_DEST_ATTR_PERSIST_CONNS` (u32).
        static let persistentConnections = UInt16(IPVS_DEST_ATTR_PERSIST_CONNS)
        /// `IPVS_DEST_ATTR_STATS` (nested, 32-bit counters).
        static let statistics = UInt16(IPVS_DEST_ATTR_STATS)
        /// `IPVS_DEST_ATTR_ADDR_FAMILY` (u16).
        static let family = UInt16(IPVS_DEST_ATTR_ADDR_FAMILY)
        /// `IPVS_DEST_ATTR_STATS64` (nested, 64-bit counters).
        static let statistics64 = UInt16(IPVS_DEST_ATTR_STATS64)
        /// `IPVS_DEST_ATTR_TUN_TYPE` (u8).
        static let tunnelType = UInt16(IPVS_DEST_ATTR_TUN_TYPE)
        /// `IPVS_DEST_ATTR_TUN_PORT` (be16).
        static let tunnelPort = UInt16(IPVS_DEST_ATTR_TUN_PORT)
        /// `IPVS_DEST_ATTR_TUN_FLAGS` (u16).
        static let tunnelFlags = UInt16(IPVS_DEST_ATTR_TUN_FLAGS)
    }

    /// `IPVS_DAEMON_ATTR_*`: inside `IPVS_CMD_ATTR_DAEMON`.
    enum DaemonAttribute {
        /// `IPVS_DAEMON_ATTR_STATE` (u32, `IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`).
        static let state = UInt16(IPVS_DAEMON_ATTR_STATE)
        /// `IPVS_DAEMON_ATTR_MCAST_IFN` (string).
        static let interface = UInt16(IPVS_DAEMON_ATTR_MCAST_IFN)
        /// `IPVS_DAEMON_ATTR_SYNC_ID` (u32).
        static let syncID = UInt16(IPVS_DAEMON_ATTR_SYNC_ID)
        /// `IPVS_DAEMON_ATTR_SYNC_MAXLEN` (u16).
        static let maxLength = UInt16(IPVS_DAEMON_ATTR_SYNC_MAXLEN)
        /// `IPVS_DAEMON_ATTR_MCAST_GROUP` (4-byte `in_addr`).
        static let group = UInt16(IPVS_DAEMON_ATTR_MCAST_GROUP)
        /// `IPVS_DAEMON_ATTR_MCAST_GROUP6` (16-byte `in6_addr`).
        static let group6 = UInt16(IPVS_DAEMON_ATTR_MCAST_GROUP6)
        /// `IPVS_DAEMON_ATTR_MCAST_PORT` (u16, host order).
        static let port = UInt16(IPVS_DAEMON_ATTR_MCAST_PORT)
        /// `IPVS_DAEMON_ATTR_MCAST_TTL` (u8).
        static let ttl = UInt16(IPVS_DAEMON_ATTR_MCAST_TTL)
    }

    /// `IPVS_STATS_ATTR_*`: inside the statistics nests (u32 or u64 each).
    enum StatisticsAttribute {
        /// `IPVS_STATS_ATTR_CONNS`.
        static let connections = UInt16(IPVS_STATS_ATTR_CONNS)
        /// `IPVS_STATS_ATTR_INPKTS`.
        static let inPackets = UInt16(IPVS_STATS_ATTR_INPKTS)
        /// `IPVS_STATS_ATTR_OUTPKTS`.
        static let outPackets = UInt16(IPVS_STATS_ATTR_OUTPKTS)
        /// `IPVS_STATS_ATTR_INBYTES`.
        static let inBytes = UInt16(IPVS_STATS_ATTR_INBYTES)
        /// `IPVS_STATS_ATTR_OUTBYTES`.
        static let outBytes = UInt16(IPVS_STATS_ATTR_OUTBYTES)
        /// `IPVS_STATS_ATTR_CPS`.
        static let cps = UInt16(IPVS_STATS_ATTR_CPS)
        /// `IPVS_STATS_ATTR_INPPS`.
        static let inPPS = UInt16(IPVS_STATS_ATTR_INPPS)
        /// `IPVS_STATS_ATTR_OUTPPS`.
        static let outPPS = UInt16(IPVS_STATS_ATTR_OUTPPS)
        /// `IPVS_STATS_ATTR_INBPS`.
        static let inBPS = UInt16(IPVS_STATS_ATTR_INBPS)
        /// `IPVS_STATS_ATTR_OUTBPS`.
        static let outBPS = UInt16(IPVS_STATS_ATTR_OUTBPS)
    }

    /// `IPVS_INFO_ATTR_*`: top-level attributes of the `IPVS_CMD_GET_INFO` reply.
    enum InfoAttribute {
        /// `IPVS_INFO_ATTR_VERSION` (u32).
        static let version = UInt16(IPVS_INFO_ATTR_VERSION)
        /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (u32).
        static let connectionTableSize = UInt16(IPVS_INFO_ATTR_CONN_TAB_SIZE)
    }

    /// `IP_VS_CONN_F_FWD_MASK`: the forwarding-method bits of a destination's connection flags.
    static let forwardingMask = UInt32(IP_VS_CONN_F_FWD_MASK)
}
