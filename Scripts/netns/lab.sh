#!/usr/bin/env bash
# Namespace lab for VRRP: a bridge namespace PREFIXsw and nodes PREFIXn0..PREFIXnN joined by veth.
# Node i has eth0 = 192.0.2.(10+i)/24 (documentation range); node 0 is the observer.
#   Scripts/netns/lab.sh up PREFIX N     create
#   Scripts/netns/lab.sh down PREFIX     kill everything inside and delete
# Source it to use lab_up / lab_down / lab_exec from another script.
set -u

lab_up() {
    local p=$1 n=$2 i
    ip netns add "${p}sw" || return 1
    ip -n "${p}sw" link add br0 type bridge
    ip -n "${p}sw" link set br0 up
    for i in $(seq 0 "$n"); do
        ip netns add "${p}n$i"
        # No duplicate address detection: link-local addresses are usable at once.
        ip netns exec "${p}n$i" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
        ip -n "${p}n$i" link set lo up
        ip link add eth0 netns "${p}n$i" type veth peer name "p$i" netns "${p}sw"
        ip -n "${p}sw" link set "p$i" master br0
        ip -n "${p}sw" link set "p$i" up
        ip -n "${p}n$i" addr add "192.0.2.$((10 + i))/24" dev eth0
        ip -n "${p}n$i" link set eth0 up
    done
}

lab_down() {
    local p=$1 ns pid
    for ns in $(ip netns list | awk '{print $1}' | grep "^${p}" ); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    done
    sleep 0.2
    for ns in $(ip netns list | awk '{print $1}' | grep "^${p}" ); do ip netns del "$ns"; done
}

lab_exec() {
    local p=$1 i=$2
    shift 2
    ip netns exec "${p}n$i" "$@"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    case "${1:-}" in
        up) lab_up "$2" "$3" ;;
        down) lab_down "$2" ;;
        *) echo "usage: $0 up PREFIX N | down PREFIX" >&2; exit 2 ;;
    esac
fi
