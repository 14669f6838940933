"""EKS with the real kubectl: `rolecall kubeconfig` writes the exec plugin into a kubeconfig,
kubectl runs `rolecall eks token` and the simulated cluster (its authenticator checking the
presigned STS URL as EKS does) names the role. The AWS CLI's own `aws eks get-token`, given the
same role's credentials, makes a token the cluster accepts in the same way.
"""

import base64
import json
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from test_cli_interop import VENV_BIN, machine  # noqa: F401  (machine is a fixture)


def kube_api(sim, token, path="/api"):
    server = sim.env["ROLECALL_EKS_SERVER"]
    trust = ssl.create_default_context(cadata=base64.b64decode(sim.env["ROLECALL_EKS_CA_DATA"]).decode())
    req = urllib.request.Request(server + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10, context=trust) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, None


def test_kubectl_reaches_the_cluster_as_the_role_through_the_kubeconfig_rolecall_wrote(machine, tmp_path):
    m = machine().signed_in()
    server = m.sim.env["ROLECALL_EKS_SERVER"]
    kubeconfig = tmp_path / "kube" / "config"
    kubeconfig.parent.mkdir()
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://other.example\n"
        "contexts:\n- name: other\n  context:\n    cluster: other\n    user: someone\n"
        "users:\n- name: someone\n  user:\n    token: kept\ncurrent-context: other\npreferences: {}\n"
    )
    env = dict(m.env, KUBECONFIG=f"{kubeconfig}:{tmp_path / 'second'}")
    ca = ("--certificate-authority-data", m.sim.env["ROLECALL_EKS_CA_DATA"])
    m.rolecall("kubeconfig", "--cluster", "demo", "--server", server, *ca, "payments-prod", "AdministratorAccess", extra=env)
    written = kubeconfig.read_text()
    assert "https://other.example" in written and "token: kept" in written, "the rest of the file is kept"
    assert kubeconfig.stat().st_mode & 0o777 == 0o644, "the file's own mode is kept"
    fresh = tmp_path / "fresh" / "config"
    m.rolecall("kubeconfig", "--file", str(fresh), "--cluster", "demo", "--server", server, *ca, "payments-prod", "ReadOnlyAccess")
    assert fresh.stat().st_mode & 0o777 == 0o600, "a new kubeconfig is the person's alone"

    def kubectl(*args):
        out = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert kubectl("config", "current-context").strip() == "rolecall-demo-payments-prod-AdministratorAccess"
    who = json.loads(kubectl("auth", "whoami", "-o", "json"))["status"]["userInfo"]
    assert who["username"].startswith("arn:aws:iam::") and ":role/AWSReservedSSO_AdministratorAccess_" in who["username"]
    assert who["extra"]["sessionName"] == ["ada@example.com"]
    version = json.loads(kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].endswith("rolecall-sim")

    # Again with another role: the same cluster, a second context, and it is that role's now.
    m.rolecall("kubeconfig", "--cluster", "demo", "--server", server, *ca, "payments-prod", "ReadOnlyAccess", extra=env)
    who = json.loads(kubectl("auth", "whoami", "-o", "json"))["status"]["userInfo"]
    assert "AWSReservedSSO_ReadOnlyAccess_" in who["username"]
    contexts = kubectl("config", "get-contexts", "-o", "name").split()
    assert set(contexts) == {"other", "rolecall-demo-payments-prod-AdministratorAccess", "rolecall-demo-payments-prod-ReadOnlyAccess"}


def test_our_token_and_the_aws_clis_both_verify_and_forgeries_do_not(machine):
    m = machine().signed_in()
    ours = json.loads(m.rolecall("eks", "token", "--cluster", "demo", "payments-prod", "AdministratorAccess").stdout)
    assert ours["kind"] == "ExecCredential" and ours["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    token = ours["status"]["token"]
    assert token.startswith("k8s-aws-v1.") and ours["status"]["expirationTimestamp"].endswith("Z")

    theirs = m.rolecall(
        "exec", "payments-prod", "AdministratorAccess", "--",
        str(VENV_BIN / "aws"), "eks", "get-token", "--cluster-name", "demo", "--region", "us-east-1", "--output", "json",
    )
    their_token = json.loads(theirs.stdout)["status"]["token"]
    for t in (token, their_token):
        status, body = kube_api(m.sim, t)
        assert status == 200 and body["kind"] == "APIVersions"

    # Presigned for another cluster, tampered with, or not a token at all: refused.
    other = json.loads(m.rolecall("eks", "token", "--cluster", "elsewhere", "payments-prod", "AdministratorAccess").stdout)
    assert kube_api(m.sim, other["status"]["token"])[0] == 401
    url = base64.urlsafe_b64decode(token[len("k8s-aws-v1."):] + "==").decode()
    forged = url.replace("Action=GetCallerIdentity", "Action=GetCallerIdentity&X-Extra=1")
    assert kube_api(m.sim, "k8s-aws-v1." + base64.urlsafe_b64encode(forged.encode()).decode().rstrip("="))[0] == 401
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    resigned = url.replace(q["X-Amz-Signature"], "0" * 64)
    assert kube_api(m.sim, "k8s-aws-v1." + base64.urlsafe_b64encode(resigned.encode()).decode().rstrip("="))[0] == 401
    assert kube_api(m.sim, "not-a-token")[0] == 401
    bad = m.rolecall("eks", "token", "--cluster", "a b", "payments-prod", "AdministratorAccess", check=False)
    assert bad.returncode == 2 and "cluster name" in bad.stderr


def test_kubectl_reads_the_persons_own_entries_the_same_after_rolecall_kubeconfig(machine, tmp_path):
    """Values the person quoted (`"no"`, `"on"`), anchors and merge keys: kubectl reads every
    entry Rolecall does not own exactly as before (it refused the whole file once, when quoted
    strings came back bare and YAML 1.1 read them as booleans)."""
    m = machine().signed_in()
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters:\n- name: other\n  cluster: &base\n    server: https://other.example\n    tls-server-name: \"on\"\n"
        "- name: copy\n  cluster:\n    <<: *base\n    server: https://copy.example\n"
        "contexts:\n- name: other\n  context:\n    cluster: other\n    user: someone\n    namespace: \"no\"\n"
        "users:\n- name: someone\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
        "      command: my-helper\n      args: [\"--flag\", \"yes\", \"0x1F\", \"1:20\"]\n"
        "      env:\n      - name: VERBOSE\n        value: \"off\"\n      - name: EMPTY\n        value: \"\"\n"
        "      interactiveMode: Never\n"
        "current-context: other\npreferences: {}\n"
    )

    def view():
        out = subprocess.run(
            ["kubectl", "config", "view", "--raw", "-o", "json", "--kubeconfig", str(kubeconfig)],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def persons(doc):
        return {kind: [e for e in doc[kind] if not e["name"].startswith("rolecall")] for kind in ("clusters", "contexts", "users")}

    before = view()
    server = m.sim.env["ROLECALL_EKS_SERVER"]
    m.rolecall("kubeconfig", "--file", str(kubeconfig), "--cluster", "demo", "--server", server, "payments-prod", "ReadOnlyAccess")
    after = view()
    assert persons(after) == persons(before), kubeconfig.read_text()
    assert persons(after)["contexts"][0]["context"]["namespace"] == "no"
