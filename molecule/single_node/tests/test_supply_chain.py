"""Supply-chain pins on the image path (issue 21 item 8), after molecule's converge of single_node.

The release's image is pinned by its registry digest (vllm_image_digest): a pinned image already on
the node is kept, one that is not is pulled by ``repo@sha256:...``; either way ascend_ops sets the
fact ``ascend_ops_image_id`` (the local image ID), in --check too. A wrong digest, and an unpinned
image or hub id under preflight_require_checksums, fail before anything is pulled or started.
Every case leaves the deployed service as it found it.
"""
import hashlib
import json
import os
import re
import subprocess

import pytest

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-single"
INVENTORY = os.path.join(ROOT, ".work", "clusters", CLUSTER, "inventory")
REGISTRY_INDEX = os.path.join(ROOT, ".work", "clusters", CLUSTER, "mirror", "images", "index.json")
IMAGE = "quay.io/ascend/vllm-ascend:v0.11.0rc0-a3-deepseek-v3.2-exp"
REPO = IMAGE.rsplit(":", 1)[0]
# A docker whose store is empty (same simulated registry): pulls can be watched without touching
# the image the service runs.
EMPTY_DOCKER = "/tmp/supply-chain/docker"
FACTS_PLAYBOOK = """
- name: The release's image and its local image ID
  hosts: vllm_nodes
  gather_facts: false
  roles:
    - role: ascend.serving.plan
      vars:
        plan_discover: false
        plan_show: false
    - role: ascend.serving.ascend_ops
  tasks:
    - name: Report the fact
      ansible.builtin.debug:
        msg: "IMAGE_ID={{ 'null' if ascend_ops_image_id is none else ascend_ops_image_id }} SOURCE={{ ascend_ops_result.image.source }}"
"""
PREFLIGHT_PLAYBOOK = """
- name: Validate the inventory against its profile (controller only)
  hosts: vllm_nodes
  gather_facts: false
  tasks:
    - name: The plan step's validation of the inventory
      ansible.builtin.include_role:
        name: ascend.serving.plan
        tasks_from: validate
"""


def node(*cmd, check=True):
    res = subprocess.run(["podman", "exec", "ascsim-%s-node0" % CLUSTER] + list(cmd),
                         capture_output=True, text=True, check=False)
    if check:
        assert res.returncode == 0, "%s failed: %s%s" % (cmd, res.stdout, res.stderr)
    return res


def playbook(path, *extra):
    """ansible-playbook; ``.out`` is stdout and stderr together."""
    res = subprocess.run(["ansible-playbook", str(path), "-i", INVENTORY] + list(extra),
                         capture_output=True, text=True, check=False, cwd=ROOT)
    res.out = res.stdout + res.stderr
    return res


def deploy(*extra):
    return playbook(os.path.join(ROOT, "playbooks", "deploy.yml"), *extra)


def recap_changed(output):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def reported(output):
    found = re.findall(r"IMAGE_ID=(\S+) SOURCE=(\w+)", output)
    assert len(found) == 1, output[-3000:]
    return found[0]


def registry_entry():
    with open(REGISTRY_INDEX) as handle:
        return json.load(handle)[IMAGE]


