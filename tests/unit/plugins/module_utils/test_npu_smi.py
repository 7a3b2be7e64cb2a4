# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the npu-smi parsers against every npu-smi sample in tests/unit/fixtures.

The expected values below were transcribed from the sample files (see
tests/unit/fixtures/SOURCES.tsv), not produced by the parser.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import npu_smi
from ansible_collections.ascend.serving.plugins.module_utils.npu_smi import ParseError

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures')


def read(*parts):
    with open(os.path.join(FIXTURES, *parts), 'r') as handle:
        return handle.read()


def dash(token, convert=str):
    return None if token == '-' else convert(token)


def pair(token):
    if token == '-':
        return None, None
    used, total = token.split('/')
    return int(used), int(total)


def chip(row):
    """'npu chip phy dev name health power temp hugepages aicore memory hbm bus' -> chip dict."""
    npu, chip_id, phy, dev, name, health, power, temp, huge, aicore, memory, hbm, bus = row.split()
    huge_used, huge_total = pair(huge)
    mem_used, mem_total = pair(memory)
    hbm_used, hbm_total = pair(hbm)
    return {
        'npu_id': int(npu), 'chip_id': int(chip_id), 'phy_id': dash(phy, int), 'device_id': dash(dev, int),
        'name': name, 'health': health, 'power_w': dash(power, float), 'temp_c': int(temp),
        'hugepages_used': huge_used, 'hugepages_total': huge_total, 'aicore_pct': int(aicore),
        'memory_used_mb': mem_used, 'memory_total_mb': mem_total,
        'hbm_used_mb': hbm_used, 'hbm_total_mb': hbm_total, 'bus_id': dash(bus),
    }


def process(row):
    """'npu|chip|pid|name|memory' -> process dict (name may be empty)."""
    npu, chip_id, pid, name, memory = row.split('|')
    return {'npu_id': int(npu), 'chip_id': int(chip_id), 'pid': int(pid), 'name': name,
            'memory_mb': int(memory), 'container_pid': None}


