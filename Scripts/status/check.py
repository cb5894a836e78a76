#!/usr/bin/env python3
"""Checks a running Vigil status server as its users' tools would read it.

  check.py BASE_URL [--vrrp] [--lvs] [--kernel]

GET /status is validated against Docs/status.schema.json (jsonschema, from PyPI); GET /metrics
is parsed with prometheus_client's text parser (PyPI) and must carry the exporter-compatible
names and labels (--vrrp: mehdy/keepalived-exporter's; --lvs: Vigil's per real server;
--kernel: gen2brain's and node_exporter's IPVS names, read from the kernel). Prints one JSON
line of what it read; exits 1 naming the first problem.
"""
import json
import sys
import urllib.request
from pathlib import Path

import jsonschema
from prometheus_client.parser import text_string_to_metric_families

SCHEMA = Path(__file__).resolve().parents[2] / "Docs" / "status.schema.json"

VRRP = {
    "keepalived_vrrp_state": {"iname", "intf", "vrid", "ip_address"},
    "keepalived_advertisements_received": {"iname", "intf", "vrid", "state"},
    "keepalived_advertisements_sent": {"iname", "intf", "vrid", "state"},
    "keepalived_become_master": {"iname", "intf", "vrid", "state"},
    "keepalived_release_master": {"iname", "intf", "vrid", "state"},
    "keepalived_packet_length_errors": {"iname", "intf", "vrid", "state"},
    "keepalived_advertisements_interval_errors": {"iname", "intf", "vrid", "state"},
    "keepalived_ip_ttl_errors": {"iname", "intf", "vrid", "state"},
    "keepalived_invalid_type_received": {"iname", "intf", "vrid", "state"},
    "keepalived_address_list_errors": {"iname", "intf", "vrid", "state"},
    "keepalived_authentication_invalid": {"iname", "intf", "vrid", "state"},
    "keepalived_authentication_mismatch": {"iname", "intf", "vrid", "state"},
    "keepalived_authentication_failure": {"iname", "intf", "vrid", "state"},
    "keepalived_priority_zero_received": {"iname", "intf", "vrid", "state"},
    "keepalived_priority_zero_sent": {"iname", "intf", "vrid", "state"},
}
LVS = {
    "vigil_real_server_up": {"service", "real_server"},
    "vigil_real_server_weight": {"service", "real_server"},
    "vigil_checker_up": {"service", "real_server", "kind", "target"},
    "vigil_virtual_server_quorum_up": {"service"},
    "vigil_checks": set(),
}
KERNEL = {
    "keepalived_lvs_vip_conn": {"addr", "proto"},
    "keepalived_lvs_vip_in_packets": {"addr", "proto"},
    "keepalived_lvs_vip_in_bytes": {"addr", "proto"},
    "keepalived_lvs_rs_conn": {"addr", "proto"},
    "keepalived_lvs_rs_in_bytes": {"addr", "proto"},
    "node_ipvs_backend_connections_active": {"local_address", "local_port", "local_mark", "proto", "remote_address", "remote_port"},
    "node_ipvs_backend_weight": {"local_address", "local_port", "local_mark", "proto", "remote_address", "remote_port"},
    "node_ipvs_connections": set(),
}


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def main():
    base = sys.argv[1].rstrip("/")
    flags = set(sys.argv[2:])
    status_code, ctype, body = get(base + "/status")
    if status_code != 200 or not ctype.startswith("application/json"):
        sys.exit(f"/status answered {status_code} {ctype}")
    document = json.loads(body)
    try:
        jsonschema.validate(document, json.loads(SCHEMA.read_text()), format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as e:
        sys.exit(f"/status does not follow {SCHEMA.name}: {e.message} at {list(e.absolute_path)}")

    _, ctype, text = get(base + "/metrics")
    if not ctype.startswith("text/plain"):
        sys.exit(f"/metrics Content-Type {ctype}")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    wanted = {}
    if "--vrrp" in flags:
        wanted.update(VRRP)
    if "--lvs" in flags:
        wanted.update(LVS)
    if "--kernel" in flags:
        wanted.update(KERNEL)
    for name, labels in wanted.items():
        family = families.get(name)
        if family is None or not family.samples:
            sys.exit(f"/metrics has no {name} (has: {sorted(families)})")
        for sample in family.samples:
            if set(sample.labels) != labels:
                sys.exit(f"/metrics {sample.name} has labels {sorted(sample.labels)}, expected {sorted(labels)}")
    values = {}
    for family in families.values():
        for s in family.samples:
            key = s.name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items())) + "}" if s.labels else "")
            values[key] = s.value
    print(json.dumps({"status": document, "metrics": values}))


if __name__ == "__main__":
    main()
