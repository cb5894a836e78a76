#!/usr/bin/env python3
"""Helpers for `make demo` (Scripts/demo/demo.sh): the client's traffic, the backends' echo
server, and the judging of each step from the client's logs and the kernel's tables.

Subcommands:
  client VIP HTTP_PORT ECHO_PORT DIR      HTTP requests (DIR/requests) and one long-lived echo
                                          session (DIR/session) until DIR/stop appears (bounded)
  echo NAME PORT                          line echo server answering "NAME LINE"
  table                                   `ipvsadm -Ln` on stdin -> JSON on stdout
  judge STEP SUMMARY DIR T0 T1 [K=V ...]  decides one step, narrates it, appends it to SUMMARY
  summary SUMMARY                         the closing table; exit 1 if a step failed
Only the standard library: it runs under the lab VM's plain python3.
"""
import json
import os
import socket
import socketserver
import sys
import threading
import time

MAX_SECONDS = 900  # the client stops on its own after this, whatever happens to the script


# ---------------------------------------------------------------- traffic

def client(vip, http_port, echo_port, folder, rate=10.0):
    stop_file = os.path.join(folder, "stop")
    deadline = time.monotonic() + MAX_SECONDS

    def running():
        return time.monotonic() < deadline and not os.path.exists(stop_file)

    def requests():
        log = open(os.path.join(folder, "requests"), "a", buffering=1)
        period = 1.0 / rate
        due = time.monotonic()
        while running():
            started = time.time()
            try:
                with socket.create_connection((vip, http_port), timeout=1.0) as s:
                    s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
                    data = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                status = head.split(b" ")[1].decode() if head.count(b" ") else "?"
                words = body.decode(errors="replace").split()
                answer = words[0] if status == "200" and words else f"FAIL:http-{status}"
            except OSError as e:
                answer = f"FAIL:{type(e).__name__}"
            log.write(f"{started:.3f} {answer}\n")
            due += period
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                due = time.monotonic()

    def session():
        """One TCP connection, an exchange every 100 ms; a reconnect is logged as such."""
        log = open(os.path.join(folder, "session"), "a", buffering=1)
        seq = 0
        while running():
            try:
                s = socket.create_connection((vip, echo_port), timeout=2.0)
            except OSError as e:
                log.write(f"{time.time():.3f} connect-failed {type(e).__name__}\n")
                time.sleep(0.5)
                continue
            # A failover stalls the exchange for a few seconds while TCP retransmits: wait it out.
            s.settimeout(20.0)
            log.write(f"{time.time():.3f} connected\n")
            reader = s.makefile("rb")
            try:
                while running():
                    sent = time.time()
                    s.sendall(f"{seq}\n".encode())
                    line = reader.readline()
                    if not line:
                        raise ConnectionResetError("closed by peer")
                    name, _, echoed = line.decode().strip().partition(" ")
                    if echoed != str(seq):
                        raise ConnectionError(f"echo mismatch {echoed!r} for {seq}")
                    log.write(f"{sent:.3f} ok {name} {(time.time() - sent) * 1000:.0f}\n")
                    seq += 1
                    time.sleep(max(0.0, 0.1 - (time.time() - sent)))
            except OSError as e:
                log.write(f"{time.time():.3f} broken {type(e).__name__}\n")
            finally:
                s.close()

    threads = [threading.Thread(target=requests), threading.Thread(target=session)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def echo(name, port):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            for line in self.rfile:
                self.wfile.write(f"{name} {line.decode().strip()}\n".encode())

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("0.0.0.0", int(port)), Handler) as server:
        server.serve_forever()


# ---------------------------------------------------------------- kernel tables

def parse_table(text):
    """`ipvsadm -Ln` as {"TCP 192.0.2.100:80": {"198.51.100.11:80": {"weight": 1, "forward": "Masq"}}}."""
    table, current = {}, None
    for line in text.splitlines():
        f = line.split()
        if f and f[0] in ("TCP", "UDP", "FWM"):
            current = f"{f[0]} {f[1]}"
            table[current] = {}
        elif line.startswith("  ->") and current and len(f) >= 4 and f[3].isdigit():
            table[current][f[1]] = {"weight": int(f[3]), "forward": f[2]}
    return table


# ---------------------------------------------------------------- judging

def read_requests(folder, t0, t1):
    rows = []
    for line in open(os.path.join(folder, "requests")):
        f = line.split()
        if len(f) == 2 and t0 <= float(f[0]) < t1:
            rows.append((float(f[0]), f[1]))
    return rows


def share(rows):
    counts, failures = {}, 0
    for _, answer in rows:
        if answer.startswith("FAIL"):
            failures += 1
        else:
            counts[answer] = counts.get(answer, 0) + 1
    return dict(sorted(counts.items())), failures