# file, npu-smi version (= Version:), product, NPU count, chip count, chips, processes
INFO_SAMPLES = [
    pytest.param(
        '310B1-23.0.rc3-wide-Ascend_YOLO-readme.txt',
        '23.0.rc3', 'unknown', 1, 1,
        [
            '0 0 - 0 310B1 OK 9.2 53 15/15 0 3841/11577 - -',
        ],
        [],
        id='310B1-23.0.rc3-wide-Ascend_YOLO-readme',
    ),
    pytest.param(
        '310P3-duo-1card-npuid1792-24.1.rc2-ascend-pytorch-94.txt',
        '24.1.rc2', '310p', 1, 2,
        [
            '1792 0 - 0 310P3 OK - 36 0/0 0 1821/44280 - 0000:07:00.0',
            '1792 1 - 1 310P3 OK - 36 0/0 0 1041/43693 - 0000:07:00.0',
        ],
        [],
        id='310P3-duo-1card-npuid1792-24.1.rc2-ascend-pytorch-94',
    ),
    pytest.param(
        '310P3-duo-x4-npuid1536-2304-24.1.0.1-openyuanrong-fixture.txt',
        '24.1.0.1', '310p', 4, 8,
        [
            '1536 0 - 0 310P3 OK - 51 0/0 0 1596/44280 - 0000:06:00.0',
            '1536 1 - 1 310P3 OK - 50 0/0 0 1325/43693 - 0000:06:00.0',
            '1792 0 - 2 310P3 OK - 51 0/0 0 1452/44280 - 0000:07:00.0',
            '1792 1 - 3 310P3 OK - 51 0/0 0 1444/43693 - 0000:07:00.0',
            '2048 0 - 4 310P3 OK - 50 0/0 0 1353/44280 - 0000:08:00.0',
            '2048 1 - 5 310P3 OK - 49 0/0 0 1529/43693 - 0000:08:00.0',
            '2304 0 - 6 310P3 OK - 52 0/0 0 1656/44280 - 0000:09:00.0',
            '2304 1 - 7 310P3 OK - 50 0/0 0 1278/43693 - 0000:09:00.0',
        ],
        [],
        id='310P3-duo-x4-npuid1536-2304-24.1.0.1-openyuanrong-fixture',
    ),
    pytest.param(
        '910-gen1-name910B-x8-24.1.0-ddr-mem-noproc.txt',
        '24.1.0', '910', 8, 8,
        [
            '0 0 - - 910B OK 65.7 38 0/0 0 2382/15038 0/32768 0000:C1:00.0',
            '1 0 - - 910B OK 62.3 33 0/0 0 2378/15038 0/32768 0000:81:00.0',
            '2 0 - - 910B OK 64.9 34 0/0 0 2382/15038 0/32768 0000:41:00.0',
            '3 0 - - 910B OK 62.9 40 0/0 0 2384/15038 0/32768 0000:01:00.0',
            '4 0 - - 910B OK 67.1 38 0/0 0 2385/15038 0/32768 0000:C2:00.0',
            '5 0 - - 910B OK 63.5 33 0/0 0 2355/15038 0/32768 0000:82:00.0',
            '6 0 - - 910B OK 64.2 33 0/0 0 2384/15038 0/32768 0000:42:00.0',
            '7 0 - - 910B OK 63.0 37 0/0 0 2355/15038 0/32768 0000:02:00.0',
        ],
        [],
        id='910-gen1-name910B-x8-24.1.0-ddr-mem-noproc',
    ),
    pytest.param(
        '910-gen1-name910B-x8-25.5.2-ddr-mem-noproc-ascend-pytorch-144.txt',
        '25.5.2', '910', 8, 8,
        [
            '0 0 - - 910B OK 70.3 38 0/0 0 1103/13552 0/32768 0000:C1:00.0',
            '1 0 - - 910B OK 68.9 38 0/0 0 1483/15665 0/32768 0000:81:00.0',
            '2 0 - - 910B OK 70.7 39 0/0 0 2803/15665 0/32768 0000:41:00.0',
            '3 0 - - 910B OK 67.6 36 0/0 0 3184/15563 0/32768 0000:01:00.0',
            '4 0 - - 910B OK 72.1 52 0/0 0 1071/13526 0/32768 0000:C2:00.0',
            '5 0 - - 910B OK 68.3 37 0/0 0 1408/15665 0/32768 0000:82:00.0',
            '6 0 - - 910B OK 70.0 43 0/0 0 2277/15665 0/32768 0000:42:00.0',
            '7 0 - - 910B OK 68.5 36 0/0 0 3818/15589 0/32768 0000:02:00.0',
        ],
        [],
        id='910-gen1-name910B-x8-25.5.2-ddr-mem-noproc-ascend-pytorch-144',
    ),
    pytest.param(
        'a2-910B1-23.0.rc2-elided-arthurchiao-blog.txt',
        '23.0.rc2', 'a2', 3, 3,
        [
            '0 0 - - 910B1 OK 88.4 46 0/0 0 0/0 4175/65536 0000:C1:00.0',
            '1 0 - - 910B1 OK 92.1 47 0/0 0 0/0 4175/65536 0000:01:00.0',
            '7 0 - - 910B1 OK 92.7 48 0/0 0 0/0 4174/65536 0000:42:00.0',
        ],
        [],
        id='a2-910B1-23.0.rc2-elided-arthurchiao-blog',
    ),
    pytest.param(
        'a2-910B3x8-23.0.7-noproc-vllm-ascend-198.txt',
        '23.0.7', 'a2', 8, 8,
        [
            '0 0 - - 910B3 OK 102.8 55 0/0 0 0/0 3338/65536 0000:C1:00.0',
            '1 0 - - 910B3 OK 97.6 54 0/0 0 0/0 3337/65536 0000:C2:00.0',
            '2 0 - - 910B3 OK 96.5 56 0/0 0 0/0 3334/65536 0000:81:00.0',
            '3 0 - - 910B3 OK 108.7 57 0/0 0 0/0 3334/65536 0000:82:00.0',
            '4 0 - - 910B3 OK 103.9 58 0/0 0 0/0 3334/65536 0000:01:00.0',
            '5 0 - - 910B3 OK 99.3 56 0/0 0 0/0 3334/65536 0000:02:00.0',
            '6 0 - - 910B3 OK 107.7 58 0/0 0 0/0 3334/65536 0000:41:00.0',
            '7 0 - - 910B3 OK 105.1 59 0/0 0 0/0 3338/65536 0000:42:00.0',
        ],
        [],
        id='a2-910B3x8-23.0.7-noproc-vllm-ascend-198',
    ),
    pytest.param(
        'a2-910B3x8-25.0.rc1.b010-8proc-vllm-ascend-6299.txt',
        '25.0.rc1.b010', 'a2', 8, 8,
        [
            '0 0 - - 910B3 OK 124.9 41 0/0 27 0/0 59718/65536 0000:C1:00.0',
            '1 0 - - 910B3 OK 122.0 40 0/0 29 0/0 59715/65536 0000:C2:00.0',
            '2 0 - - 910B3 OK 124.0 41 0/0 29 0/0 59714/65536 0000:81:00.0',
            '3 0 - - 910B3 OK 127.3 39 0/0 29 0/0 59716/65536 0000:82:00.0',
            '4 0 - - 910B3 OK 128.3 45 0/0 30 0/0 59714/65536 0000:01:00.0',
            '5 0 - - 910B3 OK 122.5 44 0/0 29 0/0 59715/65536 0000:02:00.0',
            '6 0 - - 910B3 OK 127.4 46 0/0 29 0/0 59714/65536 0000:41:00.0',
            '7 0 - - 910B3 OK 128.6 45 0/0 29 0/0 59715/65536 0000:42:00.0',
        ],
        [
            '0|0|1067983||56373',
            '1|0|1070524||56373',
            '2|0|1073093||56373',
            '3|0|1075396||56373',
            '4|0|1077642||56373',
            '5|0|1079652||56374',
            '6|0|1082071||56373',
            '7|0|1084428||56373',
        ],
        id='a2-910B3x8-25.0.rc1.b010-8proc-vllm-ascend-6299',
    ),
    pytest.param(
        'a2-910B3x8-25.2.0-1proc-vllm-ascend-6271.txt',
        '25.2.0', 'a2', 8, 8,
        [
            '0 0 - - 910B3 OK 94.8 36 0/0 0 0/0 3407/65536 0000:C1:00.0',
            '1 0 - - 910B3 OK 90.5 34 0/0 0 0/0 3398/65536 0000:C2:00.0',
            '2 0 - - 910B3 OK 90.6 33 0/0 0 0/0 3400/65536 0000:81:00.0',
            '3 0 - - 910B3 OK 98.8 35 0/0 0 0/0 3400/65536 0000:82:00.0',
            '4 0 - - 910B3 OK 139.7 45 0/0 25 0/0 21784/65536 0000:01:00.0',
            '5 0 - - 910B3 OK 95.8 37 0/0 0 0/0 3400/65536 0000:02:00.0',
            '6 0 - - 910B3 OK 97.8 38 0/0 0 0/0 3401/65536 0000:41:00.0',
            '7 0 - - 910B3 OK 90.8 39 0/0 0 0/0 3413/65536 0000:42:00.0',
        ],
        [
            '4|0|1601114|python|18429',
        ],
        id='a2-910B3x8-25.2.0-1proc-vllm-ascend-6271',
    ),
    pytest.param(
        'a2-910B4-1x2-25.2.2-vllmworker-procs-vllm-ascend-5606.txt',
        '25.2.2', 'a2', 2, 2,
        [
            '0 0 - - 910B4-1 OK 78.2 40 0/0 0 0/0 61825/65536 0000:0E:00.0',
            '1 0 - - 910B4-1 OK 77.9 41 0/0 0 0/0 61825/65536 0000:0F:00.0',
        ],
        [
            '0|0|19334|VLLMWorker_TP|58472',
            '1|0|19341|VLLMWorker_TP|58472',
        ],
        id='a2-910B4-1x2-25.2.2-vllmworker-procs-vllm-ascend-5606',
    ),
    pytest.param(
        'a2-910B4x1-26.0.rc1-WIDE-procid-in-container-truncated-triton-ascend-faq.txt',
        '26.0.rc1', 'a2', 1, 1,
        [
            '0 0 - - 910B4 OK 82.6 32 0/0 0 0/0 2871/32768 0000:C1:00.0',
        ],
        [],
        id='a2-910B4x1-26.0.rc1-WIDE-procid-in-container-truncated-triton-ascend-faq',
    ),
    pytest.param(
        'a2-910B4x8-24.1.rc3-4proc-noname-openyuanrong-fixture.txt',
        '24.1.rc3', 'a2', 8, 8,
        [
            '0 0 - - 910B4 OK 85.0 36 0/0 0 0/0 22283/32768 0000:C1:00.0',
            '1 0 - - 910B4 OK 84.2 36 0/0 0 0/0 22267/32768 0000:01:00.0',
            '2 0 - - 910B4 OK 81.8 35 0/0 0 0/0 2818/32768 0000:C2:00.0',
            '3 0 - - 910B4 OK 83.9 36 0/0 0 0/0 2819/32768 0000:02:00.0',
            '4 0 - - 910B4 OK 81.4 35 0/0 0 0/0 2829/32768 0000:81:00.0',
            '5 0 - - 910B4 OK 81.5 37 0/0 0 0/0 2829/32768 0000:41:00.0',
            '6 0 - - 910B4 OK 263.2 46 0/0 82 0/0 30759/32768 0000:82:00.0',
            '7 0 - - 910B4 OK 250.5 47 0/0 68 0/0 30760/32768 0000:42:00.0',
        ],
        [
            '0|0|582939||19502',
            '1|0|695171||19498',
            '6|0|99910||27977',
            '7|0|99976||27977',
        ],
        id='a2-910B4x8-24.1.rc3-4proc-noname-openyuanrong-fixture',
    ),
    pytest.param(
        'a2-910B4x8-24.1.rc3-vllm-ascend-1048.txt',
        '24.1.rc3', 'a2', 8, 8,
        [
            '0 0 - - 910B4 OK 88.2 36 0/0 0 0/0 2825/32768 0000:C1:00.0',
            '1 0 - - 910B4 OK 84.8 36 0/0 0 0/0 2825/32768 0000:01:00.0',
            '2 0 - - 910B4 OK 86.6 36 0/0 0 0/0 2829/32768 0000:C2:00.0',
            '3 0 - - 910B4 OK 86.6 35 0/0 0 0/0 2840/32768 0000:02:00.0',
            '4 0 - - 910B4 OK 88.8 34 0/0 0 0/0 31859/32768 0000:81:00.0',
            '5 0 - - 910B4 OK 85.0 36 0/0 0 0/0 2824/32768 0000:41:00.0',
            '6 0 - - 910B4 OK 86.2 35 0/0 0 0/0 2840/32768 0000:82:00.0',
            '7 0 - - 910B4 OK 86.3 36 0/0 0 0/0 2830/32768 0000:42:00.0',
        ],
        [],
        id='a2-910B4x8-24.1.rc3-vllm-ascend-1048',
    ),
    pytest.param(
        'a2-910B4x8-25.0.rc1.1-noproc-blog-atlas800IA2.txt',
        '25.0.rc1.1', 'a2', 8, 8,
        [
            '0 0 - - 910B4 OK 87.2 33 0/0 0 0/0 2654/32768 0000:C1:00.0',
            '1 0 - - 910B4 OK 82.7 33 0/0 0 0/0 2654/32768 0000:C2:00.0',
            '2 0 - - 910B4 OK 82.7 33 0/0 0 0/0 2654/32768 0000:81:00.0',
            '3 0 - - 910B4 OK 89.1 34 0/0 0 0/0 2654/32768 0000:82:00.0',
            '4 0 - - 910B4 OK 84.5 39 0/0 0 0/0 2654/32768 0000:01:00.0',
            '5 0 - - 910B4 OK 84.8 37 0/0 0 0/0 2654/32768 0000:02:00.0',
            '6 0 - - 910B4 OK 87.1 38 0/0 0 0/0 2654/32768 0000:41:00.0',
            '7 0 - - 910B4 OK 81.6 37 0/0 0 0/0 2653/32768 0000:42:00.0',
        ],
        [],
        id='a2-910B4x8-25.0.rc1.1-noproc-blog-atlas800IA2',
    ),
    pytest.param(
        'a3-ascend910-24.1.rc3.3-8proc-pt_main_thread-openyuanrong-fixture.txt',
        '24.1.rc3.3', 'a3', 8, 16,
        [
            '0 0 0 - Ascend910 OK 182.0 36 0/0 0 0/0 3402/65536 0000:9D:00.0',
            '0 1 1 - Ascend910 OK - 35 0/0 0 0/0 3200/65536 0000:9F:00.0',
            '1 0 2 - Ascend910 OK 181.0 35 0/0 0 0/0 3396/65536 0000:99:00.0',
            '1 1 3 - Ascend910 OK - 36 0/0 0 0/0 3205/65536 0000:9B:00.0',
            '2 0 4 - Ascend910 OK 176.9 34 0/0 0 0/0 3395/65536 0000:95:00.0',
            '2 1 5 - Ascend910 OK - 34 0/0 0 0/0 3203/65536 0000:97:00.0',
            '3 0 6 - Ascend910 OK 181.2 36 0/0 0 0/0 3395/65536 0000:91:00.0',
            '3 1 7 - Ascend910 OK - 35 0/0 0 0/0 3203/65536 0000:93:00.0',
            '4 0 8 - Ascend910 OK 179.8 36 0/0 0 0/0 52553/65536 0000:8D:00.0',
            '4 1 9 - Ascend910 OK - 37 0/0 0 0/0 52358/65536 0000:8F:00.0',
            '5 0 10 - Ascend910 OK 183.8 37 0/0 0 0/0 52567/65536 0000:89:00.0',
            '5 1 11 - Ascend910 OK - 36 0/0 0 0/0 52345/65536 0000:8B:00.0',
            '6 0 12 - Ascend910 OK 185.9 37 0/0 0 0/0 52552/65536 0000:85:00.0',
            '6 1 13 - Ascend910 OK - 36 0/0 0 0/0 52358/65536 0000:87:00.0',
            '7 0 14 - Ascend910 OK 182.1 34 0/0 0 0/0 52554/65536 0000:81:00.0',
            '7 1 15 - Ascend910 OK - 36 0/0 0 0/0 52358/65536 0000:83:00.0',
        ],
        [
            '4|0|957687|pt_main_thread|49207',
            '4|1|957770|pt_main_thread|49207',
            '5|0|957790|pt_main_thread|49207',
            '5|1|957852|pt_main_thread|49207',
            '6|0|957876|pt_main_thread|49207',
            '6|1|957912|pt_main_thread|49207',
            '7|0|957957|pt_main_thread|49207',
            '7|1|958011|pt_main_thread|49207',
        ],
        id='a3-ascend910-24.1.rc3.3-8proc-pt_main_thread-openyuanrong-fixture',
    ),
    pytest.param(
        'a3-ascend910-24.1.rc3.7-noproc-vllm-ascend-2666.txt',
        '24.1.rc3.7', 'a3', 8, 16,
        [
            '0 0 0 - Ascend910 OK 178.5 36 0/0 0 0/0 3416/65536 0000:9D:00.0',
            '0 1 1 - Ascend910 OK - 36 0/0 0 0/0 3189/65536 0000:9F:00.0',
            '1 0 2 - Ascend910 OK 188.2 36 0/0 0 0/0 3413/65536 0000:99:00.0',
            '1 1 3 - Ascend910 OK - 35 0/0 0 0/0 3185/65536 0000:9B:00.0',
            '2 0 4 - Ascend910 OK 176.6 36 0/0 0 0/0 3412/65536 0000:95:00.0',
            '2 1 5 - Ascend910 OK - 37 0/0 0 0/0 3186/65536 0000:97:00.0',
            '3 0 6 - Ascend910 OK 178.5 36 0/0 0 0/0 3412/65536 0000:91:00.0',
            '3 1 7 - Ascend910 OK - 36 0/0 0 0/0 3185/65536 0000:93:00.0',
            '4 0 8 - Ascend910 OK 180.9 37 0/0 0 0/0 3402/65536 0000:8D:00.0',
            '4 1 9 - Ascend910 OK - 36 0/0 0 0/0 3198/65536 0000:8F:00.0',
            '5 0 10 - Ascend910 OK 188.7 36 0/0 0 0/0 3399/65536 0000:89:00.0',
            '5 1 11 - Ascend910 OK - 36 0/0 0 0/0 3201/65536 0000:8B:00.0',
            '6 0 12 - Ascend910 OK 183.0 37 0/0 0 0/0 3400/65536 0000:85:00.0',
            '6 1 13 - Ascend910 OK - 36 0/0 0 0/0 3200/65536 0000:87:00.0',
            '7 0 14 - Ascend910 OK 186.4 36 0/0 0 0/0 3413/65536 0000:81:00.0',
            '7 1 15 - Ascend910 OK - 37 0/0 0 0/0 3188/65536 0000:83:00.0',
        ],
        [],
        id='a3-ascend910-24.1.rc3.7-noproc-vllm-ascend-2666',
    ),
    pytest.param(
        'a3-ascend910-24.1.rc3.7-procs-truncated-name-vllm-ascend-2523.txt',
        '24.1.rc3.7', 'a3', 8, 16,
        [
            '0 0 0 - Ascend910 OK 174.8 39 0/0 0 0/0 4197/65536 0000:9D:00.0',
            '0 1 1 - Ascend910 OK - 37 0/0 0 0/0 3253/65536 0000:9F:00.0',
            '1 0 2 - Ascend910 OK 184.4 37 0/0 0 0/0 3472/65536 0000:99:00.0',
            '1 1 3 - Ascend910 OK - 37 0/0 0 0/0 3259/65536 0000:9B:00.0',
            '2 0 4 - Ascend910 OK 177.3 37 0/0 0 0/0 3469/65536 0000:95:00.0',
            '2 1 5 - Ascend910 OK - 36 0/0 0 0/0 3262/65536 0000:97:00.0',
            '3 0 6 - Ascend910 OK 189.4 37 0/0 0 0/0 3468/65536 0000:91:00.0',
            '3 1 7 - Ascend910 OK - 36 0/0 0 0/0 3266/65536 0000:93:00.0',
            '4 0 8 - Ascend910 OK 175.4 39 0/0 0 0/0 3480/65536 0000:8D:00.0',
            '4 1 9 - Ascend910 OK - 37 0/0 0 0/0 3252/65536 0000:8F:00.0',
            '5 0 10 - Ascend910 OK 176.9 38 0/0 0 0/0 3479/65536 0000:89:00.0',
            '5 1 11 - Ascend910 OK - 36 0/0 0 0/0 3188/65536 0000:8B:00.0',
            '6 0 12 - Ascend910 OK 177.7 37 0/0 0 0/0 3401/65536 0000:85:00.0',
            '6 1 13 - Ascend910 OK - 36 0/0 0 0/0 3201/65536 0000:87:00.0',
            '7 0 14 - Ascend910 OK 184.2 36 0/0 0 0/0 3400/65536 0000:81:00.0',
            '7 1 15 - Ascend910 OK - 38 0/0 0 0/0 3201/65536 0000:83:00.0',
        ],
        [
            '0|0|602983|/usr/local/pyth|117',
            '0|0|601869|/usr/local/pyth|117',
            '0|0|602241|/usr/local/pyth|117',
            '0|0|600022|/usr/local/pyth|117',
            '0|0|599746|/usr/local/pyth|117',
            '0|0|601498|/usr/local/pyth|117',
            '0|0|601127|/usr/local/pyth|117',
            '0|0|599876|/usr/local/pyth|117',
            '0|1|599876|/usr/local/pyth|117',
            '1|0|600022|/usr/local/pyth|117',
            '1|1|600385|/usr/local/pyth|117',
            '2|0|600756|/usr/local/pyth|117',
            '2|1|601127|/usr/local/pyth|117',
            '3|0|601498|/usr/local/pyth|117',
            '3|1|601869|/usr/local/pyth|117',
            '4|0|602241|/usr/local/pyth|117',
            '4|1|602612|/usr/local/pyth|117',
            '5|0|602983|/usr/local/pyth|117',
        ],
        id='a3-ascend910-24.1.rc3.7-procs-truncated-name-vllm-ascend-2523',
    ),]


