# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fake modelscope CLI (tests/sim/playbooks/files/modelscope) is strict about revisions: only
the default branch and the names its hub's revisions.json lists exist; anything else downloads nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files", "modelscope")
MODEL = "vllm-ascend/DeepSeek-V3.2-Exp-W8A8"


@pytest.fixture
def hub(tmp_path):
    repo = tmp_path / "hub" / MODEL
    repo.mkdir(parents=True)
    (repo / "config.json").write_text('{"model_type": "deepseek_v32"}\n')
    (repo / "model.safetensors").write_bytes(b"\x01" * 32)
    return tmp_path / "hub"


def modelscope(hub, *args):
    env = dict(os.environ, ASCEND_SIM_MODELSCOPE_HUB=str(hub))
    return subprocess.run([sys.executable, FAKE, "download", "--model", MODEL] + list(args),
                          capture_output=True, text=True, env=env, check=False)


def calls(hub):
    return [json.loads(line) for line in (hub / "calls.log").read_text().splitlines()]


def test_default_branch_without_revision(hub, tmp_path):
    res = modelscope(hub, "--local_dir", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    assert calls(hub) == [{"model": MODEL, "revision": "master", "local_dir": str(tmp_path / "out"),
                           "fetched": ["config.json", "model.safetensors"]}]
    assert (tmp_path / "out" / ".mv").read_text() == "%s master\n" % MODEL


def test_unknown_revision_fails_and_downloads_nothing(hub, tmp_path):
    res = modelscope(hub, "--revision", "v9.9", "--local_dir", str(tmp_path / "out"))
    assert res.returncode == 1
    assert "The model: %s has no revision: v9.9, valid revisions are: master" % MODEL in res.stderr
    assert not (tmp_path / "out").exists() and not (hub / "calls.log").exists()


def test_listed_revision_downloads_and_is_recorded(hub, tmp_path):
    (hub / "revisions.json").write_text(json.dumps({MODEL: ["v1.0", "8f3c2a1"]}))
    res = modelscope(hub, "--revision", "8f3c2a1", "--local_dir", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    assert calls(hub)[0]["revision"] == "8f3c2a1"
    assert (tmp_path / "out" / ".msc").read_text() == "%s 8f3c2a1\n" % MODEL
    res = modelscope(hub, "--revision", "v2.0", "--local_dir", str(tmp_path / "out"))
    assert res.returncode == 1 and "valid revisions are: master, v1.0, 8f3c2a1" in res.stderr
