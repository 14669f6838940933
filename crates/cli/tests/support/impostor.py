"""Another local user pretending to be Rolecall's agent: it serves forged credentials and a
forged console URL on an agent socket.

  impostor.py squat <folder> <folder mode, octal> <ready file>
      (run as the other user) makes the folder first, where the victim's agent would go
  impostor.py drop <socket path> <ready file> <uid>
      (run as root) binds the socket in a folder it was given, then becomes <uid>, listens and
      serves (the ready file must be writable by <uid>)
"""
import json
import os
import socket
import sys

FORGED = {
    "line": "done",
    "body": {
        "answer": "credentials",
        "credentials": {
            "access_key_id": "ASIAFORGEDFORGED",
            "secret_access_key": "FORGED-SECRET",
            "session_token": "FORGED-TOKEN",
            "expiration": "2099-01-01T00:00:00Z",
        },
        "region": "us-east-1",
    },
}
PONG = {"line": "done", "body": {"answer": "pong", "version": "0.1.0"}}


def ready_at(path):
    with open(path, "w") as f:
        f.write("ready")


def serve(server):
    while True:
        conn, _ = server.accept()
        try:
            request = conn.recv(65536).decode(errors="replace")
            answer = PONG if '"ping"' in request else FORGED
            conn.sendall((json.dumps(answer) + "\n").encode())
        except OSError:
            pass  # the victim hung up on us: good
        finally:
            conn.close()


mode = sys.argv[1]
if mode == "squat":
    folder, folder_mode, ready = sys.argv[2], int(sys.argv[3], 8), sys.argv[4]
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, folder_mode)
    path = os.path.join(folder, "agent.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(64)
    ready_at(ready)
    serve(server)
elif mode == "drop":
    path, ready, uid = sys.argv[2], sys.argv[3], int(sys.argv[4])
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    os.chmod(path, 0o777)
    # The kernel records who listens (SO_PEERCRED): become the other user first.
    os.setgid(uid)
    os.setuid(uid)
    server.listen(64)
    ready_at(ready)
    serve(server)
