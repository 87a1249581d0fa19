"""deploy/ kept in step with the binary: every tickpipe service of
docker-compose.yml runs with --config and the mounted config file exists; the
real binary accepts each service's command line with that file
(--print-config); the Prometheus labels name the port of --http; the
Dockerfile installs the build and runtime packages of every library CMake
links; the example configs suit every command."""
import os
import re
import subprocess
import sys

import yaml

BIN = os.environ["TP_BIN"]
SRC = os.environ["TP_SRC"]
DEPLOY = os.path.join(SRC, "deploy")
failed = []


def check(cond, msg):
    if not cond:
        failed.append(msg)
        print("FAIL:", msg, file=sys.stderr)


def has_option(cmd, opt):
    out = subprocess.run([BIN, cmd, "--help"], capture_output=True, text=True, timeout=30).stdout
    return re.search(r"^  --%s\b" % re.escape(opt), out, re.M) is not None


def service_args(svc):
    """The tickpipe arguments of a service: its command, or its entrypoint after 'tickpipe'."""
    if "entrypoint" in svc:
        return list(svc["entrypoint"][1:]) + list(svc.get("command", []))
    return list(svc["command"])


def expand(arg):
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", arg)  # compose defaults


with open(os.path.join(DEPLOY, "docker-compose.yml")) as f:
    compose = yaml.safe_load(f)
services = {n: s for n, s in compose["services"].items() if s.get("image") == "tickpipe:latest"}
check(set(services) >= {"ingest", "process", "query"}, "tickpipe services: %s" % sorted(services))
for name, svc in services.items():
    mounts = {v.split(":")[1]: v.split(":")[0] for v in svc.get("volumes", []) if v.startswith("./")}
    args = [expand(a) for a in service_args(svc)]
    check("--config" in args, "%s: no --config" % name)
    if "--config" not in args:
        continue
    path = args[args.index("--config") + 1]
    host = mounts.get(path)
    check(host is not None, "%s: --config %s is not mounted" % (name, path))
    if host is None:
        continue
    host = os.path.normpath(os.path.join(DEPLOY, host))
    check(os.path.isfile(host), "%s: %s missing" % (name, host))
    args[args.index("--config") + 1] = host
    cmd = args[0]
    if "--http" in args:
        port = args[args.index("--http") + 1].rsplit(":", 1)[1]
        labels = svc.get("labels", {})
        check(labels.get("prometheus.io/scrape") == "true" and labels.get("prometheus.io/port") == port,
              "%s: prometheus.io labels do not match --http port %s: %s" % (name, port, labels))
        if not has_option(cmd, "http"):  # --http is issue 11a's; check the rest until it lands
            i = args.index("--http")
            del args[i:i + 2]
            print("test_deploy: %s has no --http yet; checked without it" % cmd, file=sys.stderr)
    r = subprocess.run([BIN] + args + ["--print-config"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "%s: tickpipe %s -> %d %s" % (name, " ".join(args), r.returncode, r.stderr))

# The example configs suit every command.
for conf in ("tickpipe.conf", "compose.conf"):
    for cmd in ("run", "ingest", "process", "query", "record", "feed"):
        r = subprocess.run([BIN, cmd, "--config", os.path.join(DEPLOY, conf), "--print-config"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "%s with %s: %s" % (cmd, conf, r.stderr))

# Each library CMake links has its -dev package in the build stage and its
# runtime package in the final stage of the Dockerfile.
packages = {"sqlite3": ("libsqlite3-dev", "libsqlite3-0"), "jansson": ("libjansson-dev", "libjansson4"),
            "rdkafka": ("librdkafka-dev", "librdkafka1"), "libwebsockets": ("libwebsockets-dev", "libwebsockets17"),
            "openssl": ("libssl-dev", "libssl3"), "inih": ("libinih-dev", "libinih1")}
with open(os.path.join(SRC, "CMakeLists.txt")) as f:
    modules = re.findall(r"pkg_check_modules\(\w+ REQUIRED IMPORTED_TARGET (\S+)\)", f.read())
with open(os.path.join(DEPLOY, "Dockerfile")) as f:
    stages = f.read().split("\nFROM ")[1:]
check(len(stages) == 2, "Dockerfile: expected a build and a runtime stage")
for m in modules:
    check(m in packages, "CMake links %s: add its Debian packages to test_deploy.py and the Dockerfile" % m)
    if m in packages and len(stages) == 2:
        dev, run = packages[m]
        check(dev in stages[0], "Dockerfile build stage lacks %s" % dev)
        check(run in stages[1], "Dockerfile runtime stage lacks %s" % run)
# The image's default command runs with the config file the image copies in.
copies = dict((dst, src) for src, dst in re.findall(r"^COPY (deploy/\S+) (\S+)$", stages[-1], re.M))
cmd_match = re.search(r"^CMD (\[.*\])$", stages[-1], re.M)
check(cmd_match is not None, "Dockerfile: no CMD")
if cmd_match:
    import json
    args = json.loads(cmd_match.group(1))
    if "--config" in args:
        i = args.index("--config") + 1
        check(args[i] in copies, "Dockerfile: CMD --config %s is not copied into the image" % args[i])
        args[i] = os.path.join(SRC, copies.get(args[i], args[i]))
    r = subprocess.run([BIN] + args + ["--print-config"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "Dockerfile CMD: tickpipe %s -> %s" % (" ".join(args), r.stderr))

with open(os.path.join(SRC, "scripts", "install-deps.sh")) as f:
    deps = f.read()
for m in modules:
    if m in packages:
        check(packages[m][0] in deps, "scripts/install-deps.sh lacks %s" % packages[m][0])

print("test_deploy: %d failed" % len(failed))
sys.exit(1 if failed else 0)
