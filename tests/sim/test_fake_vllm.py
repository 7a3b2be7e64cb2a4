"""The strict fake `vllm` (tests/sim/fakes/vllm): it must accept exactly what vLLM 0.11.0 accepts,
form a data-parallel group only when it is right, and serve the OpenAI API like node0 would.

Everything runs as real processes on loopback: node0 on 127.0.0.1, a "second node" on
127.0.0.2 (both on `lo`), free ports, short timeouts through the fake's environment knobs.
"""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
VLLM = HERE / "fakes" / "vllm"
ARTIFACTS = HERE / "artifacts"
NODE0, NODE1 = "127.0.0.1", "127.0.0.2"

# The deployment commands of the seed document (docs: DeepSeek-V3.2-Exp on vllm-ascend
# v0.11.0rc0), verbatim. The tests only fill in nic_name/local_ip/node0_ip and swap the fixed
# ports and the model path for free ports and a generated model directory.
SEED_SINGLE = r"""#!/bin/sh
export VLLM_USE_MODELSCOPE=true

vllm serve vllm-ascend/DeepSeek-V3.2-Exp-W8A8 \
--host 0.0.0.0 \
--port 8000 \
--tensor-parallel-size 16 \
--seed 1024 \
--quantization ascend \
--served-model-name deepseek_v3.2 \
--max-num-seqs 16 \
--max-model-len 17450 \
--max-num-batched-tokens 17450 \
--enable-expert-parallel \
--trust-remote-code \
--no-enable-prefix-caching \
--gpu-memory-utilization 0.92 \
--additional-config '{"ascend_scheduler_config":{"enabled":true},"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}'
"""

SEED_A3_NODE0 = r"""#!/bin/sh

# this obtained through ifconfig
# nic_name is the network interface name corresponding to local_ip of the current node
nic_name="xxxx"
local_ip="xxxx"

export VLLM_USE_MODELSCOPE=True
export HCCL_IF_IP=$local_ip
export GLOO_SOCKET_IFNAME=$nic_name
export TP_SOCKET_IFNAME=$nic_name
export HCCL_SOCKET_IFNAME=$nic_name
export OMP_PROC_BIND=false
export OMP_NUM_THREADS=100
export HCCL_BUFFSIZE=1024

vllm serve /root/.cache/Modelers_Park/DeepSeek-V3.2-Exp \
--host 0.0.0.0 \
--port 8000 \
--data-parallel-size 2 \
--data-parallel-size-local 1 \
--data-parallel-address $local_ip \
--data-parallel-rpc-port 13389 \
--tensor-parallel-size 16 \
--seed 1024 \
--served-model-name deepseek_v3.2 \
--enable-expert-parallel \
--max-num-seqs 16 \
--max-model-len 17450 \
--max-num-batched-tokens 17450 \
--trust-remote-code \
--no-enable-prefix-caching \
--gpu-memory-utilization 0.9 \
--additional-config '{"ascend_scheduler_config":{"enabled":true},"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}'
"""

SEED_A3_NODE1 = r"""#!/bin/sh

# this obtained through ifconfig
# nic_name is the network interface name corresponding to local_ip of the current node
nic_name="xxx"
local_ip="xxx"

# The value of node0_ip must be consistent with the value of local_ip set in node0 (master node)
node0_ip="xxxx"

export VLLM_USE_MODELSCOPE=True
export HCCL_IF_IP=$local_ip
export GLOO_SOCKET_IFNAME=$nic_name
export TP_SOCKET_IFNAME=$nic_name
export HCCL_SOCKET_IFNAME=$nic_name
export OMP_PROC_BIND=false
export OMP_NUM_THREADS=100
export HCCL_BUFFSIZE=1024

vllm serve /root/.cache/Modelers_Park/DeepSeek-V3.2-Exp \
--host 0.0.0.0 \
--port 8000 \
--headless \
--data-parallel-size 2 \
--data-parallel-size-local 1 \
--data-parallel-start-rank 1 \
--data-parallel-address $node0_ip \
--data-parallel-rpc-port 13389 \
--tensor-parallel-size 16 \
--seed 1024 \
--served-model-name deepseek_v3.2 \
--max-num-seqs 16 \
--max-model-len 17450 \
--max-num-batched-tokens 17450 \
--enable-expert-parallel \
--trust-remote-code \
--no-enable-prefix-caching \
--gpu-memory-utilization 0.92 \
--additional-config '{"ascend_scheduler_config":{"enabled":true},"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}'
"""

SEED_A2_NODE0 = r"""#!/bin/sh

# this obtained through ifconfig
# nic_name is the network interface name corresponding to local_ip of the current node
nic_name="xxxx"
local_ip="xxxx"

export VLLM_USE_MODELSCOPE=True
export HCCL_IF_IP=$local_ip
export GLOO_SOCKET_IFNAME=$nic_name
export TP_SOCKET_IFNAME=$nic_name
export HCCL_SOCKET_IFNAME=$nic_name
export OMP_PROC_BIND=false
export OMP_NUM_THREADS=100
export HCCL_BUFFSIZE=1024
export HCCL_OP_EXPANSION_MODE="AIV"
export PYTORCH_NPU_ALLOC_CONF="expandable_segments:True"

vllm serve vllm-ascend/DeepSeek-V3.2-Exp-W8A8 \
--host 0.0.0.0 \
--port 8000 \
--data-parallel-size 2 \
--data-parallel-size-local 1 \
--data-parallel-address $local_ip \
--data-parallel-rpc-port 13389 \
--tensor-parallel-size 8 \
--seed 1024 \
--served-model-name deepseek_v3.2 \
--enable-expert-parallel \
--max-num-seqs 16 \
--max-model-len 17450 \
--max-num-batched-tokens 17450 \
--trust-remote-code \
--quantization ascend \
--no-enable-prefix-caching \
--gpu-memory-utilization 0.9 \
--additional-config '{"ascend_scheduler_config":{"enabled":true},"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}'
"""