def longest_gap(rows, t0, t1):
    """Longest time between two successful answers within [t0, t1], in ms (10 a second: ~100 when none failed)."""
    ok = [t for t, a in rows if not a.startswith("FAIL")]
    if len(ok) < 2:
        return (t1 - t0) * 1000
    return max(b - a for a, b in zip(ok, ok[1:])) * 1000


def session_facts(folder, t0, t1):
    connects = broken = 0
    slowest, backends = 0, []
    for line in open(os.path.join(folder, "session")):
        f = line.split()
        t = float(f[0])
        if f[1] == "connected":
            connects += 1  # counted over the whole run: one is the first connection
        if not t0 <= t < t1:
            continue
        if f[1] == "broken":
            broken += 1
        elif f[1] == "ok":
            slowest = max(slowest, int(f[3]))
            if not backends or backends[-1] != f[2]:
                backends.append(f[2])
    return {"connections": connects, "broken": broken, "slowest_exchange_ms": slowest, "backends": backends}


def fmt_counts(counts, failures):
    parts = [f"{k} {v}" for k, v in counts.items()] or ["no answers"]
    return ", ".join(parts) + f"; {failures} failed"


def near(value, target, slack):
    return abs(value - target) <= slack


def judge(step, summary, folder, t0, t1, facts):
    t0, t1 = float(t0), float(t1)
    rows = read_requests(folder, t0, t1)
    counts, failures = share(rows)
    total = sum(counts.values())
    table = json.loads(facts.get("table", "{}") or "{}")
    service = table.get(f"TCP {facts.get('vip', '')}:80", {})
    dests = {k.split(":")[0]: v["weight"] for k, v in service.items()}
    web = [facts.get(f"web{i}", "") for i in (1, 2, 3)]
    sorry = facts.get("sorry", "")
    record = {"step": int(step), "counts": counts, "failures": failures, "table": table, "facts": {}}
    checks = []  # (description, ok)

    def frac(name):
        return counts.get(name, 0) / total if total else 0.0

    if step == "1":
        title, expected = "all three backends share the traffic", "web1/web2/web3 about 1/3 each, no failures"
        checks.append(("each backend about a third", all(near(frac(n), 1 / 3, 0.15) for n in ("web1", "web2", "web3"))))
        checks.append(("no failed request", failures == 0))
        checks.append(("kernel: three destinations, weight 1", dests == {w: 1 for w in web}))
    elif step == "2":
        title, expected = "one backend down", "web1 leaves IPVS; web2/web3 take its share"
        checks.append(("checker logged web1 down", facts.get("log_line", "") != ""))
        checks.append(("web1 gets nothing", counts.get("web1", 0) == 0))
        checks.append(("web2 and web3 share", near(frac("web2"), 0.5, 0.2) and near(frac("web3"), 0.5, 0.2)))
        checks.append(("no failed request once detected", failures == 0))
        checks.append(("kernel: web1 removed", web[0] not in dests and web[1] in dests and web[2] in dests))
        record["facts"]["failed_before_detection"] = int(facts.get("early_failures", "0"))
    elif step == "3":
        title, expected = "all backends down", "only the sorry server answers"
        checks.append(("sorry answers every request", total > 0 and counts.get("sorry", 0) == total))
        checks.append(("no failed request once switched", failures == 0))
        checks.append(("kernel: only the sorry server", set(dests) == {sorry}))
    elif step == "4":
        title, expected = "backends back", "all three answer again, sorry server gone"
        checks.append(("each backend about a third", all(near(frac(n), 1 / 3, 0.15) for n in ("web1", "web2", "web3"))))
        checks.append(("no sorry answer", counts.get("sorry", 0) == 0))
        checks.append(("no failed request", failures == 0))
        checks.append(("kernel: three destinations, no sorry server", dests == {w: 1 for w in web}))
    elif step == "5":
        title, expected = "reload: web3 weight 1 -> 3", "web3 ~3/5 of the traffic; 1 IPVS operation; no VRRP transition"
        checks.append(("split follows the weight (web3 ~60%)", near(frac("web3"), 0.6, 0.15) and near(frac("web1"), 0.2, 0.12)))
        checks.append(("no failed request", failures == 0))
        checks.append(("vigil: 1 IPVS operation", "1 IPVS operations" in facts.get("reload_line", "")))
        checks.append(("no VRRP transition", facts.get("transitions_before") == facts.get("transitions_after")))
        checks.append(("kernel: web3 weight 3, others 1", dests == {web[0]: 1, web[1]: 1, web[2]: 3}))
        record["facts"]["reload_line"] = facts.get("reload_line", "")
    elif step == "6":
        title, expected = "reload a broken file", "refused; tables, VIPs and traffic unchanged"
        checks.append(("vigil refused the file", "Reload refused" in facts.get("reload_line", "")))
        checks.append(("vigil still running", facts.get("running") == "yes"))
        checks.append(("kernel table unchanged", facts.get("table_before") == facts.get("table")))
        checks.append(("no VRRP transition", facts.get("transitions_before") == facts.get("transitions_after")))
        checks.append(("traffic split unchanged (web3 ~60%)", near(frac("web3"), 0.6, 0.15)))
        checks.append(("no failed request", failures == 0))
        record["facts"]["reload_line"] = facts.get("reload_line", "")
    elif step in ("7", "8"):
        who = "backup (dir2)" if step == "7" else "dir1"
        if step == "7":
            title, expected = "SIGKILL the master director", "dir2 takes both VIPs; a short gap; the echo session carries on"
        else:
            preempt = facts.get("preempt", "yes") == "yes"
            title = "restart the killed director"
            expected = "dir1 preempts back (higher priority, preempt on)" if preempt else "dir2 stays master (nopreempt)"
        # From a little before the event: the gap is the longest time between two answers.
        gap = longest_gap(read_requests(folder, t0 - 2, t1), t0 - 2, t1)
        session = session_facts(folder, t0, t1)
        record["facts"].update({"gap_ms": round(gap), "session": session, "holder": facts.get("holder", "")})
        record["facts"]["sync_daemon"] = facts.get("sync_daemon", "")
        checks.append((f"VIPs on {who}", facts.get("holder") == facts.get("expected_holder")))
        checks.append(("traffic resumed", total > 0 and rows and not rows[-1][1].startswith("FAIL")))
        if facts.get("sync_daemon") == "yes":
            checks.append(("echo session survived without reconnecting", session["broken"] == 0))
        else:
            checks.append(("echo session survived (needs lvs_sync_daemon: not yet in vigil)", None))
    else:
        raise SystemExit(f"unknown step {step}")

    failed = [d for d, ok in checks if ok is False]
    pending = [d for d, ok in checks if ok is None]
    result = "fail" if failed else ("not yet" if pending else "pass")
    observed = fmt_counts(counts, failures)
    if step in ("7", "8"):
        s = record["facts"]["session"]
        observed += (f"; VIPs on {facts.get('holder') or 'nobody'}; requests failed for {record['facts']['gap_ms']} ms; "
                     f"session {'survived' if s['broken'] == 0 else 'broke %d time(s)' % s['broken']}"
                     f" (slowest exchange {s['slowest_exchange_ms']} ms, backend {'->'.join(s['backends']) or '-'})")
    elif step == "2":
        observed += f"; {record['facts']['failed_before_detection']} failed before the checker saw it"
    elif step in ("5", "6"):
        observed += "; " + facts.get("reload_line", "no reload line").split(" vigil: ")[-1].strip()
    record.update({"title": title, "expected": expected, "observed": observed, "result": result,
                   "checks": [{"check": d, "ok": ok} for d, ok in checks]})
    print(f"   observed: {observed}")
    for d, ok in checks:
        print(f"     [{'ok' if ok else ('--' if ok is None else 'FAIL')}] {d}")
    print(f"   => {result.upper()}")
    with open(summary, "a") as f:
        f.write(json.dumps(record) + "\n")
    return 0


