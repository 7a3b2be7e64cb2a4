"""The single-node A3 W8A8 deploy: the image path, the seed's single-node command, no DP flags."""
import json
import os
import subprocess
import urllib.request

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-single"


def node(*cmd):
    res = subprocess.run(["podman", "exec", "ascsim-%s-node0" % CLUSTER] + list(cmd),
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, "%s failed: %s%s" % (cmd, res.stdout, res.stderr)
    return res.stdout


def test_launch_runs_the_image_with_the_ascend_devices():
    launch = node("cat", "/etc/ascend-serving/launch.sh")
    assert "docker run" in launch and "--net=host" in launch
    assert "quay.io/ascend/vllm-ascend:v0.11.0rc0-a3-deepseek-v3.2-exp" in launch
    for dev in ["/dev/davinci0", "/dev/davinci15", "/dev/davinci_manager", "/dev/devmm_svm", "/dev/hisi_hdc"]:
        assert "--device %s" % dev in launch
    assert "/etc/hccn.conf:/etc/hccn.conf:ro" in launch


def test_seed_single_node_command():
    launch = node("cat", "/etc/ascend-serving/launch.sh")
    argv = launch.strip().splitlines()[-1]
    assert "vllm serve vllm-ascend/DeepSeek-V3.2-Exp-W8A8" in argv
    for flag in ["--tensor-parallel-size 16", "--quantization ascend", "--gpu-memory-utilization 0.92",
                 "--max-num-seqs 16", "--max-model-len 17450", "--enable-expert-parallel"]:
        assert flag in argv
    assert "--data-parallel" not in argv and "--headless" not in argv
    env = node("cat", "/etc/ascend-serving/hccl.env")
    assert "export VLLM_USE_MODELSCOPE=true" in env and "HCCL_IF_IP" not in env


def test_image_present_and_state_recorded():
    images = node("docker", "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert "quay.io/ascend/vllm-ascend:v0.11.0rc0-a3-deepseek-v3.2-exp" in images
    state = json.loads(node("cat", "/etc/ascend-serving/state.json"))
    assert state["install_method"] == "image" and state["runtime"] == "container"


def test_endpoint_answers_the_seed_request():
    ip = node("sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").strip()
    req = urllib.request.Request("http://%s:8000/v1/completions" % ip, data=json.dumps(
        {"model": "deepseek_v3.2", "prompt": "The future of AI is", "max_tokens": 50, "temperature": 0}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        out = json.loads(resp.read())
    assert out["model"] == "deepseek_v3.2" and out["choices"][0]["text"].strip()