SEED_A2_NODE1 = r"""#!/bin/sh

# this obtained through ifconfig
# nic_name is the network interface name corresponding to local_ip of the current node
nic_name="xxx"
local_ip="xxx"

# The value of node0_ip must be consistent with the value of local_ip set in node0 (master node)
node0_ip="xxxx"

export VLLM_USE_MODELSCOPE=True
export HCCL_IF_IP=$local_ip
export GLOO_SOCKET_IFNAME=$nic_name
export TP_SOCKET_IFNAME=$nic_name
export HCCL_SOCKET_IFNAME=$nic_name
export OMP_PROC_BIND=false
export OMP_NUM_THREADS=100
export HCCL_BUFFSIZE=1024
export HCCL_OP_EXPANSION_MODE="AIV"
export PYTORCH_NPU_ALLOC_CONF="expandable_segments:True"

vllm serve vllm-ascend/DeepSeek-V3.2-Exp-W8A8 \
--host 0.0.0.0 \
--port 8000 \
--headless \
--data-parallel-size 2 \
--data-parallel-size-local 1 \
--data-parallel-start-rank 1 \
--data-parallel-address $node0_ip \
--data-parallel-rpc-port 13389 \
--tensor-parallel-size 8 \
--seed 1024 \
--served-model-name deepseek_v3.2 \
--max-num-seqs 16 \
--max-model-len 17450 \
--max-num-batched-tokens 17450 \
--enable-expert-parallel \
--trust-remote-code \
--quantization ascend \
--no-enable-prefix-caching \
--gpu-memory-utilization 0.92 \
--additional-config '{"ascend_scheduler_config":{"enabled":true},"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}'
"""

# The seed's functional check: its curl request body.
SEED_REQUEST = {"model": "deepseek_v3.2", "prompt": "The future of AI is", "max_tokens": 50, "temperature": 0}

# Multi-node flags shared by the hand-written DP tests (the seed's A2 layout, shortened).
DP_FLAGS = ("--data-parallel-size 2 --data-parallel-size-local 1 --tensor-parallel-size 8 "
            "--served-model-name deepseek_v3.2 --enable-expert-parallel --max-model-len 17450")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def free_ports(count):
    socks = [socket.socket() for _index in range(count)]
    try:
        for sock in socks:
            sock.bind((NODE0, 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port():
    return free_ports(1)[0]


def http(method, port, path, body=None, headers=None, timeout=5):
    """(status, decoded JSON or text) of one request to 127.0.0.1:port."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://%s:%d%s" % (NODE0, port, path), data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    text = raw.decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class Proc:
    def __init__(self, popen, log_path, name):
        self.popen, self.log_path, self.name = popen, log_path, name

    def log(self):
        return self.log_path.read_text(errors="replace")

    def alive(self):
        return self.popen.poll() is None

    def signal_vllm(self, sig):
        """Signal the vllm process itself (a seed script runs it under sh, which reports its status)."""
        pid = self.popen.pid
        for _level in range(3):  # sh -> vllm wrapper (exec) -> python
            try:
                with open("/proc/%d/task/%d/children" % (pid, pid), encoding="ascii") as handle:
                    children = handle.read().split()
            except OSError:
                children = []
            if not children:
                break
            pid = int(children[0])
        os.kill(pid, sig)

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail("%s still running after %ss:\n%s" % (self.name, timeout, self.log()))


class Cluster:
    """Starts fake-vllm processes in their own sessions and always kills them afterwards."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.procs = []
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        wrapper = self.bin / "vllm"
        wrapper.write_text('#!/bin/sh\nexec "%s" "%s" "$@"\n' % (sys.executable, VLLM))
        wrapper.chmod(0o755)
        self.state = tmp_path / "state.json"
        self.set_chips(16)

    def set_chips(self, count, product="a3"):
        self.state.write_text(json.dumps({"schema": 1, "product": product,
                                          "chips": [{"phy_id": i, "health": "OK"} for i in range(count)]}))

    def env(self, **extra):
        drop = ("ASCEND_SIM_", "HCCL_", "GLOO_", "TP_SOCKET", "VLLM_", "ASCEND_CUSTOM", "ASCEND_RT_",
                "OPENAI_API_KEY")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k != "LD_PRELOAD"}
        env.update({"PATH": "%s:%s" % (self.bin, env.get("PATH", "/usr/bin:/bin")),
                    "ASCEND_SIM_STATE": str(self.state),
                    "ASCEND_SIM_RELEASE": str(self.tmp / "no-release.json"),
                    "ASCEND_SIM_STARTUP_DELAY_S": "0.2",
                    "ASCEND_SIM_TTFT_S": "0.005", "ASCEND_SIM_ITL_S": "0.001",
                    "ASCEND_SIM_HANDSHAKE_TIMEOUT_S": "20", "VLLM_ENGINE_READY_TIMEOUT_S": "20"})
        env.update({k: str(v) for k, v in extra.items() if v is not None})
        for k in [k for k, v in extra.items() if v is None]:
            env.pop(k, None)
        return env

    def start(self, name, cmd, env, shell=False):
        log_path = self.tmp / ("%s.log" % name)
        handle = open(log_path, "wb")
        argv = ["sh", "-c", cmd] if shell else ["vllm"] + shlex.split(cmd)
        popen = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                 start_new_session=True, cwd=self.tmp)
        handle.close()
        proc = Proc(popen, log_path, name)
        self.procs.append(proc)
        return proc

    def run(self, cmd, env, timeout=20):
        return subprocess.run(["vllm"] + shlex.split(cmd), env=env, capture_output=True, text=True,
                              timeout=timeout, cwd=self.tmp, check=False)

    def kill_all(self):
        for proc in self.procs:
            if proc.alive():
                try:
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.popen.wait(timeout=5)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.kill_all()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "DeepSeek-V3.2-Exp"
    subprocess.run([sys.executable, str(ARTIFACTS / "make_model.py"), "--out", str(out)], check=True,
                   capture_output=True)
    return out


