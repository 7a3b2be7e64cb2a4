# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils.preflight import problems

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'version_info')


def _read(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


PROFILE = {
    'profile': {'name': 'deepseek-v3.2-exp-bf16-a3-v0.11.0rc0'},
    'hardware': {'name': 'a3', 'npus_per_node': 4},
    'release': {'name': 'v0.11.0rc0', 'install_method': 'custom_ops', 'cann_version': '8.2.RC1'},
    'parallel': {'data_parallel_rpc_port': 13389},
    'serve': {'port': 8000},
    'model': {'path': '/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp', 'source': 'local'},
}


def healthy():
    return {
        'arch': 'aarch64\n',
        'role': 'node0',
        'npu': {'product': 'a3', 'chip_count': 4, 'chips': [
            {'npu_id': n // 2, 'chip_id': n % 2, 'health': 'OK', 'hbm_used_mb': 3400, 'hbm_total_mb': 65536}
            for n in range(4)]},
        'versions': [_read('driver-version.info-24.1.rc2.2-itove-ascend.txt'),
                     _read('cann-toolkit-install-info-8.2.RC1-vllm-ascend-2666.txt')],
        'ss': ['', ''],
        'weights': {'exists': True, 'isdir': True},
        'df': 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 263174212 23011880 838860800 22% /\n',
    }


def test_healthy_host_has_no_problem():
    assert problems(healthy(), PROFILE, 'n0', min_free_disk_gb=700) == []


def _break(key, value):
    def apply(obs):
        obs[key] = value
    return apply


CASES = [
    ('x86', _break('arch', 'x86_64'), 'n0: architecture is x86_64 but vllm-ascend\'s operators and wheels are aarch64-only'),
    ('a2 node', lambda o: o['npu'].update(product='a2'), 'n0: npu-smi reports an a2 node but profile deepseek-v3.2-exp-bf16-a3-v0.11.0rc0 is for a3'),
    ('chip count', lambda o: o['npu'].update(chip_count=3), 'n0: 3 NPU chips found, the a3 profile needs 4'),
    ('critical', lambda o: o['npu']['chips'][3].update(health='Critical'), 'n0: NPU 1 chip 1 Health is Critical'),
    ('hbm busy', lambda o: o['npu']['chips'][0].update(hbm_used_mb=60000), 'n0: NPU 0 chip 0 already uses 60000 of 65536 MB HBM'),
    ('no driver', lambda o: o.update(versions=['', o['versions'][1]]), 'n0: no NPU driver found'),
    ('no cann', lambda o: o.update(versions=[o['versions'][0], '']), 'n0: no CANN toolkit found'),
    ('old cann', lambda o: o.update(versions=[o['versions'][0], _read('cann-toolkit-install-info-8.1.RC1-SPC001B238-vllm-ascend-1047.txt')]),
     'n0: CANN 8.1.RC1 is older than the v0.11.0rc0 release needs (8.2.RC1)'),
    ('port taken', _break('ss', ['LISTEN 0 5 0.0.0.0:13389 0.0.0.0:* users:(("redis-server",pid=7,fd=6))', '']),
     'n0: port 13389 (dp_rpc) is taken by redis-server'),
    # The role's probe: one ss output for both ports.
    ('port taken (one ss output)', _break('ss', 'LISTEN 0 5 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))\n'
                                                'LISTEN 0 5 [::]:8000 [::]:* users:(("nginx",pid=7,fd=6))\n'),
     'n0: port 8000 (api) is taken by nginx'),
    ('no weights', _break('weights', {'exists': False}), 'n0: weights directory /root/.cache/Modelers_Park/DeepSeek-V3.2-Exp does not exist'),
    ('disk', _break('df', 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 1 1 1048576 99% /\n'),
     'n0: 1.0 GB free for the weights, 700 GB needed'),
]


@pytest.mark.parametrize('name,fault,message', CASES, ids=[c[0] for c in CASES])
def test_each_problem_alone(name, fault, message):
    obs = healthy()
    fault(obs)
    found = problems(obs, PROFILE, 'n0', min_free_disk_gb=700)
    assert len(found) == 1, found
    assert found[0].startswith(message)


def test_all_problems_reported_together():
    obs = healthy()
    obs['arch'] = 'x86_64'
    obs['npu']['chips'][2]['health'] = 'Alarm'
    obs['weights'] = None
    assert len(problems(obs, PROFILE, 'n0')) == 3


def test_image_release_does_not_need_host_cann_and_headless_has_no_port_check():
    profile = dict(PROFILE, release={'name': 'v0.11.0rc0', 'install_method': 'image', 'cann_version': '8.2.RC1'})
    obs = healthy()
    obs.update(versions=[obs['versions'][0], ''], role='headless', ss=[])
    assert problems(obs, profile, 'n1') == []


def test_hub_model_id_needs_no_directory():
    profile = dict(PROFILE, model={'path': 'vllm-ascend/DeepSeek-V3.2-Exp-W8A8', 'source': 'modelscope'})
    obs = healthy()
    obs['weights'] = None
    assert problems(obs, profile, 'n0') == []


def test_busy_hbm_of_the_collections_own_running_service_is_expected():
    # A re-run (or an upgrade) on a serving node: vLLM holds the HBM; the chips' health still counts.
    obs = healthy()
    obs['npu']['chips'][0].update(hbm_used_mb=60000)
    obs['npu']['chips'][1].update(health='Critical')
    obs['serving'] = True
    found = problems(obs, PROFILE, 'n0')
    assert len(found) == 1 and found[0].startswith('n0: NPU 0 chip 1 Health is Critical'), found
    obs['serving'] = False
    assert len(problems(obs, PROFILE, 'n0')) == 2


# --- npu-smi read by the host probe, parsed on the controller ---------------------------------

NPU_SMI = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'npu-smi-info')
A3_PROFILE = dict(PROFILE, hardware={'name': 'a3', 'npus_per_node': 16})


def probed(stdout=None, **probe):
    obs = healthy()
    del obs['npu']
    with open(os.path.join(NPU_SMI, 'a3-ascend910-24.1.rc3.7-noproc-vllm-ascend-2666.txt')) as handle:
        sample = handle.read()
    obs['npu_smi'] = dict({'path': '/usr/local/sbin/npu-smi', 'rc': 0,
                           'stdout': sample if stdout is None else stdout, 'stderr': ''}, **probe)
    return obs


def test_npu_smi_from_the_probe_of_a_real_a3_is_parsed_and_passes():
    # The real A3 sample: 8 NPUs x 2 chips, every Health OK, about 3.4 GB of 64 GB HBM in use.
    assert problems(probed(), A3_PROFILE, 'n0', min_free_disk_gb=700) == []


def test_npu_smi_from_the_probe_is_checked_like_npu_info():
    # The same real sample against a 4-chip profile: the chip count is wrong.
    assert problems(probed(), PROFILE, 'n0') == ['n0: 16 NPU chips found, the a3 profile needs 4: check `npu-smi info` and the driver']


def test_npu_smi_missing_is_one_problem_naming_where_it_was_searched():
    found = problems(probed(path=None, searched=['PATH', '/usr/local/bin']), A3_PROFILE, 'n0')
    assert found == ['n0: npu-smi was not found on PATH, /usr/local/bin: install the Ascend NPU driver']


def test_npu_smi_failing_is_one_problem_with_its_message():
    found = problems(probed(stdout='', rc=255, stderr='dcmi model initialized failed, because the device is used. ret is -8020\n'),
                     A3_PROFILE, 'n0')
    assert found == ['n0: /usr/local/sbin/npu-smi info exited with 255: dcmi model initialized failed, because the device is '
                     'used. ret is -8020: check the NPU driver (`npu-smi info`)']


def test_npu_smi_unparsable_is_one_problem_and_the_other_checks_still_run():
    obs = probed(stdout='no table here\n')
    obs['arch'] = 'x86_64'
    found = problems(obs, A3_PROFILE, 'n0')
    assert len(found) == 2
    assert found[0].startswith("n0: architecture is x86_64")
    assert found[1].startswith('n0: cannot parse the output of /usr/local/sbin/npu-smi info: ')