@pytest.mark.parametrize('name, version, product, npu_count, chip_count, chips, processes', INFO_SAMPLES)
def test_parse_info_samples(name, version, product, npu_count, chip_count, chips, processes):
    info = npu_smi.parse_info(read('npu-smi-info', name))
    assert info['npu_smi_version'] == version
    assert info['version'] == version
    assert info['product'] == product
    assert info['npu_count'] == npu_count
    assert info['chip_count'] == chip_count
    assert info['healthy'] is True
    assert info['chips'] == [chip(row) for row in chips]
    assert info['processes'] == [process(row) for row in processes]


def test_every_npu_smi_info_sample_is_in_the_table():
    listed = set(param.values[0] for param in INFO_SAMPLES)
    assert listed == set(os.listdir(os.path.join(FIXTURES, 'npu-smi-info')))


def test_elided_sample_skips_the_elision_line():
    text = read('npu-smi-info', 'a2-910B1-23.0.rc2-elided-arthurchiao-blog.txt')
    assert '\n...\n' in text
    info = npu_smi.parse_info(text)
    assert [c['npu_id'] for c in info['chips']] == [0, 1, 7]


def test_elision_line_anywhere_is_ignored():
    text = read('npu-smi-info', 'a2-910B3x8-25.2.0-1proc-vllm-ascend-6271.txt')
    lines = text.splitlines()
    # Insert an elision mark after the header border and inside the process section.
    lines.insert(6, '...')
    lines.insert(40, '   ...   ')
    assert npu_smi.parse_info('\n'.join(lines)) == npu_smi.parse_info(text)


