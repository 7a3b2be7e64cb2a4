# -*- coding: utf-8 -*-
"""A committed state.json (upgrade_switch drops the pending mark) is byte for byte what deploy writes
with ``to_nice_json(sort_keys=true)``, so deploy.yml after an upgrade changes nothing."""

from __future__ import annotations

from ansible.plugins.filter.core import to_nice_json

from ansible_collections.ascend.serving.plugins.module_utils import upgrade_switch as us

STATE = {'instance': 'a', 'role': 'node0', 'dp_ranks': [0, 1], 'dp_size': 4, 'release': 'v0.12.0rc1',
         'profile': 'deepseek-v3.2-exp-bf16-a3-v0.12.0rc1', 'install_method': 'image', 'runtime': 'container',
         'image': 'quay.io/ascend/vllm-ascend:v0.12.0rc1', 'artifacts': {}, 'model': '/models/DeepSeek-V3.2-Exp',
         'served_model_name': 'deepseek_v3.2', 'port': 8000, 'plan_digest': 'ab' * 32, 'auth': True,
         'endpoint': 'http://10.0.0.1:8000', 'state_version': 1}


def test_state_bytes_match_to_nice_json():
    assert us.state_bytes(STATE) == (to_nice_json(STATE, sort_keys=True) + '\n').encode('utf-8')


def test_dropping_the_mark_gives_back_what_deploy_wrote():
    marked = us.mark(STATE, {'release': 'v0.11.0rc0'})
    assert marked['pending'] is True
    assert us.state_bytes(us.strip_mark(marked)) == (to_nice_json(STATE, sort_keys=True) + '\n').encode('utf-8')
