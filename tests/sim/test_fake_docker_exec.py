"""`docker exec` of the fake docker (tests/sim/fakes/docker): refused where docker refuses it. The
successful path (into the running vllm-ascend container) runs end to end in molecule/evaluate,
where benchmark.yml runs `docker exec vllm-ascend vllm bench serve ...`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

DOCKER = Path(__file__).resolve().parent / "fakes" / "docker"


def docker(tmp_path, *args):
    env = dict(os.environ, ASCEND_SIM_DOCKER_ROOT=str(tmp_path / "store"))
    return subprocess.run([sys.executable, str(DOCKER)] + list(args), capture_output=True, text=True,
                          env=env, timeout=30, check=False)


@pytest.mark.parametrize("args,code,message", [
    (["exec", "vllm-ascend"], 125, '"docker exec" requires at least 2 arguments.'),
    (["exec", "vllm-ascend", "true"], 1, "No such container: vllm-ascend"),
    (["exec", "-d", "vllm-ascend", "true"], 2, "exec -d is not simulated"),
    (["exec", "--user", "nobody", "vllm-ascend", "true"], 2, "--user nobody is not simulated"),
    (["exec", "--bogus", "vllm-ascend", "true"], 125, "unknown flag: --bogus"),
    (["container", "exec", "vllm-ascend", "true"], 1, "No such container: vllm-ascend"),
])
def test_exec_refusals(tmp_path, args, code, message):
    res = docker(tmp_path, *args)
    assert res.returncode == code, res.stderr
    assert message in res.stderr