def test_a3_rows_pair_chips_of_one_npu():
    info = npu_smi.parse_info(read('npu-smi-info', 'a3-ascend910-24.1.rc3.7-noproc-vllm-ascend-2666.txt'))
    npu3 = [c for c in info['chips'] if c['npu_id'] == 3]
    assert [(c['chip_id'], c['phy_id'], c['power_w']) for c in npu3] == [(0, 6, 178.5), (1, 7, None)]


def test_wide_layout_reads_the_container_pid_column():
    text = read('npu-smi-info', 'a2-910B4x1-26.0.rc1-WIDE-procid-in-container-truncated-triton-ascend-faq.txt')
    # The published sample has no process; write one row in the 116-column layout.
    row = '| 0       0                 | 4711          | python             | 2048                  | 17                      |'
    text = text.replace('| No running processes found in NPU 0', row)
    info = npu_smi.parse_info(text)
    assert info['processes'] == [
        {'npu_id': 0, 'chip_id': 0, 'pid': 4711, 'name': 'python', 'memory_mb': 2048, 'container_pid': 17}]


def test_unhealthy_chip_makes_the_host_unhealthy():
    text = read('npu-smi-info', 'a2-910B3x8-23.0.7-noproc-vllm-ascend-198.txt')
    text = text.replace('| 5     910B3               | OK            |', '| 5     910B3               | Alarm         |')
    info = npu_smi.parse_info(text)
    assert info['healthy'] is False
    assert [c['health'] for c in info['chips']].count('Alarm') == 1