def service_snapshot():
    """What a run that starts nothing leaves alone: the unit's main PID and the deployed files."""
    pid = node("systemctl", "show", "-p", "MainPID", "--value", "ascend-vllm.service").stdout.strip()
    files = node("sh", "-c", "cat /etc/ascend-serving/launch.sh /etc/ascend-serving/state.json").stdout
    images = node("docker", "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout
    return pid, hashlib.sha256(files.encode()).hexdigest(), images


@pytest.fixture
def facts_playbook(tmp_path):
    path = tmp_path / "facts.yml"
    path.write_text(FACTS_PLAYBOOK)
    return path


@pytest.fixture
def empty_docker():
    node("sh", "-c", "rm -rf /tmp/supply-chain && mkdir -p /tmp/supply-chain/store && printf '%s\\n' '#!/bin/sh' "
         "'ASCEND_SIM_DOCKER_ROOT=/tmp/supply-chain/store exec docker \"$@\"' > " + EMPTY_DOCKER
         + " && chmod 0755 " + EMPTY_DOCKER)
    yield EMPTY_DOCKER
    node("rm", "-rf", "/tmp/supply-chain")


def test_pinned_image_on_the_node_is_kept_and_its_id_reported_in_check_mode_too(facts_playbook):
    entry = registry_entry()
    local_id = node("docker", "image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    assert local_id == entry["id"]
    before = service_snapshot()
    pin = json.dumps({"vllm_image_digest": entry["digest"]})
    for mode in (["--check"], []):
        res = playbook(facts_playbook, "-e", pin, *mode)
        assert res.returncode == 0, res.out[-3000:]
        assert reported(res.out) == (local_id, "present"), mode
        assert recap_changed(res.out) == 0, mode
    assert service_snapshot() == before


def test_pinned_image_missing_is_pulled_by_digest_and_its_id_set(facts_playbook, empty_docker):
    entry = registry_entry()
    pin = json.dumps({"vllm_image_digest": entry["digest"], "ascend_ops_docker": empty_docker})
    # --check: says it would pull by digest; the image is not there, so the fact is null (defined, no ID yet).
    res = playbook(facts_playbook, "-e", pin, "--check")
    assert res.returncode == 0, res.out[-3000:]
    assert "would docker pull %s@%s" % (REPO, entry["digest"]) in res.out
    assert reported(res.out) == ("null", "missing")
    assert node(empty_docker, "images", "-q").stdout.strip() == ""
    res = playbook(facts_playbook, "-e", pin)
    assert res.returncode == 0, res.out[-3000:]
    assert reported(res.out) == (entry["id"], "registry")
    image = json.loads(node(empty_docker, "image", "inspect", IMAGE).stdout)[0]
    # Pulled by digest (docker records repo@digest and no tag), then given the release's tag.
    assert image["Id"] == entry["id"]
    assert image["RepoDigests"] == ["%s@%s" % (REPO, entry["digest"])] and image["RepoTags"] == [IMAGE]
    # Converged: nothing pulled again, same ID.
    res = playbook(facts_playbook, "-e", pin)
    assert res.returncode == 0 and recap_changed(res.out) == 0, res.out[-3000:]
    assert reported(res.out) == (entry["id"], "present")


def test_wrong_digest_fails_before_anything_is_pulled_or_started():
    wrong = "sha256:" + hashlib.sha256(b"not the verified build").hexdigest()
    before = service_snapshot()
    res = deploy("-e", json.dumps({"vllm_image_digest": wrong}))
    assert res.returncode != 0
    for fragment in ("docker pull %s@%s failed" % (REPO, wrong), "manifest unknown",
                     "The registry has no image %s with the pinned digest %s" % (REPO, wrong),
                     "nothing was pulled or started", "correct vllm_image_digest"):
        assert fragment in res.out, (fragment, res.out[-3000:])
    assert service_snapshot() == before


def test_require_checksums_refuses_an_unpinned_image_and_hub_id_before_any_host_is_touched(tmp_path):
    before = service_snapshot()
    res = deploy("-e", json.dumps({"preflight_require_checksums": True}))
    assert res.returncode != 0
    for fragment in ("image %s is not pinned by digest" % IMAGE, "set vllm_image_digest: sha256:<digest>",
                     "docker image inspect --format '{{index .RepoDigests 0}}' %s" % IMAGE,
                     "model vllm-ascend/DeepSeek-V3.2-Exp-W8A8 is a hub id with no revision",
                     "trust_remote_code runs that repository's Python code as root", "set vllm_model_revision"):
        assert fragment in res.out, (fragment, res.out[-3000:])
    assert "TASK [ascend.serving.ascend_ops" not in res.out
    assert service_snapshot() == before
    # Without the requirement the same inventory passes, naming what is unpinned; pinned, nothing is named.
    preflight = tmp_path / "preflight.yml"
    preflight.write_text(PREFLIGHT_PLAYBOOK)
    res = playbook(preflight)
    assert res.returncode == 0 and "host node0: image %s is not pinned by digest" % IMAGE in res.out, res.out[-3000:]
    res = playbook(preflight, "-e", json.dumps({"preflight_require_checksums": True, "vllm_image_digest":
                                                registry_entry()["digest"], "vllm_model_revision": "master"}))
    assert res.returncode == 0 and "not pinned" not in res.out and "no revision" not in res.out, res.out[-3000:]
