#!/bin/bash
# Captures golden output from Debian's ipvsadm for Fixtures/ipvs/varied.rules.
# Run inside the lab VM from the repository root: Scripts/vm/run.sh 'bash Fixtures/ipvs/capture.sh'
set -u
g=Fixtures/ipvs/golden
mkdir -p $g
ipvsadm -C
ipvsadm -R < Fixtures/ipvs/varied.rules; echo "restore rc=$?"
ipvsadm -Ln > $g/Ln.txt
ipvsadm -L > $g/L.txt
ipvsadm -Sn > $g/Sn.txt
ipvsadm -S > $g/S.txt
for o in stats rate thresholds persistent-conn exact tun-info; do
  ipvsadm -Ln --$o > $g/Ln-$o.txt
  ipvsadm -L --$o > $g/L-$o.txt
done
ipvsadm -Ln --stats --exact > $g/Ln-stats-exact.txt
ipvsadm -Ln -t 192.0.2.2:443 > $g/Ln-service-tcp.txt
ipvsadm -Ln -f 43 -6 > $g/Ln-service-fwm6.txt 2>&1
ipvsadm -Ln -t [2001:db8::1]:80 > $g/Ln-service-tcp6.txt
ipvsadm -Ln --timeout > $g/Ln-timeout.txt
ipvsadm --set 901 121 301; ipvsadm -Ln --timeout > $g/Ln-timeout-set.txt
ipvsadm -Ln --daemon > $g/Ln-daemon-none.txt
ip link add vigil0 type dummy && ip link set vigil0 up && ip addr add 192.0.2.254/24 dev vigil0
ipvsadm --start-daemon master --mcast-interface vigil0 --syncid 7
ipvsadm --start-daemon backup --mcast-interface vigil0 --syncid 9
ipvsadm -Ln --daemon > $g/Ln-daemon.txt
ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup
# connections: SYNs to a DR service go out the dummy interface and create entries
for p in 1 2 3; do timeout 1 bash -c "echo > /dev/tcp/192.0.2.1/80" 2>/dev/null; done
timeout 1 bash -c "echo > /dev/tcp/192.0.2.2/443" 2>/dev/null
cat /proc/net/ip_vs_conn > $g/proc-ip_vs_conn.txt
ipvsadm -Lnc > $g/Lnc.txt
ipvsadm -Lc > $g/Lc.txt
ipvsadm -Lnc --persistent-conn > $g/Lnc-persistent-conn.txt
ipvsadm -Ln --stats > $g/Ln-stats-traffic.txt
ipvsadm -Ln --stats --exact > $g/Ln-stats-exact-traffic.txt
ipvsadm -Ln --persistent-conn > $g/Ln-persistent-conn-traffic.txt
ipvsadm -Ln > $g/Ln-traffic.txt
ipvsadm -Ln -t 192.0.2.99:80 > $g/err-noservice.txt 2>&1; echo "rc=$?" >> $g/err-noservice.txt
ipvsadm -C
ipvsadm -Ln > $g/Ln-empty.txt
ipvsadm --version > $g/version.txt 2>&1
cat /etc/hosts > $g/vm-hosts.txt