def _break(name, old, new):
    text = read('npu-smi-info', name)
    assert old in text
    return text.replace(old, new, 1)


A2 = 'a2-910B3x8-23.0.7-noproc-vllm-ascend-198.txt'


@pytest.mark.parametrize('text, message, line', [
    pytest.param('', 'printed nothing', None, id='empty'),
    pytest.param('  \n\n', 'printed nothing', None, id='blank'),
    pytest.param('bash: npu-smi: command not found\n', 'not part of the npu-smi table',
                 'bash: npu-smi: command not found', id='garbage'),
    pytest.param('dcmi model initialized failed, because the device is used. ret is -8020\n',
                 'not part of the npu-smi table',
                 'dcmi model initialized failed, because the device is used. ret is -8020', id='dcmi-error'),
    pytest.param(read('npu-smi-info-board', 'error-invalid-card-id-mindcluster-fixture.txt'),
                 'not part of the npu-smi table', 'Invalid card id.', id='board-error-text'),
    pytest.param(_break(A2, '| 0     910B3               | OK            | 102.8       55 ',
                        '| 0     910B3               | OK            | 102.8       hot'),
                 'Temp(C) is not an integer', '| 0     910B3               | OK            | 102.8       hot'
                 '               0    / 0             |', id='bad-temp'),
    pytest.param(_break(A2, '| 0                         | 0000:C1:00.0  | 0           0    / 0          3338 / 65536         |\n',
                        ''),
                 'chip row has no second row',
                 '| 0     910B3               | OK            | 102.8       55                0    / 0             |',
                 id='missing-second-row'),
    pytest.param(_break(A2, 'HBM-Usage(MB)  ', 'XYZ-Usage(MB)  '), "unknown column 'XYZ-Usage(MB)'",
                 '| Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  XYZ-Usage(MB)        |',
                 id='unknown-column'),
    pytest.param(_break(A2, '3338 / 65536', '3338 ~ 65536'), 'expected 3 values',
                 '| 0                         | 0000:C1:00.0  | 0           0    / 0          3338 ~ 65536         |',
                 id='bad-usage'),
    pytest.param('+----+\n| 0     910B3    | OK     | 1 2 3 |\n', 'before any npu-smi table header',
                 '| 0     910B3    | OK     | 1 2 3 |', id='row-before-header'),
    pytest.param('+----+\n| npu-smi 23.0.7   Version: 23.0.7 |\n+----+\n', 'no chip table header', None,
                 id='title-only'),
    pytest.param(read('npu-smi-info', A2).split('| 7     910B3')[0]
                 + '| 7     910B3               | OK            | 105.1       59                0    / 0             |\n',
                 'output ends inside a chip entry',
                 '| 7     910B3               | OK            | 105.1       59                0    / 0             |',
                 id='truncated-mid-chip'),
])
def test_parse_info_rejects(text, message, line):
    with pytest.raises(ParseError) as caught:
        npu_smi.parse_info(text)
    assert message in str(caught.value)
    assert caught.value.line == line