def wait_healthy(port, procs, timeout=15):
    """True once /health answers 200; False as soon as a process exited or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(not p.alive() for p in procs):
            return False
        try:
            status = http("GET", port, "/health", timeout=1)[0]
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def never_healthy(port, procs, timeout=15):
    """Polls /health until every process exited; fails if it ever answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = http("GET", port, "/health", timeout=0.5)[0]
            assert status != 200, "became healthy although the DP group is wrong"
        except OSError:
            pass
        if all(not p.alive() for p in procs):
            return
        time.sleep(0.1)
    pytest.fail("processes still running after %ss:\n%s" % (timeout, "\n".join(p.log() for p in procs)))


def seed_script(text, port, rpc_port, local_ip, node0_ip=NODE0, model=None):
    text = text.replace('nic_name="xxxx"', 'nic_name="lo"').replace('nic_name="xxx"', 'nic_name="lo"')
    text = text.replace('local_ip="xxxx"', 'local_ip="%s"' % local_ip).replace('local_ip="xxx"', 'local_ip="%s"' % local_ip)
    text = text.replace('node0_ip="xxxx"', 'node0_ip="%s"' % node0_ip)
    assert text.count("--port 8000") == 1
    text = text.replace("--port 8000", "--port %d" % port)
    text = text.replace("--data-parallel-rpc-port 13389", "--data-parallel-rpc-port %d" % rpc_port)
    if model is not None:
        text = text.replace("/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp", str(model))
    return text


# ------------------------------------------------------------------------------------------------
# the command line
# ------------------------------------------------------------------------------------------------
def test_version_and_table(cluster):
    # Through its own shebang (/usr/bin/python3, as on the nodes) where this machine has one.
    argv = [str(VLLM)] if os.path.exists("/usr/bin/python3") else [sys.executable, str(VLLM)]
    res = subprocess.run(argv + ["--version"], capture_output=True, text=True, timeout=20, check=False)
    assert res.returncode == 0 and res.stdout.strip() == "0.11.0"
    table = json.loads((HERE / "fakes" / "vllm-0.11.0-serve-args.json").read_text())
    assert table["vllm_version"] == "0.11.0" and len(table["actions"]) == 185


@pytest.mark.parametrize("args, message", [
    ("m --tensor-paralel-size 16", "unrecognized arguments: --tensor-paralel-size 16"),
    ("m --no-enable-prefix-cachng", "unrecognized arguments: --no-enable-prefix-cachng"),
    ("m --enable-expert-parallel=yes", "ignored explicit argument 'yes'"),
    ("m --dtype bf16", "argument --dtype: invalid choice: 'bf16'"),
    ("m --port eight", "argument --port: invalid int value: 'eight'"),
    ("m --max-model-len 17.5K", "Decimals are not allowed with binary suffixes"),
    ("m --data-parallel-s 2", "ambiguous option: --data-parallel-s could match"),
    ("m --additional-config '{\"ascend_scheduler_config\":{\"enabled\":true},}'", "invalid union_dict_and_str value"),
    ("m --compilation-config {level:3}", "1 validation error for CompilationConfig"),
    ("m --headless=1", "ignored explicit argument '1'"),
])
def test_rejects_what_vllm_rejects(cluster, args, message):
    res = cluster.run("serve " + args, cluster.env())
    assert res.returncode == 2, res.stdout + res.stderr
    assert message in res.stderr
    assert "usage: vllm" in res.stderr


def test_flexible_argument_forms_parse_like_vllm(cluster):
    # Underscores, human-readable ints, --json-arg.key value, -O3 and an unambiguous abbreviation
    # all parse as in vLLM; ASCEND_SIM_FAIL_AT=startup stops right after the parsed args are logged.
    res = cluster.run("serve org/m --max_model_len 16k --additional-config.ascend_scheduler_config.enabled "
                      "true -O3 --tensor-parallel 8 --served-model-name a b",
                      cluster.env(ASCEND_SIM_FAIL_AT="startup"))
    assert res.returncode == 1
    assert "'max_model_len': 16000" in res.stdout
    assert "'additional_config': {'ascend_scheduler_config': {'enabled': True}}" in res.stdout
    assert "'compilation_config': {'level': 3}" in res.stdout
    assert "'tensor_parallel_size': 8" in res.stdout
    assert "'served_model_name': ['a', 'b']" in res.stdout
    assert "Engine core initialization failed" in res.stderr


def test_additional_config_must_be_a_json_object(cluster):
    res = cluster.run("serve org/m --additional-config ascend_scheduler", cluster.env())
    assert res.returncode == 1
    assert "additional_config\n  Input should be a valid dictionary" in res.stderr


