/// `GET /`: one self-contained page (no external assets) that polls `/status` every 2 s and
/// shows who is master, each pool's health, weights and traffic rates, and recent events (the
/// VRRP transitions reported, and the changes the page saw between polls).
enum StatusPage {
    static let html = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Vigil status</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; margin-bottom: .8em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
th { background: #f2f2f2; }
.MASTER, .up { background: #d8f5d8; }
.BACKUP { background: #e6eefc; }
.FAULT, .INIT, .down { background: #fbd8d8; }
.sorry { background: #fff1c9; }
#meta { color: #666; }
#error { color: #b00; font-weight: bold; }
</style>
</head>
<body>
<h1>Vigil</h1>
<div id="meta">loading…</div>
<div id="error"></div>
<h2>VRRP instances</h2>
<div id="vrrp"></div>
<h2>Virtual servers</h2>
<div id="lvs"></div>
<h2>Recent events</h2>
<ul id="events"></ul>
<script>
"use strict";
const events = [];
let previous = null;
function esc(s) { return String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"}[c])); }
function rate(n) { return n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e3 ? (n / 1e3).toFixed(1) + "k" : String(n); }
function note(text) { events.unshift(new Date().toLocaleTimeString() + " " + text); events.length = Math.min(events.length, 20); }
function diff(old, cur) {
  if (!old) return;
  const was = new Map((old.vrrp?.instances ?? []).map(i => [i.name, i.state]));
  for (const i of cur.vrrp?.instances ?? []) {
    if (was.has(i.name) && was.get(i.name) !== i.state) note(`${i.name}: ${was.get(i.name)} → ${i.state}`);
  }
  const alive = new Map();
  for (const vs of old.virtual_servers ?? []) for (const rs of vs.real_servers) alive.set(vs.key + " " + rs.key, rs.alive);
  for (const vs of cur.virtual_servers ?? []) for (const rs of vs.real_servers) {
    const k = vs.key + " " + rs.key;
    if (alive.has(k) && alive.get(k) !== rs.alive) note(`${k}: ${rs.alive ? "up" : "down"}`);
  }
}
function render(s) {
  document.getElementById("meta").textContent =
    `${s.daemon.config_file} · sha256 ${String(s.daemon.config_sha256 ?? "?").slice(0, 12)} · up ${Math.round(s.daemon.uptime_seconds)} s · ` +
    `reloads ${s.daemon.reloads.applied} applied, ${s.daemon.reloads.refused} refused · ${new Date(s.generated_at).toLocaleTimeString()}`;
  let v = "";
  const instances = s.vrrp?.instances ?? [];
  if (instances.length) {
    v = "<table><tr><th>Instance</th><th>State</th><th>Priority</th><th>Master</th><th>VIPs</th><th>Last transition</th></tr>";
    for (const i of instances) {
      const t = i.last_transition;
      v += `<tr class="${esc(i.state)}"><td>${esc(i.name)} (${esc(i.interface)}, VRID ${i.virtual_router_id})</td><td>${esc(i.state)}</td>` +
        `<td>${i.effective_priority} / ${i.configured_priority}</td><td>${esc(i.state === "MASTER" ? "this node" : i.master_address ?? "—")}</td>` +
        `<td>${i.virtual_addresses.map(esc).join("<br>")}</td><td>${t ? esc(t.from + " → " + t.to + ": " + t.reason) : "—"}</td></tr>`;
      if (t && !events.some(e => e.includes(t.at))) events.push(`${new Date(t.at).toLocaleTimeString()} ${i.name}: ${t.from} → ${t.to} (${t.reason}) [${t.at}]`);
    }
    v += "</table>";
  } else v = "<p>No VRRP instance runs here.</p>";
  document.getElementById("vrrp").innerHTML = v;
  let l = "";
  for (const vs of s.virtual_servers ?? []) {
    const tr = vs.traffic;
    l += `<h3>${esc(vs.key)} · ${esc(vs.scheduler)} · quorum ${vs.quorum.up ? "up" : "DOWN"} (${vs.quorum.live_weight}/${vs.quorum.required})` +
      (tr ? ` · ${rate(tr.connections_per_second)} conn/s, ${rate(tr.in_bytes_per_second)} B/s in` : "") + "</h3>";
    l += "<table><tr><th>Real server</th><th>Health</th><th>Weight</th><th>Checkers</th><th>Traffic</th></tr>";
    for (const rs of vs.real_servers) {
      const checks = rs.checkers.map(c => `${esc(c.kind)} ${c.up ? "up" : "down"}` + (c.reason ? `: ${esc(c.reason)}` : "")).join("<br>");
      const t = rs.traffic;
      l += `<tr class="${rs.alive ? "up" : "down"}"><td>${esc(rs.key)}</td><td>${rs.alive ? "alive" : "down"}</td>` +
        `<td>${rs.effective_weight} / ${rs.configured_weight}${rs.override ? ` <b>(${esc(rs.override)})</b>` : ""}</td><td>${checks || "—"}</td>` +
        `<td>${t ? `${t.active_connections ?? 0} active, ${rate(t.connections_per_second)} conn/s` : "—"}</td></tr>`;
    }
    if (vs.sorry_server) l += `<tr class="sorry"><td>${esc(vs.sorry_server.address)}:${vs.sorry_server.port} (sorry server)</td><td colspan="4">${vs.sorry_server.active ? "ACTIVE" : "standby"}</td></tr>`;
    l += "</table>";
  }
  document.getElementById("lvs").innerHTML = l || "<p>No virtual server runs here.</p>";
  diff(previous, s);
  previous = s;
  document.getElementById("events").innerHTML = events.map(e => `<li>${esc(e)}</li>`).join("") || "<li>none yet</li>";
}
async function refresh() {
  try {
    const r = await fetch("/status", {cache: "no-store"});
    render(await r.json());
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "cannot reach Vigil: " + e;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""#
}