def _chips(*specs):
    return [{'npu_id': npu, 'chip_id': chip_id, 'phy_id': phy, 'name': name} for npu, chip_id, phy, name in specs]


@pytest.mark.parametrize('chips, product', [
    pytest.param([], 'unknown', id='no-chips'),
    pytest.param(_chips((0, 0, None, '910B3'), (1, 0, None, '910B3')), 'a2', id='a2'),
    pytest.param(_chips((0, 0, None, '910B4-1')), 'a2', id='a2-suffix'),
    pytest.param(_chips((0, 0, None, '910B3'), (0, 1, None, '910B3')), 'unknown', id='910B-two-chips-per-npu'),
    pytest.param(_chips((0, 0, 0, 'Ascend910'), (0, 1, 1, 'Ascend910')), 'a3', id='a3'),
    pytest.param(_chips((0, 0, 4, 'Ascend910')), 'a3', id='a3-one-visible-chip-with-phy-id'),
    pytest.param(_chips((0, 0, None, 'Ascend910')), 'unknown', id='Ascend910-one-chip-no-phy-id'),
    pytest.param(_chips((0, 0, 0, 'Ascend910'), (0, 1, 1, 'Ascend910'), (0, 2, 2, 'Ascend910')), 'unknown',
                 id='Ascend910-three-chips'),
    pytest.param(_chips((1792, 0, None, '310P3'), (1792, 1, None, '310P3')), '310p', id='310p'),
    pytest.param(_chips((0, 0, None, '910B'), (1, 0, None, '910B')), '910', id='910-gen1-named-910B'),
    pytest.param(_chips((0, 0, None, '910A')), '910', id='910A'),
    pytest.param(_chips((0, 0, None, '910ProB')), '910', id='910ProB'),
    pytest.param(_chips((0, 0, None, '310B1')), 'unknown', id='310B'),
    pytest.param(_chips((0, 0, None, '910B3'), (1, 0, None, '910B4')), 'a2', id='mixed-910B-models'),
    pytest.param(_chips((0, 0, None, '910B3'), (1, 0, None, '310P3')), 'unknown', id='mixed-families'),
])
def test_classify_product(chips, product):
    assert npu_smi.classify_product(chips) == product


# --------------------------------------------------------------------------- -l

A2_LIST = {'total_count': 8, 'npus': [{'npu_id': n, 'chip_count': 1} for n in range(8)]}


@pytest.mark.parametrize('name, expected', [
    ('a2-910B-x8-25.5.1-telegraf-fixture.txt', A2_LIST),
    ('a2-910B4x8-25.0.rc1.1-blog-atlas800IA2.txt', A2_LIST),
])
def test_parse_info_list_samples(name, expected):
    assert npu_smi.parse_info_list(read('npu-smi-info-l', name)) == expected


def test_every_info_list_sample_is_tested():
    assert set(os.listdir(os.path.join(FIXTURES, 'npu-smi-info-l'))) == set([
        'a2-910B-x8-25.5.1-telegraf-fixture.txt', 'a2-910B4x8-25.0.rc1.1-blog-atlas800IA2.txt'])


def test_parse_info_list_keeps_unknown_keys():
    text = '\tTotal Count : 1\n\n\tNPU ID : 3\n\tChip Count : 2\n\tProduct Name : Atlas 800T A3\n'
    assert npu_smi.parse_info_list(text) == {
        'total_count': 1, 'npus': [{'npu_id': 3, 'chip_count': 2, 'product_name': 'Atlas 800T A3'}]}


@pytest.mark.parametrize('text, message, line', [
    pytest.param('', 'printed nothing', None, id='empty'),
    pytest.param('\tTotal Count : 2\n\n\tNPU ID : 0\n\tChip Count : 1\n', 'Total Count is 2 but 1', None,
                 id='count-mismatch'),
    pytest.param('\tNPU ID : 0\n\tChip Count : 1\n', 'no "Total Count"', None, id='no-total'),
    pytest.param('\tTotal Count : eight\n', 'not an integer', '\tTotal Count : eight', id='bad-number'),
    pytest.param('Segmentation fault\n', 'expected "key : value"', 'Segmentation fault', id='garbage'),
    pytest.param('\tTotal Count : 1\n\tChip Count : 1\n', 'before the first "NPU ID"', '\tChip Count : 1',
                 id='chip-count-before-npu'),
])
def test_parse_info_list_rejects(text, message, line):
    with pytest.raises(ParseError) as caught:
        npu_smi.parse_info_list(text)
    assert message in str(caught.value)
    assert caught.value.line == line


# --------------------------------------------------------------------------- -m

def _map(npu, chip_id, logic, name, phy=None):
    return {'npu_id': npu, 'chip_id': chip_id, 'logic_id': logic, 'phy_id': phy, 'name': name}