# ------------------------------------------------------------------------------------------------
# the seed's commands, exactly
# ------------------------------------------------------------------------------------------------
def test_seed_single_node_command(cluster):
    port = free_port()
    node = cluster.start("single", seed_script(SEED_SINGLE, port, 0, NODE0), cluster.env(), shell=True)
    assert wait_healthy(port, [node]), node.log()
    status, models = http("GET", port, "/v1/models")
    assert status == 200
    assert [(m["id"], m["max_model_len"], m["root"]) for m in models["data"]] == \
        [("deepseek_v3.2", 17450, "vllm-ascend/DeepSeek-V3.2-Exp-W8A8")]
    status, out = http("POST", port, "/v1/completions", SEED_REQUEST)
    assert status == 200, out
    assert out["object"] == "text_completion" and out["model"] == "deepseek_v3.2"
    assert len(out["choices"][0]["text"].split()) == 50 and out["choices"][0]["finish_reason"] == "length"
    assert out["usage"] == {"prompt_tokens": 5, "completion_tokens": 50, "total_tokens": 55,
                            "prompt_tokens_details": None}
    assert http("POST", port, "/v1/completions", SEED_REQUEST)[1]["choices"][0]["text"] == \
        out["choices"][0]["text"], "the same prompt must give the same text"
    # One node, no data parallelism: no RPC listener (nothing registered, nothing waited for).
    assert "register on tcp://" not in node.log()
    assert "Starting vLLM API server 0 on http://0.0.0.0:%d" % port in node.log()
    node.signal_vllm(signal.SIGTERM)
    assert node.wait(10) == 0


@pytest.mark.parametrize("product", ["a3", "a2"])
def test_seed_two_node_commands_form_a_group(cluster, model_dir, product):
    node0_text, node1_text = {"a3": (SEED_A3_NODE0, SEED_A3_NODE1), "a2": (SEED_A2_NODE0, SEED_A2_NODE1)}[product]
    cluster.set_chips(16 if product == "a3" else 8, product)
    port, rpc = free_ports(2)
    node0 = cluster.start("node0", seed_script(node0_text, port, rpc, NODE0, model=model_dir), cluster.env(),
                          shell=True)
    node1 = cluster.start("node1", seed_script(node1_text, port, rpc, NODE1, model=model_dir), cluster.env(),
                          shell=True)
    assert wait_healthy(port, [node0, node1]), node0.log() + node1.log()
    assert "Registered ranks [1] with the front-end at tcp://127.0.0.1:%d" % rpc in node1.log()
    assert "Registered DP rank(s) [1] from peer" in node0.log() and "(127.0.0.2:" in node0.log()
    status, models = http("GET", port, "/v1/models")
    assert status == 200 and models["data"][0]["id"] == "deepseek_v3.2"
    status, out = http("POST", port, "/v1/completions", SEED_REQUEST)
    assert status == 200 and out["usage"]["completion_tokens"] == 50
    status, metrics = http("GET", port, "/metrics")
    assert 'vllm:num_requests_running{engine="1",model_name="deepseek_v3.2"}' in metrics
    # A clean stop of node0 stops the group cleanly: both exit 0.
    node0.signal_vllm(signal.SIGTERM)
    assert node0.wait(10) == 0
    assert node1.wait(10) == 0, node1.log()
    assert "Front-end requested shutdown" in node1.log()


def dp_cmd(role, port, rpc, extra=""):
    if role == "node0":
        return "serve org/DeepSeek-V3.2-Exp-W8A8 --host 127.0.0.1 --port %d %s --data-parallel-address %s " \
               "--data-parallel-rpc-port %d %s" % (port, DP_FLAGS, NODE0, rpc, extra)
    return "serve org/DeepSeek-V3.2-Exp-W8A8 --headless %s --data-parallel-address %s " \
           "--data-parallel-rpc-port %d %s" % (DP_FLAGS, NODE0, rpc, extra)


def dp_env(cluster, ip, **extra):
    env = {"HCCL_IF_IP": ip, "GLOO_SOCKET_IFNAME": "lo", "TP_SOCKET_IFNAME": "lo", "HCCL_SOCKET_IFNAME": "lo"}
    env.update(extra)
    return cluster.env(**env)


def test_headless_exits_nonzero_when_node0_dies(cluster):
    cluster.set_chips(8, "a2")
    port, rpc = free_ports(2)
    node0 = cluster.start("node0", dp_cmd("node0", port, rpc), dp_env(cluster, NODE0))
    node1 = cluster.start("node1", dp_cmd("node1", port, rpc, "--data-parallel-start-rank 1"),
                          dp_env(cluster, NODE1, ASCEND_SIM_HEARTBEAT_TIMEOUT_S=3))
    assert wait_healthy(port, [node0, node1]), node0.log() + node1.log()
    node0.signal_vllm(signal.SIGKILL)
    assert node1.wait(10) != 0
    assert "Lost the front-end at tcp://127.0.0.1:%d" % rpc in node1.log()


def test_node0_fails_when_a_headless_node_dies(cluster):
    cluster.set_chips(8, "a2")
    port, rpc = free_ports(2)
    node0 = cluster.start("node0", dp_cmd("node0", port, rpc), dp_env(cluster, NODE0))
    node1 = cluster.start("node1", dp_cmd("node1", port, rpc, "--data-parallel-start-rank 1"), dp_env(cluster, NODE1))
    assert wait_healthy(port, [node0, node1]), node0.log() + node1.log()
    node1.signal_vllm(signal.SIGKILL)
    assert node0.wait(10) != 0
    assert "for DP rank(s) [1] on peer" in node0.log() and "died unexpectedly" in node0.log()


