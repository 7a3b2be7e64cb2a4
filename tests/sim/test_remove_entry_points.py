"""tasks_from: remove of roles ascend_ops and model_weights, run on the controller (connection local)
against directories under pytest's tmp_path: `checked` only checks and changes nothing (and fails,
naming host and variable, on a path it may not remove), `absent` restores and removes, a second run
changes nothing, weights another state.json names are kept. The full purge on simulated nodes is in
molecule/upgrade (test_undeploy_purge_restores_cann_and_removes_the_operators)."""

import json
import os
import re
import subprocess
import sys

import pytest

MARKER = ".ascend-serving-owned"
RECAP_RE = re.compile(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The operators
      ansible.builtin.include_role:
        name: ascend.serving.ascend_ops
        tasks_from: remove
      vars:
        ascend_ops_remove_state: "{{ state }}"
    - name: The weights
      ansible.builtin.include_role:
        name: ascend.serving.model_weights
        tasks_from: remove
      vars:
        model_weights_remove_state: "{{ state }}"
        model_weights_remove_path: "{{ weights }}"
        model_weights_remove_state_dirs: ["{{ etc }}/*"]
        model_weights_remove_ignore_dirs: ["{{ etc }}/mine"]
        model_weights_remove_variable: model (state.json)
"""


def tree(path):
    out = {}
    for base, dirs, files in os.walk(str(path)):
        for name in dirs + files:
            full = os.path.join(base, name)
            out[os.path.relpath(full, str(path))] = None if os.path.isdir(full) else open(full).read()
    return out


@pytest.fixture
def node(tmp_path):
    """An ascend_ops root with its marker and an install stamp, CANN's replaced file, an MLAPO path, weights."""
    root, cann, weights, etc = tmp_path / "ops", tmp_path / "cann", tmp_path / "weights", tmp_path / "etc"
    for d in (root / "ops", root / "backup", cann, tmp_path / "mlapo" / "vendors", weights, etc / "mine"):
        d.mkdir(parents=True)
    (root / MARKER).write_text("")
    (root / "backup" / "libopsproto.so").write_text("CANN's own\n")
    (cann / "libopsproto.so").write_text("replaced by the custom operators\n")
    (tmp_path / "mlapo" / "vendors" / "set_env.bash").write_text("export X=1\n")
    (weights / "config.json").write_text("{}")
    (etc / "mine" / "state.json").write_text(json.dumps({"model": str(weights)}))
    (root / "ops" / "v0.11.0rc0-a3.json").write_text(json.dumps({
        "backups": {str(cann / "libopsproto.so"): str(root / "backup" / "libopsproto.so")},
        "mlapo_install_path": str(tmp_path / "mlapo")}))
    (tmp_path / "remove.yml").write_text(PLAYBOOK)
    return tmp_path


def run(node, state, **extra):
    args = ["ansible-playbook",
            "-i", "localhost,", "-c", "local", str(node / "remove.yml"),
            "-e", "ansible_python_interpreter=%s" % sys.executable,
            "-e", json.dumps(dict({"state": state, "ascend_ops_root": str(node / "ops"),
                                   "weights": str(node / "weights"), "etc": str(node / "etc")}, **extra))]
    res = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                         check=False)
    recap = RECAP_RE.search(res.stdout)
    assert recap, res.stdout[-3000:]
    return res, int(recap.group(2)), int(recap.group(4))


def test_checked_changes_nothing_absent_restores_and_removes_then_nothing(node):
    before = tree(node)
    res, changed, failed = run(node, "checked")
    assert (res.returncode, changed, failed) == (0, 0, 0), res.stdout[-3000:]
    assert tree(node) == before

    res, changed, failed = run(node, "absent")
    assert (res.returncode, failed) == (0, 0) and changed == 4, res.stdout[-3000:]
    assert (node / "cann" / "libopsproto.so").read_text() == "CANN's own\n"
    for gone in ("ops", "mlapo", "weights"):
        assert not (node / gone).exists(), gone

    res, changed, failed = run(node, "absent")
    assert (res.returncode, changed, failed) == (0, 0, 0), res.stdout[-3000:]


def test_checked_refuses_a_root_that_is_not_the_collections_and_changes_nothing(node):
    (node / "ops" / MARKER).unlink()
    for stamp in (node / "ops" / "ops").iterdir():
        stamp.unlink()
    before = tree(node)
    res, _changed, failed = run(node, "checked")
    assert res.returncode != 0 and failed == 1
    assert "ascend_ops_root='%s' holds no %s marker" % (node / "ops", MARKER) in res.stdout, res.stdout[-3000:]
    assert tree(node) == before


def test_weights_another_state_json_names_are_kept(node):
    (node / "etc" / "other").mkdir()
    (node / "etc" / "other" / "state.json").write_text(json.dumps({"model": str(node / "weights")}))
    res, _changed, failed = run(node, "absent")
    assert (res.returncode, failed) == (0, 0), res.stdout[-3000:]
    assert (node / "weights" / "config.json").exists()
    assert "%s kept: still named by %s" % (node / "weights", node / "etc" / "other" / "state.json") in res.stdout


def test_a_weights_path_that_is_not_absolute_removes_nothing(node):
    res, changed, failed = run(node, "absent", weights="vllm-ascend/DeepSeek-V3.2-Exp-W8A8")
    assert (res.returncode, failed) == (0, 0), res.stdout[-3000:]
    assert (node / "weights" / "config.json").exists()
    assert changed == 3  # CANN's file, the MLAPO path and the root: the weights are not touched
