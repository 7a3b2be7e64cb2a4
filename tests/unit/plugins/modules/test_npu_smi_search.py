# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module that runs npu-smi looks for it in the same places (module_utils/tool.py SEARCH):
PATH, /usr/local/bin, /usr/local/sbin and the driver's tools directory."""

from __future__ import annotations

from ansible_collections.ascend.serving.plugins.modules import hccn_info, npu_info
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import run_module

DIRS = '/usr/local/bin, /usr/local/sbin, /usr/local/Ascend/driver/tools'


def test_npu_info_names_the_one_search_list():
    failed, result, dummy = run_module(npu_info.main, {}, None, {'npu-smi': None})
    assert failed
    assert result['msg'] == ('npu-smi was not found on PATH or in %s. Install the Ascend NPU driver, '
                             'or set npu_smi_path.' % DIRS)


def test_hccn_info_names_the_one_search_list():
    failed, result, dummy = run_module(hccn_info.main, {'hccn_conf_path': '/nonexistent'}, None,
                                       {'hccn_tool': '/usr/local/Ascend/driver/tools/hccn_tool', 'npu-smi': None},
                                       execute_in=hccn_info)
    assert failed
    assert result['msg'] == ('Cannot list the NPU devices: npu-smi was not found on PATH or in %s. '
                             'Set devices or device_count, or npu_smi_path.' % DIRS)
