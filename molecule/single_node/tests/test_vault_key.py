"""The container runtime (image path) with an API key from Ansible Vault: the key reaches vLLM in
the container (the endpoint refuses requests without it), never appears in an argv, a file other
than the root-only secret.env, or the output; and the unit owns the container: a killed docker
CLI leaves no container behind, and a re-run repairs. Runs last in the scenario and leaves the
node as converge left it (no key)."""
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-single"
INVENTORY = os.path.join(ROOT, ".work", "clusters", CLUSTER, "inventory")


def node(*cmd, check=True):
    res = subprocess.run(["podman", "exec", "ascsim-%s-node0" % CLUSTER] + list(cmd),
                         capture_output=True, text=True, check=False)
    if check:
        assert res.returncode == 0, "%s failed: %s%s" % (cmd, res.stdout, res.stderr)
    return res.stdout


def deploy(*extra):
    res = subprocess.run(["ansible-playbook", os.path.join(ROOT, "playbooks", "deploy.yml"), "-i", INVENTORY]
                         + list(extra), capture_output=True, text=True, check=False, cwd=ROOT)
    res.out = res.stdout + res.stderr
    return res


def models(base, key=None):
    req = urllib.request.Request(base + "/v1/models", headers={"Authorization": "Bearer " + key} if key else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def container_pid():
    out = node("docker", "inspect", "--format", "{{.State.Pid}}", "vllm-ascend", check=False)
    return int(out.strip()) if out.strip().isdigit() else None


def alive(pid):
    return subprocess.run(["podman", "exec", "ascsim-%s-node0" % CLUSTER, "kill", "-0", str(pid)],
                          capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vault")
    key = "sk-ascend-" + os.urandom(12).hex()
    password = tmp / "vault-pass"
    password.write_text("molecule-vault-password\n")
    secrets = tmp / "secrets.yml"
    secrets.write_text("vllm_service_api_key: %s\n" % key)
    subprocess.run(["ansible-vault", "encrypt", "--vault-password-file", str(password), str(secrets)],
                   check=True, capture_output=True, cwd=ROOT)
    assert key not in secrets.read_text()
    return key, ["-e", "@%s" % secrets, "--vault-password-file", str(password)]


@pytest.fixture(scope="module")
def base():
    ip = node("sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").strip()
    return "http://%s:8000" % ip


def test_the_key_reaches_vllm_in_the_container(vault, base):
    key, args = vault
    res = deploy(*args)
    assert res.returncode == 0, res.out[-3000:]
    assert key not in res.out
    # vLLM enforces it: without the key 401, with it 200 (an ignored bearer header would give 200 twice).
    assert models(base) == 401
    assert models(base, key) == 200
    launch = node("cat", "/etc/ascend-serving/launch.sh")
    assert key not in launch
    assert re.search(r"^exec docker run .* -e VLLM_API_KEY .*vllm serve ", launch, re.M), launch
    assert ". /etc/ascend-serving/secret.env" in launch and "if [ -f" not in launch
    assert node("stat", "-c", "%a %U", "/etc/ascend-serving/secret.env").split() == ["600", "root"]
    state = json.loads(node("cat", "/etc/ascend-serving/state.json"))
    assert state["auth"] is True and key not in json.dumps(state)
    # No process on the node carries the key in its command line.
    cmdlines = node("sh", "-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '")
    assert key not in cmdlines


def test_a_run_without_the_vault_file_is_refused_and_changes_nothing(vault, base):
    key, _args = vault
    before = node("cat", "/etc/ascend-serving/launch.sh")
    res = deploy()
    assert res.returncode != 0
    assert "requires an API key (state.json auth: true) but this run has none" in res.out
    assert "vllm_service_allow_unauthenticated=true" in res.out
    assert node("cat", "/etc/ascend-serving/launch.sh") == before
    assert models(base) == 401 and models(base, key) == 200


def test_the_container_runs_outside_the_unit_and_a_killed_cli_leaves_no_orphan(vault, base):
    key, args = vault
    pid = container_pid()
    assert pid, node("docker", "ps", "-a")
    # Like a real container: the process lives in its own scope, not in the unit's cgroup.
    cgroup = node("cat", "/proc/%d/cgroup" % pid)
    assert "docker-" in cgroup and "ascend-vllm.service" not in cgroup, cgroup
    # The docker CLI (the unit's main process) dies; vLLM in the container does not get the signal.
    node("systemctl", "kill", "--kill-whom=main", "--signal=SIGKILL", "ascend-vllm.service")
    deadline = time.time() + 60
    while time.time() < deadline and node("systemctl", "is-active", "ascend-vllm.service", check=False).strip() in (
            "active", "deactivating"):
        time.sleep(1)
    # The unit's ExecStop / ExecStopPost stopped and removed the container: nothing keeps the port.
    deadline = time.time() + 30
    while time.time() < deadline and alive(pid):
        time.sleep(1)
    assert not alive(pid), "the container outlived its unit (pid %d still runs)" % pid
    assert "vllm-ascend" not in node("docker", "ps", "-a", "--format", "{{.Names}}")
    # A re-run repairs: the instance starts again, with its key.
    res = deploy(*args)
    assert res.returncode == 0, res.out[-3000:]
    assert models(base) == 401 and models(base, key) == 200


def test_a_process_started_from_other_files_is_restarted(vault, base):
    """An aborted run can leave new files with the old process running: the next run compares what
    the process was started from (the run digest its launch recorded) and restarts it."""
    _key, args = vault
    state = json.loads(node("cat", "/etc/ascend-serving/state.json"))
    digest_file = "/run/ascend-serving/ascend-vllm.service.digest"
    assert node("cat", digest_file).strip() == state["run_digest"]
    pid = node("systemctl", "show", "-p", "MainPID", "--value", "ascend-vllm.service").strip()
    node("sh", "-c", "printf '%s\\n' " + "0" * 64 + " > " + digest_file)
    res = deploy(*args)
    assert res.returncode == 0, res.out[-3000:]
    assert node("systemctl", "show", "-p", "MainPID", "--value", "ascend-vllm.service").strip() != pid
    assert node("cat", digest_file).strip() == state["run_digest"]
    again = deploy(*args)
    assert again.returncode == 0
    assert sum(int(n) for n in re.findall(r"changed=(\d+)", again.stdout.split("PLAY RECAP")[-1])) == 0, \
        again.stdout[-3000:]


def test_the_key_is_dropped_only_on_purpose(base):
    res = deploy("-e", "vllm_service_allow_unauthenticated=true")
    assert res.returncode == 0, res.out[-3000:]
    assert node("test", "!", "-e", "/etc/ascend-serving/secret.env", check=False) == ""
    assert json.loads(node("cat", "/etc/ascend-serving/state.json"))["auth"] is False
    assert models(base) == 200
    again = deploy()
    assert again.returncode == 0
    assert sum(int(n) for n in re.findall(r"changed=(\d+)", again.stdout.split("PLAY RECAP")[-1])) == 0, \
        again.stdout[-3000:]
