#!/usr/bin/env bash
# Renders the kustomize bases (`kubectl kustomize`, Debian's kubernetes-client) and checks them
# against the binaries: the ConfigMaps' configs pass `edge-scraper check config --syntax-only` /
# `collector check config` (the latter with the TLS files at their mounted paths, in a chroot-free
# way: paths rewritten into a temp dir), every file or directory the edge config names lies under
# a volumeMount, every Secret key the pods read is one the docs tell to create, the args are flags
# the binaries accept, probes and Service use the listen port.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-.build/debug}")
command -v kubectl >/dev/null || { echo "SKIP kubernetes: kubectl missing (apt-get install -y kubernetes-client)"; exit 0; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
for k in edge-scraper collector collector-ingress; do kubectl kustomize "deploy/kubernetes/$k" > "$T/$k.yaml"; done
python3 - "$T" "$BIN" <<'PY'
import json, os, subprocess, sys, yaml
T, BIN = sys.argv[1], sys.argv[2]
def docs(n): return [d for d in yaml.safe_load_all(open(f"{T}/{n}.yaml")) if d]
def one(ds, kind): return next(d for d in ds if d["kind"] == kind)
def fail(m): print("FAIL kubernetes:", m); sys.exit(1)
def under_mount(path, mounts):
    return any(path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/") for m in mounts)

# Edge scraper
e = docs("edge-scraper")
ds, cm = one(e, "DaemonSet"), one(e, "ConfigMap")
pod = ds["spec"]["template"]["spec"]; c = pod["containers"][0]; mounts = c["volumeMounts"]
open(f"{T}/edge.yml", "w").write(cm["data"]["edge.yml"])
out = subprocess.run([f"{BIN}/edge-scraper", "check", "config", "--syntax-only", f"{T}/edge.yml"], capture_output=True, text=True)
if out.returncode: fail("edge.yml: " + out.stdout + out.stderr)
sa = "/var/run/secrets/kubernetes.io/serviceaccount"   # mounted by Kubernetes for serviceAccountName
for line in out.stdout.splitlines():
    parts = line.split()
    if parts and parts[0] in ("file", "dir"):
        role, path = parts[1], parts[2]
        if not (under_mount(path, mounts) or path.startswith(sa + "/")): fail(f"edge.yml {role} {path} is on no volumeMount")
cfgmount = next(m for m in mounts if m["name"] == "config")
if c["args"][c["args"].index("--config") + 1] != cfgmount["mountPath"]: fail("--config is not the ConfigMap's mount")
if cfgmount.get("subPath") not in cm["data"]: fail("config subPath is no ConfigMap key")
vols = {v["name"]: v for v in pod["volumes"]}
if vols["config"]["configMap"]["name"] != cm["metadata"]["name"]: fail("config volume names another ConfigMap")
for m in mounts:
    if m["name"] in ("proc", "sys", "root") and not m.get("readOnly"): fail(f"{m['name']} mounted writable")
keys = [i["key"] for i in vols["secret"]["secret"]["items"]]
if sorted(keys) != ["ca.crt", "token"]: fail(f"Secret keys {keys}, README tells token and ca.crt")
port = int(c["args"][c["args"].index("--listen") + 1].rsplit(":", 1)[1])
if c["ports"][0]["containerPort"] != port or c["readinessProbe"]["httpGet"]["port"] != port: fail("edge port mismatch")
if pod["serviceAccountName"] != one(e, "ServiceAccount")["metadata"]["name"]: fail("serviceAccountName")
rules = one(e, "ClusterRole")["rules"]
granted = {(r2, v) for r in rules for r2 in r["resources"] for v in r["verbs"]}
for need in [("nodes", "list"), ("pods", "list"), ("nodes/metrics", "get")]:
    if need not in granted: fail(f"ClusterRole lacks {need}")
if any(v not in ("get", "list") for r in rules for v in r["verbs"]): fail("ClusterRole grants more than get/list")
if not any(x["name"] == "NODE_NAME" for x in c["env"]): fail("NODE_NAME not set (kubelet discovery keeps this node by it)")
# The queue: on its volume, which the scraper's uid can write. fsGroup does not reach a hostPath,
# so an init container must chown it, as root with CAP_CHOWN alone and not privileged.
edge = yaml.safe_load(cm["data"]["edge.yml"])
qmount = next(m for m in mounts if m["name"] == "queue")
if not under_mount(edge["queue"]["dir"], [qmount]): fail(f"queue.dir {edge['queue']['dir']} is not on the queue volume")
uid = pod["securityContext"]["runAsUser"]
if "hostPath" in vols["queue"]:
    owners = [i for i in pod.get("initContainers", []) if i.get("command", [])[:2] == ["chown", f"{uid}:{pod['securityContext']['runAsGroup']}"]
              and any(m["name"] == "queue" and m["mountPath"] in i["command"] for m in i.get("volumeMounts", []))]
    if not owners: fail(f"hostPath queue volume is not chowned to {uid} by an init container")
    sc = owners[0]["securityContext"]
    if sc.get("privileged") or sc.get("allowPrivilegeEscalation", True) or sc["capabilities"] != {"drop": ["ALL"], "add": ["CHOWN"]}:
        fail(f"queue init container needs more than CAP_CHOWN: {sc}")
elif pod["securityContext"].get("fsGroup") != uid:
    fail("queue volume not writable by the scraper's uid (no fsGroup)")
if not (edge.get("pods") or {}).get("annotated"): fail("pods.annotated is off: annotated pods are not scraped")
print(f"ok edge-scraper: check config passes, {len(out.stdout.splitlines())-2} named paths all mounted, Secret keys {keys}, RBAC get/list only, "
      f"queue volume owned by uid {uid} (init container with CAP_CHOWN only), annotated pods on")

# Collector
k = docs("collector")
ss, cm, svc = one(k, "StatefulSet"), one(k, "ConfigMap"), one(k, "Service")
pod = ss["spec"]["template"]["spec"]; c = pod["containers"][0]; mounts = c["volumeMounts"]
cfg = yaml.safe_load(cm["data"]["collector.yml"])
for key in ("cert_file", "key_file"):
    p = cfg["tls"][key]
    m = next((m for m in mounts if p.startswith(m["mountPath"] + "/")), None)
    if not m: fail(f"tls.{key} {p} on no mount")
    if m["name"] != "tls" or os.path.basename(p) not in ("tls.crt", "tls.key"): fail(f"tls.{key} {p} is not a key of a kubernetes.io/tls Secret")
# collector check config with the TLS files present at rewritten paths (a real cert pair).
subprocess.run(["scripts/make-certs.sh", "ca", f"{T}/pki", "ca"], check=True, capture_output=True)
subprocess.run(["scripts/make-certs.sh", "server", f"{T}/pki", "ca", "collector", "DNS:collector"], check=True, capture_output=True)
text = cm["data"]["collector.yml"].replace("/etc/fleetscope/tls/tls.crt", f"{T}/pki/collector.crt").replace("/etc/fleetscope/tls/tls.key", f"{T}/pki/collector.key")
open(f"{T}/collector.yml", "w").write(text)
out = subprocess.run([f"{BIN}/collector", "check", "config", f"{T}/collector.yml"], capture_output=True, text=True)
if out.returncode: fail("collector.yml: " + out.stdout + out.stderr)
args = c["args"]
if args[args.index("--config") + 1] != next(m for m in mounts if m["name"] == "config")["mountPath"]: fail("collector --config mount")
if args[args.index("--data-dir") + 1] != next(m for m in mounts if m["name"] == "data")["mountPath"]: fail("--data-dir is not the volume")
if "data" not in [t["metadata"]["name"] for t in ss["spec"]["volumeClaimTemplates"]]: fail("no data volumeClaimTemplate")
port = int(args[args.index("--listen") + 1].rsplit(":", 1)[1])
if svc["spec"]["ports"][0]["targetPort"] != port or c["readinessProbe"]["httpGet"]["scheme"] != "HTTPS": fail("collector port/probe")
helptext = subprocess.run([f"{BIN}/collector", "serve", "--help"], capture_output=True, text=True).stdout
for a in args:
    if a.startswith("--") and a not in helptext: fail(f"collector has no flag {a}")
ing = one(docs("collector-ingress"), "Ingress")
b = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
if b["name"] != svc["metadata"]["name"] or b["port"]["number"] != svc["spec"]["ports"][0]["port"]: fail("Ingress backend")
if not ing["spec"].get("tls"): fail("Ingress without TLS")
print("ok collector: check config passes with the TLS Secret's files, data dir on the PVC, Service/Ingress/probes on the listen port")
print("PASS kubernetes")
PY