# Each case: extra args for node0 and node1, env for node1, what node0 and node1 must say.
DP_FAILURES = {
    "start-rank-0-duplicates-node0": (
        "", "--data-parallel-start-rank 0", {},
        "DP rank 0 registered twice", "rejected this engine"),
    "start-rank-2-out-of-range": (
        "", "--data-parallel-start-rank 2", {},
        "missing ranks [1]", "exceeds data_parallel_size (2)"),
    "wrong-rpc-port": (
        "", "--data-parallel-start-rank 1 --data-parallel-rpc-port {wrong}", {},
        "missing ranks [1]", "Did not receive response from front-end process within 2 seconds"),
    "mismatched-tp": (
        "", "--data-parallel-start-rank 1 --tensor-parallel-size 4", {},
        "has tensor_parallel_size=4 but the front-end (node0) has tensor_parallel_size=8", "rejected this engine"),
    "mismatched-served-name": (
        "", "--data-parallel-start-rank 1 --served-model-name deepseek", {},
        "served_model_name=[\"deepseek\"]", "rejected this engine"),
    "mismatched-expert-parallel": (
        "", "--data-parallel-start-rank 1 --no-enable-expert-parallel", {},
        "enable_expert_parallel=false", "rejected this engine"),
    "missing-node": (
        "", None, {},
        "Timed out waiting for engines to send initial message on input socket", None),
}


@pytest.mark.parametrize("case", sorted(DP_FAILURES))
def test_wrong_dp_group_never_becomes_healthy(cluster, case):
    extra0, extra1, env1, says0, says1 = DP_FAILURES[case]
    cluster.set_chips(8, "a2")
    port, rpc, wrong = free_ports(3)
    timeouts = {"ASCEND_SIM_HANDSHAKE_TIMEOUT_S": 2, "VLLM_ENGINE_READY_TIMEOUT_S": 3}
    procs = [cluster.start("node0", dp_cmd("node0", port, rpc, extra0), dp_env(cluster, NODE0, **timeouts))]
    if extra1 is not None:
        # argparse keeps the last of a repeated option: the case's value wins over DP_FLAGS'.
        procs.append(cluster.start("node1", dp_cmd("node1", port, rpc, extra1.format(wrong=wrong)),
                                   dp_env(cluster, NODE1, **timeouts, **env1)))
    never_healthy(port, procs, timeout=15)
    assert procs[0].popen.returncode != 0
    assert says0 in procs[0].log(), procs[0].log()
    if extra1 is not None:
        assert procs[1].popen.returncode != 0
        assert says1 in procs[1].log(), procs[1].log()


@pytest.mark.parametrize("env, message", [
    ({"HCCL_IF_IP": None}, "HCCL_IF_IP is not set"),
    ({"HCCL_IF_IP": "198.51.100.7"}, "HCCL_IF_IP=198.51.100.7 is not an address of this host"),
    ({"GLOO_SOCKET_IFNAME": None}, "GLOO_SOCKET_IFNAME is not set"),
    ({"HCCL_SOCKET_IFNAME": "nosuch0"}, "Unable to find address for: nosuch0 (HCCL_SOCKET_IFNAME)"),
    ({"TP_SOCKET_IFNAME": "nosuch0"}, "TP_SOCKET_IFNAME=nosuch0 and HCCL_SOCKET_IFNAME=lo differ"),
])
@pytest.mark.parametrize("role", ["node0", "node1"])
def test_multinode_environment_is_checked(cluster, env, message, role):
    cluster.set_chips(8, "a2")
    port, rpc = free_ports(2)
    extra = "" if role == "node0" else "--data-parallel-start-rank 1"
    ip = NODE0 if role == "node0" else NODE1
    res = cluster.run(dp_cmd(role, port, rpc, extra), dp_env(cluster, ip, **env))
    assert res.returncode == 1, res.stdout + res.stderr
    assert message in res.stdout + res.stderr


def test_ifname_must_hold_hccl_if_ip(cluster):
    others = [name for _index, name in socket.if_nameindex() if name != "lo"]
    if not others:
        pytest.skip("this host has no interface besides lo")
    cluster.set_chips(8, "a2")
    port, rpc = free_ports(2)
    nic = others[0]
    env = dp_env(cluster, NODE0, GLOO_SOCKET_IFNAME=nic, TP_SOCKET_IFNAME=nic, HCCL_SOCKET_IFNAME=nic)
    res = cluster.run(dp_cmd("node0", port, rpc), env)
    assert res.returncode == 1
    assert "GLOO_SOCKET_IFNAME=%s does not hold HCCL_IF_IP=127.0.0.1 (that address is on lo)" % nic in res.stdout


def test_node0_address_must_be_local(cluster):
    cluster.set_chips(8, "a2")
    port, rpc = free_ports(2)
    res = cluster.run(dp_cmd("node0", port, rpc).replace("--data-parallel-address 127.0.0.1",
                                                         "--data-parallel-address 198.51.100.7"),
                      dp_env(cluster, NODE0))
    assert res.returncode == 1
    assert "OSError: [Errno 99] Cannot assign requested address (addr='tcp://198.51.100.7:%d')" % rpc in res.stderr


# ------------------------------------------------------------------------------------------------
# the node: NPUs, model, custom operators, failures
# ------------------------------------------------------------------------------------------------
def test_tensor_parallel_must_fit_the_node(cluster):
    cluster.set_chips(8, "a2")
    res = cluster.run("serve org/m --tensor-parallel-size 16", cluster.env())
    assert res.returncode == 1
    assert "world size 16 (tensor_parallel_size=16 x pipeline_parallel_size=1 x data_parallel_size_local=1) " \
           "exceeds the 8 NPU(s) of this node" in res.stderr
    res = cluster.run("serve org/m --tensor-parallel-size 8", cluster.env(ASCEND_RT_VISIBLE_DEVICES="0,1,2,3"))
    assert res.returncode == 1 and "exceeds the 4 NPU(s)" in res.stderr


def test_unhealthy_npu_fails_start(cluster):
    cluster.set_chips(8, "a2")
    state = json.loads(cluster.state.read_text())
    state["chips"][3]["health"] = "Alarm"
    cluster.state.write_text(json.dumps(state))
    res = cluster.run("serve org/m --tensor-parallel-size 8", cluster.env())
    assert res.returncode == 1 and "NPU 3 is Alarm" in res.stderr