@pytest.mark.parametrize('name, expected', [
    ('910A-x8-23.0.5-tab-indent-mindcluster-fixture.txt', [_map(n, 0, n, 'Ascend 910A') for n in range(8)]),
    ('a2-910B4x8-25.0.rc1.1-blog-atlas800IA2.txt',
     [row for n in range(8) for row in (_map(n, 0, n, 'Ascend 910B4'), _map(n, 1, None, 'Mcu'))]),
])
def test_parse_info_mapping_samples(name, expected):
    assert npu_smi.parse_info_mapping(read('npu-smi-info-m', name)) == expected


def test_every_info_mapping_sample_is_tested():
    assert set(os.listdir(os.path.join(FIXTURES, 'npu-smi-info-m'))) == set([
        '910A-x8-23.0.5-tab-indent-mindcluster-fixture.txt', 'a2-910B4x8-25.0.rc1.1-blog-atlas800IA2.txt'])


def test_parse_info_mapping_with_phy_id_column():
    text = ('        NPU ID      Chip ID     Chip Logic ID     Chip Phy-ID     Chip Name\n'
            '        0           0           0                 0               Ascend 910\n'
            '        0           1           1                 1               Ascend 910\n')
    assert npu_smi.parse_info_mapping(text) == [
        _map(0, 0, 0, 'Ascend 910', phy=0), _map(0, 1, 1, 'Ascend 910', phy=1)]


@pytest.mark.parametrize('text, message, line', [
    pytest.param('', 'printed nothing', None, id='empty'),
    pytest.param('NPU ID   Chip ID   Widget\n', "found 'Widget'", 'NPU ID   Chip ID   Widget', id='unknown-header'),
    pytest.param('NPU ID   Chip ID   Chip Logic ID   Chip Name\n0   0   0\n', 'expected 4 columns, found 3',
                 '0   0   0', id='short-row'),
    pytest.param('NPU ID   Chip ID   Chip Logic ID   Chip Name\nx   0   0   Ascend 910B4\n', 'not an integer',
                 'x   0   0   Ascend 910B4', id='bad-id'),
])
def test_parse_info_mapping_rejects(text, message, line):
    with pytest.raises(ParseError) as caught:
        npu_smi.parse_info_mapping(text)
    assert message in str(caught.value)
    assert caught.value.line == line


# --------------------------------------------------------------------------- -t board

BOARD_910A_NPU = {
    'npu_id': '0', 'software_version': '23.0.5', 'firmware_version': '7.1.0.7.220', 'compatibility': 'OK',
    'board_id': '0x02', 'pcb_id': 'A', 'bom_id': '1', 'pcie_bus_info': '0000:61:00.0', 'slot_id': '0',
    'class_id': 'NA', 'pci_vendor_id': '0x19E5', 'pci_device_id': '0xD801', 'subsystem_vendor_id': '0x0200',
    'subsystem_device_id': '0x0100', 'chip_count': '1',
}
BOARD_910A_CHIP = {
    'npu_id': '0', 'chip_id': '0', 'chip_type': 'Ascend', 'chip_name': '910A', 'chip_version': 'V1',
    'board_id': '0x02', 'pcb_id': 'NA', 'bom_id': '1',
    'vdie_id': '42C711D4 20B03704 4A10C8D4 14CC040A D2102003',
    'ndie_id': '27216594 20401010 4E10C8D4 14CC040A A4102003',
    'chip_position_id': '0', 'pcie_bus_info': '0000:61:00.0', 'firmware_version': '7.1.0.7.220',
}
BOARD_A2 = {
    'npu_id': '0', 'product_name': 'IT21HMDC_Bin5', 'model': 'NA', 'manufacturer': 'Huawei',
    'serial_number': '1025C9048791', 'software_version': '25.5.1', 'firmware_version': '7.8.0.6.201',
    'compatibility': 'OK', 'board_id': '0x60', 'pcb_id': 'A', 'bom_id': '1', 'pcie_bus_info': '0000:C1:00.0',
    'slot_id': '0', 'class_id': 'NA', 'pci_vendor_id': '0x19E5', 'pci_device_id': '0xD802',
    'subsystem_vendor_id': '0x19E5', 'subsystem_device_id': '0x3003', 'chip_count': '1',
}


@pytest.mark.parametrize('name, expected', [
    ('910A-npu-board-23.0.5-mindcluster-fixture.txt', BOARD_910A_NPU),
    ('910A-chip-board-c0-mindcluster-fixture.txt', BOARD_910A_CHIP),
    ('a2-910B-IT21HMDC_Bin5-25.5.1-telegraf-fixture.txt', BOARD_A2),
])
def test_parse_board_samples(name, expected):
    assert npu_smi.parse_board(read('npu-smi-info-board', name)) == expected


def test_parse_board_error_sample_fails_with_the_message():
    with pytest.raises(ParseError) as caught:
        npu_smi.parse_board(read('npu-smi-info-board', 'error-invalid-card-id-mindcluster-fixture.txt'))
    assert caught.value.line == 'Invalid card id.'
    assert caught.value.lineno == 1


def test_every_board_sample_is_tested():
    assert set(os.listdir(os.path.join(FIXTURES, 'npu-smi-info-board'))) == set([
        '910A-npu-board-23.0.5-mindcluster-fixture.txt', '910A-chip-board-c0-mindcluster-fixture.txt',
        'a2-910B-IT21HMDC_Bin5-25.5.1-telegraf-fixture.txt', 'error-invalid-card-id-mindcluster-fixture.txt'])


def test_parse_board_rejects_conflicting_duplicates():
    with pytest.raises(ParseError, match='two different values'):
        npu_smi.parse_board('NPU ID : 0\n\nNPU ID : 1\n')


# --------------------------------------------------------------------------- -t health

