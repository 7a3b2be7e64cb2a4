# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hccn_info with its command runner (execute) and get_bin_path replaced by fakes; execute itself
runs real processes.

The fake hccn_tool answers with lines taken from the published samples in
tests/unit/fixtures/hccn_tool.
"""

from __future__ import annotations

import os
import threading

import pytest

from ansible_collections.ascend.serving.plugins.modules import hccn_info
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import FakeRunner, run_module

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures')
TOOL = '/usr/local/Ascend/driver/tools/hccn_tool'
NPU_SMI = '/usr/local/bin/npu-smi'
ALL = ['ip', 'link', 'net_health', 'netdetect', 'gateway', 'tls', 'lldp']


def read(*parts):
    with open(os.path.join(FIXTURES, *parts), 'r') as handle:
        return handle.read()


LLDP = read('hccn_tool', 'lldp-g-910B1-arthurchiao-blog.txt')
PING_OK = read('hccn_tool', 'ping-g-success-910B1-arthurchiao-blog.txt')
NO_IP = read('hccn_tool', 'ip-g-error-no-ip-doc-quoted.txt')
TLS_LINE = read('hccn_tool', 'tls-g-grep-switch-loop-x8-910B3-deepseekv3-multinode-doc.txt').splitlines()[0]


class FakeHccnTool(object):
    """Answers like a healthy node.

    ``overrides[(device, option)]`` (or ``(device, '-ping', address)``) replaces an answer.
    """

    def __init__(self, overrides=None, tls=None):
        self.overrides = overrides or {}
        self.tls = tls or {}

    def __call__(self, argv):
        if argv[0] == NPU_SMI:
            raise AssertionError('unexpected npu-smi call %r' % argv)
        assert argv[0] == TOOL and argv[1] == '-i', argv
        device, option = int(argv[2]), argv[3]
        if option == '-ping' and (device, option, argv[-1]) in self.overrides:
            return self.overrides[(device, option, argv[-1])]
        if (device, option) in self.overrides:
            return self.overrides[(device, option)]
        if option == '-ip':
            return 0, 'ipaddr:11.12.165.%d\nnetmask:255.255.255.0\n' % (80 + device), ''
        if option == '-link':
            return 0, 'link status: UP\n', ''
        if option == '-net_health':
            return 0, 'net health status: Success\n', ''
        if option == '-netdetect':
            return 0, 'netdetect address: 11.12.165.1\n', ''
        if option == '-gateway':
            return 0, 'default gateway:11.12.165.1, Iface:eth%d\n' % device, ''
        if option == '-tls':
            line = TLS_LINE.replace('dev_id:0', 'dev_id:%d' % device)
            return 0, line.replace('tls switch[0]', 'tls switch[%d]' % self.tls.get(device, 0)) + '\n', ''
        if option == '-lldp':
            return 0, LLDP, ''
        if option == '-ping':
            assert argv[4:6] == ['-g', 'address'], argv
            return 0, PING_OK.replace('device 3', 'device %d' % device).replace('29.1.137.205', argv[6]), ''
        raise AssertionError('unexpected hccn_tool call %r' % argv)


def run(args, tool=None, bins=None, npu_smi=None):
    fake = tool or FakeHccnTool()

    def answer(argv):
        if argv[0] == NPU_SMI:
            if npu_smi is None or tuple(argv[1:]) not in npu_smi:
                raise AssertionError('unexpected npu-smi call %r' % argv)
            return npu_smi[tuple(argv[1:])]
        return fake(argv)

    args = dict(args)
    args.setdefault('hccn_conf_path', '/nonexistent/hccn.conf')
    paths = {'hccn_tool': TOOL, 'npu-smi': NPU_SMI}
    paths.update(bins or {})
    return run_module(hccn_info.main, args, FakeRunner(answer), paths, execute_in=hccn_info)


def test_healthy_node_with_explicit_count():
    failed, result, runner = run({'device_count': 2})
    assert not failed
    assert result['changed'] is False
    info = result['hccn_info']
    assert info['healthy'] is True
    assert info['problems'] == []
    assert info['checks'] == ALL
    assert info['device_source'] == 'device_count'
    assert info['hccn_conf'] is None
    assert info['devices'] == [
        {'device': n, 'ip': '11.12.165.%d' % (80 + n), 'netmask': '255.255.255.0', 'link': 'UP',
         'net_health': 'Success', 'netdetect': '11.12.165.1', 'gateway': '11.12.165.1', 'tls_switch': 0,
         'lldp_ifname': '400GE1/1/20:2', 'pings': [], 'errors': [], 'failed_checks': []}
        for n in range(2)]
    assert sorted(runner.calls) == sorted(
        [[TOOL, '-i', str(n)] + args for n in range(2) for args in (
            ['-ip', '-g'], ['-link', '-g'], ['-net_health', '-g'], ['-netdetect', '-g'], ['-gateway', '-g'],
            ['-tls', '-g'], ['-lldp', '-g'])])
    assert runner.timeouts == [120] * len(runner.calls)


def test_default_devices_are_the_a3_phy_ids():
    a3 = read('npu-smi-info', 'a3-ascend910-24.1.rc3.7-noproc-vllm-ascend-2666.txt')
    failed, result, runner = run({'checks': ['link']}, npu_smi={('info',): (0, a3, '')})
    assert not failed
    assert result['hccn_info']['device_source'] == 'npu-smi phy ids'
    assert [d['device'] for d in result['hccn_info']['devices']] == list(range(16))
    assert sorted(call[2] for call in runner.calls if call[0] == TOOL) == sorted(str(n) for n in range(16))


def test_default_devices_fall_back_to_logic_ids():
    a2 = read('npu-smi-info', 'a2-910B4x8-25.0.rc1.1-noproc-blog-atlas800IA2.txt')
    mapping = read('npu-smi-info-m', 'a2-910B4x8-25.0.rc1.1-blog-atlas800IA2.txt')
    failed, result, runner = run({'checks': ['link']},
                                 npu_smi={('info',): (0, a2, ''), ('info', '-m'): (0, mapping, '')})
    assert not failed
    assert result['hccn_info']['device_source'] == 'npu-smi -m logic ids'
    # The Mcu rows (logic id '-') are not devices.
    assert [d['device'] for d in result['hccn_info']['devices']] == list(range(8))
    assert runner.calls[:2] == [[NPU_SMI, 'info'], [NPU_SMI, 'info', '-m']]


def test_default_devices_on_310p_use_the_device_column():
    duo = read('npu-smi-info', '310P3-duo-x4-npuid1536-2304-24.1.0.1-openyuanrong-fixture.txt')
    failed, result, _runner = run({'checks': ['link']}, npu_smi={('info',): (0, duo, '')})
    assert not failed
    assert result['hccn_info']['device_source'] == 'npu-smi device ids'
    assert [d['device'] for d in result['hccn_info']['devices']] == list(range(8))


def test_default_devices_without_npu_smi_fails_with_the_fix():
    failed, result, _runner = run({}, bins={'npu-smi': None})
    assert failed
    assert result['msg'].startswith('Cannot list the NPU devices: npu-smi was not found')
    assert 'Set devices or device_count' in result['msg']


def test_default_devices_when_npu_smi_fails():
    failed, result, _runner = run({}, npu_smi={('info',): (-8020, '', 'dcmi model initialized failed\n')})
    assert failed
    assert 'npu-smi info exited with -8020: dcmi model initialized failed' in result['msg']


def test_missing_hccn_tool_fails_with_the_fix():
    failed, result, _runner = run({'device_count': 8}, bins={'hccn_tool': None})
    assert failed
    assert result['msg'] == ('hccn_tool was not found on PATH or in /usr/local/Ascend/driver/tools. '
                             'Install the Ascend NPU driver, or set hccn_tool_path.')


def test_hccn_tool_path_that_does_not_exist_fails(tmp_path):
    failed, result, _runner = run({'device_count': 8, 'hccn_tool_path': str(tmp_path / 'hccn_tool')})
    assert failed
    assert result['msg'] == 'hccn_tool_path %s is not an executable file.' % (tmp_path / 'hccn_tool')


def test_no_ip_preset_is_data_not_a_failure():
    tool = FakeHccnTool({(1, '-ip'): (0, NO_IP, '')})
    failed, result, _runner = run({'device_count': 2}, tool)
    assert not failed
    info = result['hccn_info']
    assert info['healthy'] is False
    device = info['devices'][1]
    assert (device['ip'], device['netmask']) == (None, None)
    assert device['errors'] == ['hccn_tool -i 1 -ip -g: Get ipconf failed, because no ip was preset there!']
    assert device['failed_checks'] == ['ip']
    assert info['problems'] == [
        'device 1: no device IP (hccn_tool -ip -g); Get ipconf failed, because no ip was preset there!']
    assert info['devices'][0]['failed_checks'] == []


def test_nonzero_exit_is_recorded_for_that_device():
    tool = FakeHccnTool({(0, '-link'): (255, '', 'devid 0 is invalid\n')})
    failed, result, _runner = run({'device_count': 2, 'checks': ['link', 'net_health']}, tool)
    assert not failed
    device = result['hccn_info']['devices'][0]
    assert device['link'] is None
    assert device['errors'] == ['hccn_tool -i 0 -link -g: exited with 255: devid 0 is invalid']
    assert result['hccn_info']['problems'] == [
        'device 0: link is unknown, expected UP (try: hccn_tool -i 0 -cfg recovery); '
        'exited with 255: devid 0 is invalid']


def test_unhealthy_values_are_reported_per_device():
    tool = FakeHccnTool({
        (2, '-link'): (0, 'link status: DOWN\n', ''),
        (3, '-net_health'): (0, read('hccn_tool', 'net_health-g-socket-failed-910A-mindcluster-fixture.txt'), ''),
        (3, '-lldp'): (0, '', ''),
    })
    failed, result, _runner = run({'devices': [2, 3]}, tool)
    assert not failed
    info = result['hccn_info']
    assert info['device_source'] == 'devices'
    assert [d['failed_checks'] for d in info['devices']] == [['link'], ['net_health', 'lldp']]
    assert info['problems'] == [
        'device 2: link is DOWN, expected UP (try: hccn_tool -i 2 -cfg recovery)',
        'device 3: net health is Socket failed, expected Success',
        'device 3: no LLDP neighbour (switch port) seen; no output',
    ]


def test_tls_must_be_the_same_everywhere():
    failed, result, _runner = run({'device_count': 3, 'checks': ['tls']}, FakeHccnTool(tls={1: 1}))
    assert not failed
    info = result['hccn_info']
    assert [d['tls_switch'] for d in info['devices']] == [0, 1, 0]
    assert info['healthy'] is False
    assert info['problems'][0].startswith('TLS switch differs between devices (switch 0 on devices 0, 2; '
                                          'switch 1 on devices 1)')


def test_pings_from_every_device_and_per_device_targets():
    lost = 'device 1 PING 10.0.1.11\n3 packets transmitted, 0 received, 100.00% packet loss\n'
    tool = FakeHccnTool({(1, '-ping', '10.0.1.11'): (0, lost, '')})
    failed, result, runner = run({'device_count': 2, 'checks': [], 'ping_targets': ['10.0.1.10'],
                                  'ping_map': {'1': ['10.0.1.11', '10.0.1.10']}}, tool)
    assert not failed
    devices = result['hccn_info']['devices']
    assert devices[0]['pings'] == [
        {'address': '10.0.1.10', 'transmitted': 3, 'received': 3, 'loss_pct': 0.0, 'ok': True}]
    # ping_targets first, then ping_map; an address in both is pinged once.
    assert devices[1]['pings'] == [
        {'address': '10.0.1.10', 'transmitted': 3, 'received': 3, 'loss_pct': 0.0, 'ok': True},
        {'address': '10.0.1.11', 'transmitted': 3, 'received': 0, 'loss_pct': 100.0, 'ok': False}]
    assert sorted(c[1:] for c in runner.calls) == sorted([
        ['-i', '0', '-ping', '-g', 'address', '10.0.1.10'],
        ['-i', '1', '-ping', '-g', 'address', '10.0.1.10'],
        ['-i', '1', '-ping', '-g', 'address', '10.0.1.11'],
    ])
    assert result['hccn_info']['problems'] == ['device 1: ping 10.0.1.11 failed (0/3 received, 100.0% loss)']
    assert devices[1]['failed_checks'] == ['ping']


def test_failed_ping_command_is_recorded():
    tool = FakeHccnTool({(0, '-ping'): (1, 'ping failed\n', '')})
    failed, result, _runner = run({'device_count': 1, 'checks': [], 'ping_targets': ['10.0.1.10']}, tool)
    assert not failed
    device = result['hccn_info']['devices'][0]
    assert device['pings'] == [
        {'address': '10.0.1.10', 'transmitted': None, 'received': None, 'loss_pct': None, 'ok': False}]
    assert device['errors'] == ['hccn_tool -i 0 -ping -g address 10.0.1.10: exited with 1: ping failed']


@pytest.mark.parametrize('args, message', [
    ({'device_count': 2, 'ping_targets': ['10.0.1']}, "ping_targets: '10.0.1' is not an IP address."),
    ({'device_count': 2, 'ping_map': {'5': ['10.0.1.1']}}, 'ping_map: device 5 is not among the devices probed (0, 1).'),
    ({'device_count': 2, 'ping_map': {'x': ['10.0.1.1']}}, "ping_map: key 'x' is not a device number."),
    ({'device_count': 2, 'ping_map': {'0': ['nowhere']}}, "ping_map[0]: 'nowhere' is not an IP address."),
    ({'device_count': 0}, 'device_count must be at least 1, got 0.'),
    ({'devices': [-1]}, 'devices: -1 is not a device number (must be >= 0).'),
    ({'device_count': 2, 'parallel': 0}, 'parallel must be at least 1, got 0.'),
    ({'device_count': 2, 'ping_parallel': 0}, 'ping_parallel must be at least 1, got 0.'),
    ({'device_count': 2, 'command_timeout': 0}, 'command_timeout must be at least 1, got 0.'),
    ({'device_count': 2, 'devices': [0]}, 'parameters are mutually exclusive: devices|device_count'),
    ({'device_count': 2, 'checks': ['optical']}, 'value of checks must be one or more of'),
])
def test_bad_arguments_fail(args, message):
    failed, result, _runner = run(args)
    assert failed
    assert message in result['msg']


def test_parse_error_fails_naming_device_and_line():
    tool = FakeHccnTool({(1, '-ip'): (0, 'ipaddr:11.12.165.999\nnetmask:255.255.255.0\n', '')})
    failed, result, _runner = run({'device_count': 2, 'checks': ['ip']}, tool)
    assert failed
    assert result['msg'].startswith('device 1: cannot parse the output of hccn_tool -i 1 -ip -g: ')
    assert result['offending_line'] == 'ipaddr:11.12.165.999'
    assert result['device'] == 1


def test_commands_run_in_parallel_up_to_the_limit():
    # Every call waits at a 4-party barrier: the module only finishes if 4 commands run at once.
    barrier = threading.Barrier(4, timeout=10)
    lock = threading.Lock()
    state = {'running': 0, 'most': 0}
    base = FakeHccnTool()

    def tool(argv):
        with lock:
            state['running'] += 1
            state['most'] = max(state['most'], state['running'])
        try:
            barrier.wait()
            return base(argv)
        finally:
            with lock:
                state['running'] -= 1

    failed, result, runner = run({'device_count': 16, 'checks': ['link'], 'parallel': 4}, tool)
    assert not failed, result
    assert len(runner.calls) == 16
    assert state['most'] == 4
    assert [d['link'] for d in result['hccn_info']['devices']] == ['UP'] * 16


def test_reads_hccn_conf(tmp_path):
    conf = tmp_path / 'hccn.conf'
    conf.write_text(read('hccn_conf', 'hccn.conf-910B1-x8-elided-arthurchiao-blog.txt'))
    failed, result, _runner = run({'device_count': 1, 'checks': ['link'], 'hccn_conf_path': str(conf)})
    assert not failed
    assert result['hccn_info']['hccn_conf'] == {
        '0': {'address': '29.1.137.205', 'netmask': '255.255.0.0', 'netdetect': '29.1.0.1', 'gateway': '29.1.0.1',
              'send_arp_status': '1'},
        '7': {'address': '29.1.170.143', 'netmask': '255.255.0.0', 'netdetect': '29.1.0.1', 'gateway': '29.1.0.1',
              'send_arp_status': '1'},
    }


def test_bad_hccn_conf_fails(tmp_path):
    conf = tmp_path / 'hccn.conf'
    conf.write_text('address_0=10.0.0.1\nthis is not a setting\n')
    failed, result, _runner = run({'device_count': 1, 'checks': ['link'], 'hccn_conf_path': str(conf)})
    assert failed
    assert result['msg'].startswith('cannot parse %s: expected <key>_<device>=<value>' % conf)
    assert result['offending_line'] == 'this is not a setting'


def test_pings_run_after_the_queries_with_their_own_limit():
    # 8 pings (4 devices x 2 peers) wait at an 8-party barrier: they only finish if ping_parallel
    # lets all 8 run at once, while the queries stay within parallel (2).
    barrier = threading.Barrier(8, timeout=10)
    lock = threading.Lock()
    state = {'running': 0, 'most_queries': 0, 'pinging': False}
    base = FakeHccnTool()

    def tool(argv):
        if argv[3] == '-ping':
            state['pinging'] = True
            barrier.wait()
            return base(argv)
        assert not state['pinging'], 'a query ran after the pings had started'
        with lock:
            state['running'] += 1
            state['most_queries'] = max(state['most_queries'], state['running'])
        try:
            return base(argv)
        finally:
            with lock:
                state['running'] -= 1

    failed, result, runner = run({'device_count': 4, 'checks': ['link', 'ip'], 'parallel': 2, 'ping_parallel': 8,
                                  'ping_targets': ['10.0.1.10', '10.0.1.11']}, tool)
    assert not failed, result
    assert len(runner.calls) == 16
    assert state['most_queries'] <= 2
    assert all(p['ok'] for d in result['hccn_info']['devices'] for p in d['pings'])
    # Each device's pings keep the order asked for.
    assert [[p['address'] for p in d['pings']] for d in result['hccn_info']['devices']] == [
        ['10.0.1.10', '10.0.1.11']] * 4


def test_round_robin_interleaves_devices_keeping_each_order():
    jobs = [(0, 'a', None), (0, 'b', None), (0, 'c', None), (1, 'a', None), (2, 'a', None), (2, 'b', None)]
    assert hccn_info._round_robin(jobs) == [
        (0, 'a', None), (1, 'a', None), (2, 'a', None), (0, 'b', None), (2, 'b', None), (0, 'c', None)]
    assert hccn_info._round_robin([]) == []


def test_an_empty_answer_is_reported_as_no_output():
    tool = FakeHccnTool({(1, '-link'): (0, '', '')})
    failed, result, runner = run({'device_count': 2}, tool=tool)
    assert not failed
    dev = result['hccn_info']['devices'][1]
    assert dev['link'] is None
    assert dev['errors'] == ['hccn_tool -i 1 -link -g: no output']
    assert runner.calls.count([TOOL, '-i', '1', '-link', '-g']) == 1


def test_a_timed_out_command_is_an_error_of_its_device():
    tool = FakeHccnTool({(0, '-ping', '10.0.1.10'): (None, '', 'still running after 120 s, killed')})
    failed, result, _runner = run({'device_count': 1, 'checks': [], 'ping_targets': ['10.0.1.10']}, tool=tool)
    assert not failed
    dev = result['hccn_info']['devices'][0]
    assert dev['errors'] == ['hccn_tool -i 0 -ping -g address 10.0.1.10: still running after 120 s, killed']
    assert dev['pings'] == [{'address': '10.0.1.10', 'transmitted': None, 'received': None, 'loss_pct': None,
                             'ok': False}]


# execute() itself, with real processes.
def _script(tmp_path, body):
    path = tmp_path / 'tool'
    path.write_text('#!/bin/sh\n' + body)
    path.chmod(0o755)
    return str(path)


def test_execute_reads_a_slow_childs_whole_output_in_the_c_locale(tmp_path, monkeypatch):
    # The answer comes after more than 1 s (run_command's select timeout in ansible/ansible#51393).
    monkeypatch.setenv('LC_ALL', 'zh_CN.UTF-8')
    tool = _script(tmp_path, 'sleep 1.2; echo "link status: UP $LC_ALL $LANG $1"; echo oops >&2; exit 3\n')
    assert hccn_info.execute([tool, 'arg with space'], timeout=30) == (
        3, 'link status: UP C C arg with space\n', 'oops\n')


def test_execute_kills_a_command_past_its_timeout(tmp_path):
    tool = _script(tmp_path, 'echo started; exec sleep 30\n')
    assert hccn_info.execute([tool], timeout=1) == (None, '', 'still running after 1 s, killed')


def test_execute_reports_a_command_that_cannot_start(tmp_path):
    rc, out, err = hccn_info.execute([str(tmp_path / 'missing')])
    assert (rc, out) == (127, '')
    assert 'No such file' in err