def test_model_directory_is_checked(cluster, model_dir, tmp_path):
    res = cluster.run("serve /nonexistent/DeepSeek-V3.2-Exp", cluster.env())
    assert res.returncode == 1 and "Invalid repository ID or local directory specified: '/nonexistent" in res.stderr
    res = cluster.run("serve %s --quantization ascend" % model_dir, cluster.env())
    assert res.returncode == 1 and "Cannot find the config file for ascend" in res.stderr
    res = cluster.run("serve %s --max-model-len 200000" % model_dir, cluster.env())
    assert res.returncode == 1 and "User-specified max_model_len (200000) is greater than the derived" in res.stderr
    res = cluster.run("serve %s --tensor-parallel-size 3" % model_dir, cluster.env())
    assert res.returncode == 1 and "Total number of attention heads (128) must be divisible by tensor" in res.stderr
    partial = tmp_path / "partial"
    subprocess.run([sys.executable, str(ARTIFACTS / "make_model.py"), "--out", str(partial), "--shards", "3"],
                   check=True, capture_output=True)
    (partial / "model-00002-of-00003.safetensors").unlink()
    res = cluster.run("serve %s" % partial, cluster.env())
    assert res.returncode == 1 and "model-00002-of-00003.safetensors" in res.stderr


def test_ascend_scheduler_needs_batched_tokens_ge_model_len(cluster):
    res = cluster.run("serve org/m --max-model-len 17450 --max-num-batched-tokens 8192 --additional-config "
                      "'{\"ascend_scheduler_config\":{\"enabled\":true}}'", cluster.env())
    assert res.returncode == 1
    assert "Argument max_num_batched_tokens (8192) is smaller than max_model_len (17450)" in res.stderr


@pytest.mark.parametrize("stage", ["startup", "loading"])
def test_simulated_crash(cluster, stage):
    port = free_port()
    node = cluster.start("node", "serve org/m --port %d" % port, cluster.env(ASCEND_SIM_FAIL_AT=stage))
    assert not wait_healthy(port, [node], timeout=10)
    assert node.wait(10) == 1
    assert "ASCEND_SIM_FAIL_AT=%s: simulated crash" % stage in node.log()


def test_serving_crash_after_delay(cluster):
    port = free_port()
    node = cluster.start("node", "serve org/m --port %d" % port,
                         cluster.env(ASCEND_SIM_FAIL_AT="serving", ASCEND_SIM_FAIL_AFTER_S=1))
    assert wait_healthy(port, [node])
    assert node.wait(10) == 1


@pytest.fixture(scope="module")
def built_artifacts(tmp_path_factory):
    out = tmp_path_factory.mktemp("artifacts")
    subprocess.run([sys.executable, str(ARTIFACTS / "build.py"), "--out", str(out)], check=True, capture_output=True)
    return out


def install_custom_ops(root, artifacts, product):
    """The seed's SFA + MLAPO steps into root (ASCEND_OPP_PATH=root/opp, MLAPO at root/CANN)."""
    opp = root / "opp"
    opp.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASCEND_")}
    for name, args, extra_env in (("sfa", ["--quiet"], {"ASCEND_OPP_PATH": str(opp)}),
                                  ("mlapo", ["--quiet", "--install-path=%s" % (root / "CANN")], {})):
        run = artifacts / "vllm-ascend" / product / ("CANN-custom_ops-%s-linux.aarch64.run" % name)
        res = subprocess.run([str(run)] + args, env={**env, **extra_env}, capture_output=True, text=True,
                             cwd=root, timeout=30, check=False)
        assert res.returncode == 0 and res.stdout.strip().endswith("SUCCESS"), res.stdout + res.stderr
    sfa = opp / "vendors" / "customize"
    mlapo = root / "CANN" / "vendors" / "customize"
    # What the seed exports, then what MLAPO's set_env.bash adds.
    return {"ASCEND_CUSTOM_OPP_PATH": "%s:%s:" % (mlapo, sfa),
            "LD_LIBRARY_PATH": "%s/op_api/lib/:%s/op_api/lib/:" % (mlapo, sfa),
            "LD_PRELOAD": "%s/op_proto/lib/linux/aarch64/libcust_opsproto_rt2.0.so:" % mlapo}


def test_custom_ops_environment_is_required(cluster, built_artifacts, tmp_path):
    cluster.set_chips(16, "a3")
    res = cluster.run("serve org/m --tensor-parallel-size 16", cluster.env(ASCEND_SIM_REQUIRE_CUSTOM_OPS=1))
    assert res.returncode == 1
    assert "RuntimeError: aclnnLightningIndexerGetWorkspaceSize or aclnnLightningIndexer not in libopapi.so" \
        in res.stderr
    assert "LD_PRELOAD contains no" in res.stdout
    ops_env = install_custom_ops(tmp_path / "a3", built_artifacts, "a3")
    release = tmp_path / "release.json"
    release.write_text(json.dumps({"custom_ops": True, "mlapo_path": str(tmp_path / "a3" / "CANN"),
                                   "sfa_opp_path": str(tmp_path / "a3" / "opp"), "soc": "ascend910_93"}))
    port = free_port()
    node = cluster.start("node", "serve org/m --tensor-parallel-size 16 --port %d" % port,
                         cluster.env(ASCEND_SIM_RELEASE=release, **ops_env))
    assert wait_healthy(port, [node]), node.log()
    assert "custom ops environment loaded" in node.log()
    # The same release without LD_PRELOAD: vllm-ascend's symptom, naming the missing piece.
    res = cluster.run("serve org/m --tensor-parallel-size 16",
                      cluster.env(ASCEND_SIM_RELEASE=release, **{**ops_env, "LD_PRELOAD": None}))
    assert res.returncode == 1 and "aclnnLightningIndexer not in libopapi.so" in res.stderr
    assert "LD_PRELOAD does not contain %s" % (tmp_path / "a3" / "CANN") in res.stdout


