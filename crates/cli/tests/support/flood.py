"""Another local user trying to stall Rolecall's local servers: many idle connections and a
few that send one byte at a time, held open; then it reports how many the server closed.

  flood.py <report file> <seconds> tcp <host> <port> <idle> <slow> [unix <path> <idle>]

The report (JSON, written when done): opened, closed_by_server, refused.
"""
import json
import socket
import sys
import time

report, seconds = sys.argv[1], float(sys.argv[2])
targets = sys.argv[3:]
idle, slow = [], []
refused = 0
i = 0
while i < len(targets):
    kind = targets[i]
    if kind == "tcp":
        host, port, n_idle, n_slow = targets[i + 1], int(targets[i + 2]), int(targets[i + 3]), int(targets[i + 4])
        i += 5
        for n in range(n_idle + n_slow):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                s.connect((host, port))
            except OSError:
                refused += 1
                continue
            s.setblocking(False)
            (slow if n >= n_idle else idle).append(s)
    elif kind == "unix":
        path, n_idle = targets[i + 1], int(targets[i + 2])
        i += 3
        for _ in range(n_idle):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                s.connect(path)
            except OSError:
                refused += 1
                continue
            s.setblocking(False)
            idle.append(s)
    else:
        raise SystemExit(f"unknown target {kind}")

with open(report + ".ready", "w") as f:
    f.write(str(len(idle) + len(slow)))

request = b"GET /v1/credentials HTTP/1.1\r\nHost: 127.0.0.1\r\n"
closed = set()
end = time.time() + seconds
step = 0
while time.time() < end:
    for s in slow:
        if id(s) in closed:
            continue
        try:
            s.send(request[step % len(request):step % len(request) + 1])
        except OSError:
            closed.add(id(s))
    for s in idle + slow:
        if id(s) in closed:
            continue
        try:
            if s.recv(4096) == b"":
                closed.add(id(s))
        except BlockingIOError:
            pass
        except OSError:
            closed.add(id(s))
    step += 1
    time.sleep(0.2)

with open(report, "w") as f:
    json.dump({"opened": len(idle) + len(slow), "closed_by_server": len(closed), "refused": refused}, f)