@pytest.mark.parametrize('name, expected', [
    ('910A-health-OK-mindcluster-fixture.txt', {'health': 'OK', 'error_codes': [], 'error_information': []}),
    ('910A-health-ALARM-multiline-mindcluster-fixture.txt', {
        'health': 'Alarm',
        'error_codes': ['A4025021', '8C03A000', '8C084E00'],
        'error_information': [
            'ascend_monitor adda heart beat lost error',
            'node type=process-manager, sensor type=General Software, event state=The process start failed or '
            'exit abnormally',
            'node type=adda, sensor type=Heartbeat Sensor, event state=Heartbeat Lost.',
        ],
    }),
])
def test_parse_health_samples(name, expected):
    assert npu_smi.parse_health(read('npu-smi-info-health', name)) == expected


def test_every_health_sample_is_tested():
    assert set(os.listdir(os.path.join(FIXTURES, 'npu-smi-info-health'))) == set([
        '910A-health-OK-mindcluster-fixture.txt', '910A-health-ALARM-multiline-mindcluster-fixture.txt'])


@pytest.mark.parametrize('text, message', [
    ('\tError Code : NA\n', 'no "Health Status"'),
    ('\tHealth Status : OK\n\tFan Speed : 3\n', "unexpected key 'Fan Speed'"),
    ('\t    : dangling\n', 'continuation line without a preceding key'),
])
def test_parse_health_rejects(text, message):
    with pytest.raises(ParseError, match=message):
        npu_smi.parse_health(text)


# --------------------------------------------------------------------------- -t usages/temp/power

@pytest.mark.parametrize('name, expected', [
    ('910A-usages-mindcluster-fixture.txt', [
        {'npu_id': '0', 'chip_count': '1'},
        {'ddr_capacity_mb': '13553', 'ddr_usage_rate': '6', 'ddr_hugepages_total_page': '0',
         'ddr_hugepages_usage_rate': '0', 'hbm_capacity_mb': '31129', 'hbm_usage_rate': '0',
         'aicore_usage_rate': '0', 'aicpu_usage_rate': '0', 'ctrlcpu_usage_rate': '0',
         'ddr_bandwidth_usage_rate': '0', 'hbm_bandwidth_usage_rate': '0', 'chip_id': '0'},
    ]),
    ('a2-910B-25.5.1-usages-telegraf-fixture.txt', [
        {'npu_id': '0', 'chip_count': '1'},
        {'ddr_capacity_mb': '0', 'ddr_usage_rate': '0', 'ddr_hugepages_total_page': '0',
         'ddr_hugepages_usage_rate': '0', 'hbm_capacity_mb': '65536', 'hbm_usage_rate': '5',
         'aicore_usage_rate': '0', 'aivector_usage_rate': '0', 'aicpu_usage_rate': '0', 'ctrlcpu_usage_rate': '6',
         'ddr_bandwidth_usage_rate': '0', 'hbm_bandwidth_usage_rate': '0', 'npu_utilization': '0',
         'aicube_usage_rate': '0', 'chip_id': '0'},
    ]),
    ('a2-910B-25.5.1-temp-telegraf-fixture.txt', [
        {'npu_id': '0', 'chip_count': '1'},
        {'npu_temperature_c': '39', 'chip_id': '0'},
        {'lm75a_te_c': '36', 'lm75b_te_c': '36', 'chip_name': 'MCU'},
    ]),
    ('a2-910B-25.5.1-power-telegraf-fixture.txt', [
        {'npu_id': '0', 'chip_count': '1'},
        {'npu_real_time_power_w': '103.5', 'chip_id': '0'},
    ]),
])
def test_parse_key_value_sections_samples(name, expected):
    assert npu_smi.parse_key_value_sections(read('npu-smi-info-usages', name)) == expected


def test_every_usages_sample_is_tested():
    assert set(os.listdir(os.path.join(FIXTURES, 'npu-smi-info-usages'))) == set([
        '910A-usages-mindcluster-fixture.txt', 'a2-910B-25.5.1-usages-telegraf-fixture.txt',
        'a2-910B-25.5.1-temp-telegraf-fixture.txt', 'a2-910B-25.5.1-power-telegraf-fixture.txt'])


def test_parse_key_value_sections_joins_continuations():
    sections = npu_smi.parse_key_value_sections(
        read('npu-smi-info-health', '910A-health-ALARM-multiline-mindcluster-fixture.txt'))
    assert len(sections) == 1
    assert sections[0]['error_information'].split('\n')[-1] == (
        'node type=adda, sensor type=Heartbeat Sensor, event state=Heartbeat Lost.')


# --------------------------------------------------------------------------- -t topo

def test_parse_topo_sample():
    topo = npu_smi.parse_topo(read('npu-smi-info-topo', 'a2-910B-x8-topo-openyuanrong-fixture.txt'))
    names = ['NPU%d' % n for n in range(8)]
    assert topo['npus'] == names
    assert topo['links'] == dict((a, dict((b, 'HCCS') for b in names if b != a)) for a in names)
    assert topo['cpu_affinity'] == {
        'NPU0': '144-167', 'NPU1': '0-23', 'NPU2': '144-167', 'NPU3': '0-23',
        'NPU4': '96-119', 'NPU5': '48-71', 'NPU6': '96-119', 'NPU7': '48-71',
    }


@pytest.mark.parametrize('text, message', [
    ('', 'printed nothing'),
    ('\tGPU0  GPU1\n', 'expected the "NPU0 NPU1 ... CPU Affinity" header'),
    ('\tNPU0  NPU1  CPU Affinity\nNPU0  X  HCCS\n', 'followed by 3 columns'),
])
def test_parse_topo_rejects(text, message):
    with pytest.raises(ParseError, match=message.replace('(', r'\(').replace('.', r'\.')):
        npu_smi.parse_topo(text)


def test_is_elision():
    assert npu_smi.is_elision('...')
    assert npu_smi.is_elision('   ...  ')
    assert not npu_smi.is_elision('MAC: ...')
    assert not npu_smi.is_elision('')