def summary(path):
    import textwrap
    records = [json.loads(l) for l in open(path) if l.strip()]
    widths = (26, 34, 54, 7)
    heads = ("step", "expected", "observed", "result")

    def row(cells):
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths)]
        for n in range(max(map(len, wrapped))):
            print("  ".join(f"{(col[n] if n < len(col) else ''):<{w}}" for col, w in zip(wrapped, widths)).rstrip())

    row(heads)
    print("  ".join("-" * w for w in widths))
    for r in records:
        row((f"{r['step']}. {r['title']}", r["expected"], r["observed"], r["result"].upper()))
    failed = [r for r in records if r["result"] == "fail"]
    print(f"\n{len(records)} steps: {sum(r['result'] == 'pass' for r in records)} passed, "
          f"{len(failed)} failed, {sum(r['result'] == 'not yet' for r in records)} not yet")
    return 1 if failed or len(records) < 8 else 0


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "client":
        client(argv[2], int(argv[3]), int(argv[4]), argv[5])
    elif cmd == "echo":
        echo(argv[2], argv[3])
    elif cmd == "table":
        print(json.dumps(parse_table(sys.stdin.read()), sort_keys=True))
    elif cmd == "judge":
        facts = dict(a.split("=", 1) for a in argv[7:])
        return judge(argv[2], argv[3], argv[4], argv[5], argv[6], facts)
    elif cmd == "summary":
        return summary(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