def test_custom_ops_of_the_wrong_product_are_refused(cluster, built_artifacts, tmp_path):
    cluster.set_chips(16, "a3")
    ops_env = install_custom_ops(tmp_path / "a2", built_artifacts, "a2")
    release = tmp_path / "release.json"
    release.write_text(json.dumps({"custom_ops": True, "mlapo_path": str(tmp_path / "a2" / "CANN"),
                                   "soc": "ascend910_93"}))
    res = cluster.run("serve org/m --tensor-parallel-size 16", cluster.env(ASCEND_SIM_RELEASE=release, **ops_env))
    assert res.returncode == 1
    assert "has kernels for ascend910b, not for this node's ascend910_93 (wrong a2/a3 package?)" in res.stdout


# ------------------------------------------------------------------------------------------------
# the API
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def server(cluster):
    port = free_port()
    node = cluster.start("server", "serve org/DeepSeek-V3.2-Exp-W8A8 --port %d --served-model-name deepseek_v3.2 "
                         "--max-model-len 1000 --tensor-parallel-size 16" % port, cluster.env())
    assert wait_healthy(port, [node]), node.log()
    return port, node


def test_openai_api(server):
    port, node = server
    assert http("GET", port, "/version") == (200, {"version": "0.11.0"})
    status, err = http("POST", port, "/v1/completions", {"model": "DeepSeek-V3.2-Exp", "prompt": "hi"})
    assert status == 404 and err["error"]["message"] == "The model `DeepSeek-V3.2-Exp` does not exist."
    assert err["error"]["type"] == "NotFoundError" and err["error"]["code"] == 404
    status, out = http("POST", port, "/v1/completions", {"model": "deepseek_v3.2", "prompt": "one two three"})
    assert status == 200 and out["usage"]["completion_tokens"] == 16  # vLLM's default max_tokens
    status, err = http("POST", port, "/v1/completions", {"model": "deepseek_v3.2", "prompt": "a b", "max_tokens": 999})
    assert status == 400 and "maximum context length is 1000 tokens" in err["error"]["message"]
    status, err = http("POST", port, "/v1/completions", {"model": "deepseek_v3.2", "prompt": "a", "max_tokens": 0})
    assert status == 400
    status, err = http("POST", port, "/v1/completions", {"model": "deepseek_v3.2"})
    assert status == 400
    status, chat = http("POST", port, "/v1/chat/completions", {
        "model": "deepseek_v3.2", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 7})
    assert status == 200 and chat["object"] == "chat.completion"
    assert len(chat["choices"][0]["message"]["content"].split()) == 7
    assert http("GET", port, "/nope")[0] == 404
    assert http("GET", port, "/v1/completions")[0] == 405
    status, metrics = http("GET", port, "/metrics")
    assert status == 200 and "vllm:generation_tokens_total" in metrics and "vllm:prompt_tokens_total" in metrics
    assert '"POST /v1/completions HTTP/1.1" 404 Not Found' in node.log()


def test_streaming_completion(server):
    port = server[0]
    body = json.dumps({"model": "deepseek_v3.2", "prompt": "The future of AI is", "max_tokens": 5, "stream": True,
                       "stream_options": {"include_usage": True}}).encode()
    req = urllib.request.Request("http://%s:%d/v1/completions" % (NODE0, port), data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with _OPENER.open(req, timeout=10) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = [line[len(b"data: "):] for line in resp.read().splitlines() if line.startswith(b"data: ")]
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    texts = [c["choices"][0]["text"] for c in chunks if c["choices"]]
    assert len(texts) == 5 and chunks[-1]["usage"]["completion_tokens"] == 5
    status, full = http("POST", port, "/v1/completions", {"model": "deepseek_v3.2", "prompt": "The future of AI is",
                                                          "max_tokens": 5})
    assert "".join(texts) == full["choices"][0]["text"]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_api_key(cluster, how):
    port = free_port()
    cmd = "serve org/m --port %d --served-model-name deepseek_v3.2" % port
    env = cluster.env()
    if how == "flag":
        cmd += " --api-key s3cret other"
    else:
        env["VLLM_API_KEY"] = "s3cret"
    node = cluster.start("node", cmd, env)
    assert wait_healthy(port, [node]), node.log()  # /health needs no key
    assert http("GET", port, "/v1/models") == (401, {"error": "Unauthorized"})
    assert http("GET", port, "/v1/models", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert http("GET", port, "/v1/models", headers={"Authorization": "Bearer s3cret"})[0] == 200
    assert http("POST", port, "/v1/completions", SEED_REQUEST, headers={"Authorization": "Bearer s3cret"})[0] == 200
    assert http("GET", port, "/metrics")[0] == 200  # not under /v1


def test_api_port_in_use_fails_fast(cluster):
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = cluster.run("serve org/m --port %d" % port, cluster.env())
    assert res.returncode == 1 and "[Errno 98] Address already in use" in res.stderr


def test_sigterm_during_startup_exits_zero(cluster):
    port = free_port()
    node = cluster.start("node", "serve org/m --port %d" % port, cluster.env(ASCEND_SIM_STARTUP_DELAY_S=30))
    time.sleep(1.0)
    node.signal_vllm(signal.SIGTERM)
    assert node.wait(10) == 0


# ------------------------------------------------------------------------------------------------
# vllm bench serve
# ------------------------------------------------------------------------------------------------
BENCH_KEYS = ("date", "backend", "label", "model_id", "tokenizer_id", "num_prompts", "request_rate", "burstiness",
              "max_concurrency", "duration", "completed", "total_input_tokens", "total_output_tokens",
              "request_throughput", "request_goodput", "output_throughput", "total_token_throughput",
              "max_output_tokens_per_s", "max_concurrent_requests")


def bench(cluster, server_port, result_dir, extra="", **env):
    # The seed's command, abbreviations included (argparse resolves unique prefixes as vLLM's does).
    cmd = ("bench serve --model vllm-ascend/DeepSeek-V3.2-Exp-W8A8  --dataset-name random --random-input 200 "
           "--num-prompt 20 --request-rate 1 --save-result --result-dir %s --port %d --random-output-len 8 %s"
           % (result_dir, server_port, extra))
    return cluster.run(cmd, cluster.env(VLLM_USE_MODELSCOPE="true", **env), timeout=60)


def test_bench_serve_writes_vllm_result(cluster, server, tmp_path):
    port = server[0]
    res = bench(cluster, port, tmp_path / "out", "--served-model-name deepseek_v3.2", ASCEND_SIM_BENCH_FAST=1)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "============ Serving Benchmark Result ============" in res.stdout
    assert "Successful requests:                     20" in res.stdout
    files = list((tmp_path / "out").glob("vllm-1.0qps-DeepSeek-V3.2-Exp-W8A8-*.json"))
    assert len(files) == 1, list((tmp_path / "out").iterdir())
    result = json.loads(files[0].read_text())
    for key in BENCH_KEYS:
        assert key in result, key
    for metric in ("ttft", "tpot", "itl"):
        for stat in ("mean", "median", "std", "p99"):
            assert "%s_%s_ms" % (stat, metric) in result
    assert "mean_e2el_ms" not in result  # vLLM 0.11 reports e2el only when asked
    assert "ttfts" not in result  # only with --save-detailed
    assert result["completed"] == 20 and result["num_prompts"] == 20 and result["request_rate"] == 1.0
    assert result["total_input_tokens"] == 20 * 200 and result["total_output_tokens"] == 20 * 8
    assert result["model_id"] == "vllm-ascend/DeepSeek-V3.2-Exp-W8A8" and result["backend"] == "vllm"
    assert 0 < result["mean_ttft_ms"] < 5000 and result["mean_itl_ms"] > 0


def test_bench_serve_percentiles_and_rate(cluster, server, tmp_path):
    port = server[0]
    res = bench(cluster, port, tmp_path / "out", "--served-model-name deepseek_v3.2 --request-rate 10 "
                "--percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90 --save-detailed")
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert {"mean_e2el_ms", "p50_e2el_ms", "p90_ttft_ms", "ttfts", "itls", "generated_texts"} <= set(result)
    assert "p99_ttft_ms" not in result
    # 20 requests at 10 req/s: the arrivals are spread over about two seconds.
    assert result["duration"] > 1.0


def test_bench_serve_needs_the_served_name(cluster, server, tmp_path):
    port = server[0]
    res = bench(cluster, port, tmp_path / "out", "--ready-check-timeout-sec 1")
    assert res.returncode == 1
    assert "Initial test run failed" in res.stderr and "Not Found" in res.stderr


def test_bench_serve_rejects_unknown_flags(cluster):
    res = cluster.run("bench serve --model m --random-input-length 10", cluster.env())
    assert res.returncode == 2 and "unrecognized arguments: --random-input-length" in res.stderr


@pytest.mark.parametrize("question,text", [
    ("What is 17 plus 25?", " 17 + 25 = 42\n#### 42"),
    ("What is 120 minus 145?", " 120 - 145 = -25\n#### -25"),
    ("What is 12 times 12?", " 12 * 12 = 144\n#### 144"),
])
def test_answers_gsm8k_shaped_arithmetic(server, question, text):
    """lm_eval's gsm8k prompt shape (few-shot examples first): the last question is answered and stops."""
    port = server[0]
    shots = "Question: What is 1 plus 1?\nAnswer: 1 + 1 = 2\n#### 2\n\n"
    status, out = http("POST", port, "/v1/completions", {"model": "deepseek_v3.2", "max_tokens": 256,
                                                         "prompt": shots + "Question: %s\nAnswer:" % question,
                                                         "stop": ["Question:"], "temperature": 0})
    assert status == 200
    assert out["choices"][0]["text"] == text and out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"]["completion_tokens"] == 6


def test_arithmetic_answer_respects_max_tokens_and_unknown_operators(server):
    port = server[0]
    status, out = http("POST", port, "/v1/completions", {"model": "deepseek_v3.2", "max_tokens": 3,
                                                         "prompt": "Question: What is 2 plus 2?\nAnswer:"})
    assert out["choices"][0]["text"] == " 2 + 2" and out["choices"][0]["finish_reason"] == "length"
    status, out = http("POST", port, "/v1/completions", {"model": "deepseek_v3.2", "max_tokens": 8,
                                                         "prompt": "Question: What is 81 divided by 9?\nAnswer:"})
    assert status == 200 and "####" not in out["choices"][0]["text"]
    assert len(out["choices"][0]["text"].split()) == 8 and out["choices"][0]["finish_reason"] == "length"


def test_streamed_arithmetic_answer(server):
    port = server[0]
    body = json.dumps({"model": "deepseek_v3.2", "prompt": "Question: What is 9 times 7?\nAnswer:", "max_tokens": 50,
                       "stream": True}).encode()
    req = urllib.request.Request("http://%s:%d/v1/completions" % (NODE0, port), data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with _OPENER.open(req, timeout=10) as resp:
        events = [line[len(b"data: "):] for line in resp.read().splitlines() if line.startswith(b"data: ")]
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["text"] for c in chunks) == " 9 * 7 = 63\n#### 63"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
