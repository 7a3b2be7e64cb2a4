"""The simulated node's npu-smi and hccn_tool against real outputs of the real tools.

The fakes run as subprocesses (their own shebang, the system python3, no PYTHONPATH) on a state
file in a temporary directory, with ASCEND_SIM_NO_NET=1 so nothing touches this machine's
network. Their device addresses are then taken from 127.10.0.0/22: every 127/8 address is local,
so ``hccn_tool -ping`` still sends real ICMP packets from the device address (ping needs the
iputils-ping package).

Where a fixture's values can be reproduced (``simstate.py set-chip``), the fake's output must be
byte-identical to the real sample; elsewhere every line must have the sample's layout.
"""

import ast
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import hccn_tool as hccn_parser
from ansible_collections.ascend.serving.plugins.module_utils import npu_smi as npu_parser

HERE = Path(__file__).resolve().parent
FAKES = HERE / "fakes"
FIX = HERE / "fixtures"
SIMSTATE = FAKES / "simstate.py"
NPU_SMI = FAKES / "npu-smi"
HCCN_TOOL = FAKES / "hccn_tool"
HCCN_FRONT = FAKES / "hccn_tool.sh"
HCCN_PING_AWK = FAKES / "hccn_ping.awk"
CIDR = "127.10.0.0/22"
# Texts hccn_tool -ping must take for an IPv4 address, or refuse, as ipaddress.IPv4Address does.
IPV4_TEXTS = [
    "127.10.0.2", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "", ".", "1..2.3",
    "01.2.3.4", "1.2.3.00", "1.2.3.0", "1.2.3.-1", "1.2.3.+1", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/32",
    "1.2.3.\u0664", "1.2.3.\u00b2", "1.2.3.0x1", "1.2.3.1000", "a.b.c.d", "::1", "1.2.3.4%eth0",
]


def fixture(name):
    return (FIX / name).read_text()


class Sim:
    """One simulated node: a state file and the three programs that use it."""

    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.state_file = tmp_path / "state" / "state.json"
        self.root = tmp_path / "root"
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("PYTHONPATH", "ASCEND_SIM_LIB", "ASCEND_SIM_STATE")}
        self.env.update(ASCEND_SIM_STATE=str(self.state_file), ASCEND_SIM_NO_NET="1", LC_ALL="C")

    def run(self, program, *args, check=None):
        proc = subprocess.run([str(program)] + [str(a) for a in args], env=self.env,
                              capture_output=True, text=True, timeout=60, check=False)
        if check is not None:
            assert proc.returncode == check, (program, args, proc.returncode, proc.stdout, proc.stderr)
        return proc

    def simstate(self, *args):
        return self.run(SIMSTATE, *args, check=0).stdout

    def npu_smi(self, *args, check=0):
        return self.run(NPU_SMI, *args, check=check)

    def hccn(self, *args, check=0):
        return self.run(HCCN_TOOL, *args, check=check)

    def init(self, product, *extra, node_index=0):
        self.simstate("init", "--product", product, "--hostname", "node%d" % node_index,
                      "--node-index", node_index, "--npu-cidr", CIDR, *extra)
        return self

    def state(self):
        return json.loads(self.state_file.read_text())

    def loop(self, count, *args):
        """``for i in ...; do hccn_tool -i $i ARGS; done`` as the field guides run it."""
        return "".join(self.hccn("-i", i, *args).stdout for i in range(count))


@pytest.fixture
def sim(tmp_path):
    return Sim(tmp_path)


@pytest.fixture
def a2(sim):
    return sim.init("a2")


@pytest.fixture
def a3(sim):
    return sim.init("a3")


# ---------------------------------------------------------------------------------------------
# Reading the values out of a real npu-smi table, to load them into the simulated node
# ---------------------------------------------------------------------------------------------
ROW1 = re.compile(r"^\| (\d+)\s+(\S+)\s+\| (\S+)\s+\| (\S+)\s+(\d+)\s+0\s+/ 0\s+\|$")
ROW2 = re.compile(r"^\| (\d+)(?:\s+(\d+))?\s+\| (\S+)\s+\| (\d+)\s+0\s+/ 0\s+(\d+)\s*/ (\d+)\s+\|$")
PROC = re.compile(r"^\| (\d+)\s+(\d+)\s+\| (\d+)\s+\| (.*?)\s*\| (\d+)\s+\|$")


def table_values(text):
    chips, procs, first = [], [], None
    for line in text.splitlines():
        if ROW1.match(line):
            first = ROW1.match(line).groups()
        elif ROW2.match(line) and first:
            bus, aicore, used, total = ROW2.match(line).groups()[2:]
            chips.append({"name": first[1], "health": first[2], "power": first[3], "temp": first[4],
                          "aicore": aicore, "hbm_used": used, "hbm_total": int(total), "bus_id": bus})
            first = None
        elif PROC.match(line):
            npu, chip, pid, name, mem = PROC.match(line).groups()
            procs.append((npu, chip, pid, name, mem))
    return chips, procs


def load_table(sim, text, names=None):
    """Make the simulated chips and processes carry the sample's values."""
    chips, procs = table_values(text)
    assert len(chips) == len(sim.state()["chips"])
    for index, chip in enumerate(chips):
        assert chip["hbm_total"] == sim.state()["chips"][index]["hbm_total"]
        sim.simstate("set-chip", index, *("%s=%s" % (key, chip[key])
                                          for key in ("health", "power", "temp", "aicore", "hbm_used", "bus_id")))
    for npu, chip, pid, name, mem in procs:
        sim.simstate("add-process", "--npu", npu, "--chip", chip, "--pid", pid,
                     "--name", (names or {}).get(name, name), "--mem", mem)


def skeleton(text):
    """The text with addresses, switch ports and round-trip times replaced by placeholders."""
    text = re.sub(r"\d+\.\d+\.\d+\.\d+", "<IP>", text)
    text = re.sub(r"Ifname: \S+", "Ifname: <PORT>", text)
    return re.sub(r"time=[\d.]+ms", "time=<T>ms", text)


def keys(text, sep=":"):
    return [line.split(sep, 1)[0].strip() for line in text.splitlines() if sep in line]


def colon_columns(text):
    return [line.expandtabs(8).index(":") for line in text.splitlines() if ":" in line]


# ---------------------------------------------------------------------------------------------
# npu-smi info: byte-identical to real tables
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sample, product, extra, names", [
    ("npu-smi-info/a2-910B3x8-25.2.0-1proc-vllm-ascend-6271.txt", "a2", ["--driver-version", "25.2.0"], None),
    ("npu-smi-info/a2-910B3x8-25.0.rc1.b010-8proc-vllm-ascend-6299.txt", "a2",
     ["--driver-version", "25.0.rc1.b010"], None),
    ("npu-smi-info/a2-910B4x8-24.1.rc3-4proc-noname-openyuanrong-fixture.txt", "a2",
     ["--driver-version", "24.1.rc3", "--chip-name", "910B4"], None),
    ("npu-smi-info/a3-ascend910-24.1.rc3.7-noproc-vllm-ascend-2666.txt", "a3", [], None),
    ("npu-smi-info/a3-ascend910-24.1.rc3.3-8proc-pt_main_thread-openyuanrong-fixture.txt", "a3",
     ["--driver-version", "24.1.rc3.3"], None),
    # The real tool cuts process names to 15 characters: give the fake the full name.
    ("npu-smi-info/a3-ascend910-24.1.rc3.7-procs-truncated-name-vllm-ascend-2523.txt", "a3", [],
     {"/usr/local/pyth": "/usr/local/python3.11.13/bin/python3.11"}),
])
def test_info_table_is_the_real_table(sim, sample, product, extra, names):
    sim.init(product, *extra)
    expected = fixture(sample)
    load_table(sim, expected, names)
    assert sim.npu_smi("info").stdout == expected


@pytest.mark.parametrize("product", ["a2", "a3"])
def test_info_table_default_state_has_the_real_layout(sim, product):
    sim.init(product)
    sample = {"a2": "npu-smi-info/a2-910B3x8-25.2.0-1proc-vllm-ascend-6271.txt",
              "a3": "npu-smi-info/a3-ascend910-24.1.rc3.7-noproc-vllm-ascend-2666.txt"}[product]
    out = sim.npu_smi("info").stdout.splitlines()
    real = fixture(sample).splitlines()
    assert {len(line) for line in out} == {98}
    # Same header, borders and separators; rows differ only by values, not by column positions.
    pipes = [[i for i, c in enumerate(line) if c in "|+"] for line in out]
    real_pipes = [[i for i, c in enumerate(line) if c in "|+"] for line in real]
    assert out[2:6] == real[2:6]
    table_end = out.index("| NPU     Chip              | Process id    | Process name             | Process memory(MB)      |")
    assert pipes[:table_end] == real_pipes[:table_end]
    assert out[1] == "| npu-smi {0:<24} Version: {0:<53}|".format(sim.state()["versions"]["npu_smi"])
    assert len(out) == len(real)


def test_info_a3_has_two_rows_per_npu_and_phy_ids(a3):
    out = a3.npu_smi("info").stdout
    assert "| Chip  Phy-ID              | Bus-Id        |" in out
    assert "| 7     Ascend910           | OK            | -           " in out
    assert "| 1     15                  | 0000:83:00.0  |" in out
    assert out.count("No running processes found in NPU") == 8


# ---------------------------------------------------------------------------------------------
# npu-smi info -l / -m / -t board / -t health
# ---------------------------------------------------------------------------------------------
# Machine-captured key:value reports (mind-cluster fixtures) indent with a TAB; the A2 samples
# below were pasted from a terminal, which turned it into 8 spaces. The fakes print the TAB.
def test_info_list_is_the_real_list(a2):
    out = a2.npu_smi("info", "-l").stdout
    assert out.startswith("\tTotal Count")
    assert out.expandtabs(8) == fixture("npu-smi-info-l/a2-910B4x8-25.0.rc1.1-blog-atlas800IA2.txt")


def test_info_list_a3_counts_two_chips_per_npu(a3):
    out = a3.npu_smi("info", "-l").stdout
    assert re.findall(r"Chip Count\s+: (\d+)", out) == ["2"] * 8
    assert "\tTotal Count                    : 8\n" in out


def test_info_mapping_is_the_real_mapping(sim):
    sim.init("a2", "--chip-name", "910B4")
    out = sim.npu_smi("info", "-m").stdout
    assert out.expandtabs(8) == fixture("npu-smi-info-m/a2-910B4x8-25.0.rc1.1-blog-atlas800IA2.txt")


def test_info_mapping_a3_has_phy_ids_and_mcu(a3):
    lines = a3.npu_smi("info", "-m").stdout.splitlines()
    assert lines[0].split() == ["NPU", "ID", "Chip", "ID", "Chip", "Logic", "ID", "Chip", "Phy-ID", "Chip", "Name"]
    assert lines[1:4] == ["\t" + "".join(c.ljust(31) for c in row[:-1]) + row[-1] for row in (
        ["0", "0", "0", "0", "Ascend910"], ["0", "1", "1", "1", "Ascend910"], ["0", "2", "-", "-", "Mcu".ljust(30)])]
    assert len(lines) == 1 + 8 * 3


def test_board_has_the_real_keys_and_alignment(a2):
    out = a2.npu_smi("info", "-t", "board", "-i", 4).stdout
    real = fixture("npu-smi-info-board/a2-910B-IT21HMDC_Bin5-25.5.1-telegraf-fixture.txt")
    assert keys(out) == keys(real)
    assert colon_columns(out) == colon_columns(real)
    values = dict((k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in out.splitlines()))
    state = a2.state()
    assert values["NPU ID"] == "4"
    assert values["Software Version"] == state["versions"]["driver"] == "24.1.rc3"
    assert values["PCIe Bus Info"] == state["chips"][4]["bus_id"] == "0000:01:00.0"
    assert values["Chip Count"] == "1"


def test_chip_board_has_the_real_keys(a3):
    out = a3.npu_smi("info", "-t", "board", "-i", 2, "-c", 1).stdout
    real = fixture("npu-smi-info-board/910A-chip-board-c0-mindcluster-fixture.txt")
    assert keys(out) == keys(real)
    assert [line[:33] for line in out.splitlines()] == [line[:33] for line in real.splitlines()]
    assert "\tPCIe Bus Info                  : 0000:97:00.0\n" in out


def test_health_ok_is_the_real_report(a2):
    out = a2.npu_smi("info", "-t", "health", "-i", 0, "-c", 0).stdout
    assert out == fixture("npu-smi-info-health/910A-health-OK-mindcluster-fixture.txt")


def test_invalid_card_id_is_the_real_error(a2):
    proc = a2.npu_smi("info", "-t", "board", "-i", 8, check=215)
    assert proc.stdout == fixture("npu-smi-info-board/error-invalid-card-id-mindcluster-fixture.txt")
    a2.npu_smi("info", "-t", "board", "-i", 7)
    a2.npu_smi("info", "-t", "board", "-i", "x", check=215)
    a2.npu_smi("info", "-t", "board", "-i", 0, "-c", 1, check=215)  # A2: one chip per NPU


def test_a3_card_and_chip_ranges(a3):
    a3.npu_smi("info", "-t", "health", "-i", 7, "-c", 1)
    assert a3.npu_smi("info", "-t", "board", "-i", 8, check=215).stdout.startswith("Invalid card id.\n")
    assert a3.npu_smi("info", "-t", "health", "-i", 0, "-c", 2, check=215).stdout.startswith("Invalid chip id.\n")


@pytest.mark.parametrize("args, code, first_line", [
    (["info", "-x"], 215, "Error parameter of -x"),
    (["info", "-t", "nonsense", "-i", "0"], 215, "Error parameter of -t"),
    (["info", "-t"], 215, "Error parameter of -t"),
    (["info", "-l", "-i", "0"], 215, "Error parameter of -l"),
    (["info", "-t", "board", "-i", "0", "-i", "1"], 215, "Error parameter of -i"),
    (["infos"], 211, "Command or option is not found."),
    ([], 215, "Usage: npu-smi <Command|-h|-v> [Options...]"),
])
def test_npu_smi_rejects_what_the_real_tool_rejects(a2, args, code, first_line):
    proc = a2.npu_smi(*args, check=code)
    assert proc.stdout.splitlines()[0] == first_line


@pytest.mark.parametrize("args", [["info", "-t", "topo"], ["info", "watch"], ["set", "-t", "x"],
                                  ["info", "-t", "usages", "-i", "0"]])
def test_npu_smi_commands_not_simulated_fail_loudly(a2, args):
    proc = a2.npu_smi(*args, check=2)
    assert proc.stderr.startswith("ascend-sim: npu-smi ") and "not simulated" in proc.stderr


def test_npu_smi_help_and_version(a3):
    assert a3.npu_smi("-v").stdout == "npu-smi version: 24.1.rc3.7\n"
    assert a3.npu_smi("info", "-h").stdout.startswith("Usage: npu-smi info <watch|proc|-h|-m|-l|-t type>")
    assert "\tinfo          Show hardware details\n" in a3.npu_smi("--help").stdout


def test_npu_smi_without_state_is_a_node_without_driver(sim):
    proc = sim.npu_smi("info", check=187)
    assert proc.stdout == "dcmi module initialize failed. ret is -8005\n"
    assert "simstate.py init" in proc.stderr


# ---------------------------------------------------------------------------------------------
# hccn_tool: the checks of the vllm-ascend multi-node guide, as the real loops print them
# ---------------------------------------------------------------------------------------------
def test_ip_loop_is_the_real_loop(a2):
    out = a2.loop(8, "-ip", "-g")
    assert skeleton(out) == skeleton(fixture("hccn_tool/ip-g-loop-x8-910B3-deepseekv3-multinode-doc.txt"))
    assert re.findall(r"ipaddr:(\S+)", out) == ["127.10.0.%d" % (1 + d) for d in range(8)]
    assert set(re.findall(r"netmask:(\S+)", out)) == {"255.255.252.0"}


def test_device_addresses_put_each_device_index_of_every_node_in_one_subnet(sim):
    addresses = {}
    for node in (0, 1, 2):
        sim.state_file.unlink(missing_ok=True)
        sim.init("a3", node_index=node)
        addresses[node] = [dev["ip"] for dev in sim.state()["devices"]]
    net = ipaddress.ip_network(CIDR)
    assert addresses[1][0] == "127.10.0.17" and addresses[2][15] == "127.10.0.48"
    assert all(ipaddress.ip_address(a) in net for node in addresses.values() for a in node)
    assert len({a for node in addresses.values() for a in node}) == 48


@pytest.mark.parametrize("args, sample", [
    (["-link", "-g"], "hccn_tool/link-g-loop-elided-deepseekv3-multinode-doc.txt"),
    (["-net_health", "-g"], "hccn_tool/net_health-g-loop-elided-deepseekv3-multinode-doc.txt"),
    (["-netdetect", "-g"], "hccn_tool/netdetect-g-loop-elided-deepseekv3-multinode-doc.txt"),
])
def test_elided_loops_match_every_real_line(a2, args, sample):
    out = skeleton(a2.loop(8, *args)).splitlines()
    real = [line for line in skeleton(fixture(sample)).splitlines() if line != "..."]
    assert len(out) == 8
    assert set(out) == set(real)


def test_gateway_loop_is_the_real_loop(a2):
    out = a2.loop(8, "-gateway", "-g")
    assert skeleton(out) == skeleton(fixture("hccn_tool/gateway-g-loop-x8-910B3-deepseekv3-multinode-doc.txt"))


def test_tls_switch_lines_are_the_real_lines(a2):
    out = a2.loop(8, "-tls", "-g")
    switch = "".join(line for line in out.splitlines(True) if "switch" in line)
    assert switch == fixture("hccn_tool/tls-g-grep-switch-loop-x8-910B3-deepseekv3-multinode-doc.txt")
    assert out.count("\n") == 8 * 13  # the switch line and three certificate blocks per device


def test_tls_set_is_the_real_set_and_persists(a2):
    a2.simstate("install", "--root", a2.root)
    a2.simstate("set-tls", 5, 1)
    assert "tls switch[1]" in a2.hccn("-i", 5, "-tls", "-g").stdout
    assert "tls_enable_5=1\n" in (a2.root / "etc/hccn.conf").read_text()
    out = "".join(a2.hccn("-i", d, "-tls", "-s", "enable", 0).stdout for d in (4, 5, 6))
    assert out == "Cmd executed successfully!\n" * 3
    assert set(fixture("hccn_tool/tls-s-enable0-loop-elided-deepseekv3-multinode-doc.txt").splitlines()) - {"..."} \
        == set(out.splitlines())
    assert "tls switch[0]" in a2.hccn("-i", 5, "-tls", "-g").stdout
    assert "tls_enable_5=0\n" in (a2.root / "etc/hccn.conf").read_text()
    proc = a2.hccn("-i", 5, "-tls", "-s", "enable", 2, check=1)
    assert proc.stderr == "Get invalid enable value!\n"
    assert proc.stdout.startswith("[ hccn_tool -i devid -tls ] needs the following parameters:\n")


def test_lldp_is_the_real_block(a2):
    out = a2.loop(8, "-lldp", "-g")
    ifnames = "".join(line for line in out.splitlines(True) if "Ifname" in line)
    assert skeleton(ifnames) == skeleton(fixture("hccn_tool/lldp-grep-ifname-loop-x8-910B3-deepseekv3-multinode-doc.txt"))
    assert re.findall(r"Ifname: (\S+)", ifnames) == ["100GE1/0/%d" % (d + 1) for d in range(8)]
    one = a2.hccn("-i", 3, "-lldp", "-g").stdout
    real = fixture("hccn_tool/lldp-g-910B1-arthurchiao-blog.txt")
    tlvs = [line for line in real.splitlines() if line.endswith(" TLV")]
    assert [line for line in one.splitlines() if line.endswith(" TLV")] == tlvs
    # The blog pasted TABs as 8 spaces (its grep'ed twin above kept the TAB).
    assert [line for line in one.expandtabs(8).splitlines() if line.startswith(" ")] and \
        all(line.startswith("\t") for line in one.splitlines() if line[:1].isspace())


def test_ping_is_a_real_ping_in_the_real_format(a2):
    out = a2.hccn("-i", 3, "-ping", "-g", "address", "127.10.0.7").stdout
    assert skeleton(out) == skeleton(fixture("hccn_tool/ping-g-success-910B1-arthurchiao-blog.txt"))
    assert out.startswith("device 3 PING 127.10.0.7\n")
    out = a2.hccn("-i", 0, "-ping", "-g", "address", "127.10.0.2", "pkt", 1000).stdout
    assert out.endswith("3 packets transmitted, 3 received, 0.00% packet loss\n")


def test_ping_to_an_address_nobody_has_fails_for_real(a2):
    # 192.0.2.0/24 is TEST-NET-1: nothing answers it. The fake does not know the address; only
    # the real ping can tell it gets no reply.
    proc = a2.hccn("-i", 0, "-ping", "-g", "address", "192.0.2.1", check=1)
    assert proc.stdout == ("device 0 PING 192.0.2.1\nrecv time out seq=0\nrecv time out seq=1\n"
                           "recv time out seq=2\n3 packets transmitted, 0 received, 100.00% packet loss\n")
    assert proc.stderr == "Cmd execute failed!\n"


def test_ping_binary_is_installed():
    assert shutil.which("ping"), "hccn_tool -ping needs ping: apt-get install iputils-ping"


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------
def test_link_down_is_seen_everywhere_and_recovers(a2):
    a2.simstate("set-link", 3, "down")
    assert a2.hccn("-i", 3, "-link", "-g").stdout == "link status: DOWN\n"
    assert a2.hccn("-i", 2, "-link", "-g").stdout == "link status: UP\n"
    from_down = a2.hccn("-i", 3, "-ping", "-g", "address", "127.10.0.1", check=1)
    assert "3 packets transmitted, 0 received, 100.00% packet loss" in from_down.stdout
    to_down = a2.hccn("-i", 0, "-ping", "-g", "address", "127.10.0.4", check=1)
    assert "0 received" in to_down.stdout
    assert a2.hccn("-i", 3, "-lldp", "-g", check=1).stderr == "Execute failed: Link status is down.\n"
    assert a2.hccn("-i", 3, "-ip", "-g").stdout == "ipaddr:127.10.0.4\nnetmask:255.255.252.0\n"
    a2.simstate("set-link", 3, "up")
    assert a2.hccn("-i", 3, "-link", "-g").stdout == "link status: UP\n"
    a2.hccn("-i", 0, "-ping", "-g", "address", "127.10.0.4")


def test_health_critical_shows_in_the_table(a2):
    a2.simstate("set-health", 2, "Critical")
    lines = a2.npu_smi("info").stdout.splitlines()
    row = lines[6 + 2 * 3]
    assert row == "| 2     910B3               | Critical      | %-12s%-18s0    / 0             |" % (
        a2.state()["chips"][2]["power"], a2.state()["chips"][2]["temp"])
    assert {len(line) for line in lines} == {98}
    health = a2.npu_smi("info", "-t", "health", "-i", 2, "-c", 0).stdout
    assert health.startswith("\tHealth Status                  : Critical\n")
    assert "\tError Code                     : 8C084E00\n" in health


def test_clear_ip_prints_the_real_error(a2):
    a2.simstate("install", "--root", a2.root)
    a2.simstate("clear-ip", 1)
    proc = a2.hccn("-i", 1, "-ip", "-g", check=1)
    assert proc.stdout == ""
    assert proc.stderr == fixture("hccn_tool/ip-g-error-no-ip-doc-quoted.txt")
    assert a2.hccn("-i", 1, "-gateway", "-g", check=1).stderr == \
        "Get gateway failed, because no gateway was preset there!\n"
    assert "0 received" in a2.hccn("-i", 1, "-ping", "-g", "address", "127.10.0.1", check=1).stdout
    conf = (a2.root / "etc/hccn.conf").read_text()
    assert "address_1=" not in conf and "netdetect_1=127.10.3.254\n" in conf and "address_2=" in conf
    a2.simstate("set-ip", 1)
    assert a2.hccn("-i", 1, "-ip", "-g").stdout == "ipaddr:127.10.0.2\nnetmask:255.255.252.0\n"
    assert "address_1=127.10.0.2\nnetmask_1=255.255.252.0\n" in (a2.root / "etc/hccn.conf").read_text()


def test_clear_ip_keep_conf_leaves_hccn_conf_alone(a2):
    a2.simstate("install", "--root", a2.root)
    before = (a2.root / "etc/hccn.conf").read_text()
    a2.simstate("clear-ip", 6, "--keep-conf")
    a2.hccn("-i", 6, "-ip", "-g", check=1)
    assert (a2.root / "etc/hccn.conf").read_text() == before


@pytest.mark.parametrize("value", ["Receive timeout", "Init", "Socket fail", "Fault"])
def test_net_health_reflects_state(a3, value):
    a3.simstate("set-net-health", 9, value)
    assert a3.hccn("-i", 9, "-net_health", "-g").stdout == "net health status: %s\n" % value
    assert a3.hccn("-i", 8, "-net_health", "-g").stdout == "net health status: Success\n"


def test_hbm_and_processes_show_in_the_table(a3):
    a3.simstate("set-hbm", 5, 61234)
    a3.simstate("add-process", "--npu", 2, "--chip", 1, "--pid", 4242, "--name", "VLLMWorker_TP", "--mem", 58000)
    out = a3.npu_smi("info").stdout
    assert "| 1     5                   | 0000:97:00.0  | 0           0    / 0          61234/ 65536         |" in out
    assert "| 2       1                 | 4242          | VLLMWorker_TP            | 58000                   |" in out
    assert "No running processes found in NPU 2" not in out
    a3.simstate("del-process", "--pid", 4242)
    assert "No running processes found in NPU 2" in a3.npu_smi("info").stdout


@pytest.mark.parametrize("args, stderr", [
    (["-i", "8", "-link", "-g"], "Get invalid device id.\n"),
    (["-i", "99", "-link", "-g"], "Get invalid device id.\n"),
    (["-i", "007", "-link", "-g"], "Get invalid device id.\n"),
    (["-i", "a", "-link", "-g"], "Get invalid device id.\n"),
    (["-i", "0", "-linkx", "-g"], "Get invalid major cmd.\nEnter [ hccn_tool -h ] for more details.\n"),
    (["-i", "0"], "Get invalid major cmd.\nEnter [ hccn_tool -h ] for more details.\n"),
    (["-x", "0", "-link", "-g"],
     'Get invalid major cmd type. The valid major cmd type should be "-a" or "-i".\n'
     "Enter [ hccn_tool -h ] for more details.\n"),
    ([], "Get invalid major cmd number. Please check your input.\nEnter [ hccn_tool -h ] for more details.\n"),
    (["-i", "0", "-link", "-x"], "Get unknown option!\n"),
    (["-i", "0", "-link"], "The total count of input parameters is wrong!\n"),
    (["-i", "0", "-link", "-g", "extra"], "The total count of input parameters is wrong!\n"),
    (["-i", "0", "-ping", "-g", "address"], "The total count of input parameters is wrong!\n"),
    (["-i", "0", "-ping", "-g", "adress", "127.10.0.2"], "Get unknown option!\n"),
    (["-i", "0", "-ping", "-g", "address", "127.10.0.256"], "The ip address you configured is invalid!\n"),
])
def test_hccn_tool_rejects_what_the_real_tool_rejects(a2, args, stderr):
    proc = a2.hccn(*args, check=1)
    assert proc.stderr == stderr


def test_hccn_tool_device_range_follows_the_product(a3):
    a3.hccn("-i", 15, "-link", "-g")
    assert a3.hccn("-i", 16, "-link", "-g", check=1).stderr == "Get invalid device id.\n"


@pytest.mark.parametrize("args", [
    ["-i", "0", "-vnic", "-g"],
    ["-i", "0", "-ip", "-s", "address", "1.1.1.1", "netmask", "255.0.0.0"],
    ["-i", "0", "-link", "-s", "down"],
    ["-a", "-cfg", "recovery"],
])
def test_hccn_tool_commands_not_simulated_fail_loudly(a2, args):
    proc = a2.hccn(*args, check=2)
    assert proc.stderr.startswith("ascend-sim: hccn_tool ") and "not simulated" in proc.stderr


# ---------------------------------------------------------------------------------------------
# simstate.py: init, install, validation
# ---------------------------------------------------------------------------------------------
def test_init_and_install_are_idempotent(sim):
    assert sim.init("a3").state()["product"] == "a3"
    assert sim.simstate("init", "--product", "a3", "--hostname", "node0", "--node-index", 0,
                        "--npu-cidr", CIDR) == "ascend-sim: init unchanged\n"
    first = sim.simstate("install", "--root", sim.root)
    assert first.endswith("ascend-sim: install changed\n")
    assert sim.simstate("install", "--root", sim.root) == "ascend-sim: install unchanged\n"


def test_install_lays_out_driver_cann_and_the_fakes(a2):
    a2.simstate("install", "--root", a2.root)
    root = a2.root
    toolkit = root / "usr/local/Ascend/ascend-toolkit"
    assert os.readlink(toolkit / "latest") == "8.2.RC1"
    assert (toolkit / "latest/aarch64-linux/ascend_toolkit_install.info").read_text() == \
        fixture("version_info/cann-toolkit-install-info-8.2.RC1-vllm-ascend-2666.txt")
    driver = (root / "usr/local/Ascend/driver/version.info").read_text()
    assert driver.startswith("Version=24.1.rc3\n")
    for sample in ("driver-version.info-24.1.rc2.2-itove-ascend.txt", "driver-version.info-23.0.7-mindcluster-fixture.txt"):
        real = [line for line in fixture("version_info/" + sample).splitlines() if not line.startswith("#")]
        assert keys(driver, "=") == keys("\n".join(real), "=")
    proto = toolkit / "8.2.RC1/opp/built-in/op_proto/lib/linux/aarch64/libopsproto_rt2.0.so"
    assert proto.is_file()
    conf = (root / "etc/hccn.conf").read_text()
    assert skeleton(conf) == skeleton(fixture("hccn_conf/hccn.conf-a2-8npu-ip-sanitized-openyuanrong-fixture.txt"))
    for path in ("usr/local/bin/npu-smi", "usr/local/lib/ascend-sim/hccn_tool"):
        assert os.access(root / path, os.X_OK)
        assert (root / path).read_text().startswith("#!/usr/bin/python3 -IS\n")
    front = root / "usr/local/Ascend/driver/tools/hccn_tool"
    assert os.access(front, os.X_OK)
    assert front.read_text().startswith("#!/bin/sh\n")
    assert 'LIB="%s/usr/local/lib/ascend-sim"' % root in front.read_text()
    assert (root / "etc/ascend_install.info").is_file()
    # A re-install keeps what a role put in place of the built-in op proto library.
    proto.write_bytes(b"custom ops build\n")
    a2.simstate("install", "--root", root)
    assert proto.read_bytes() == b"custom ops build\n"


def test_installed_fakes_run_from_their_install_paths(a3):
    a3.simstate("install", "--root", a3.root)
    info = a3.run(a3.root / "usr/local/bin/npu-smi", "info", check=0).stdout
    assert info == a3.npu_smi("info").stdout
    link = a3.run(a3.root / "usr/local/Ascend/driver/tools/hccn_tool", "-i", 15, "-link", "-g", check=0)
    assert link.stdout == "link status: UP\n"


# ---------------------------------------------------------------------------------------------
# The sh front of the installed hccn_tool: pre-rendered query answers, byte for byte the fake's
# ---------------------------------------------------------------------------------------------
FRONT_QUERIES = ["-ip", "-link", "-net_health", "-netdetect", "-gateway", "-tls", "-lldp"]
FRONT_FAULTS = [[], ["set-link", 3, "down"], ["clear-ip", 2], ["set-tls", 7, 1], ["set-net-health", 4, "Fault"],
                ["clear-ip", 5, "--keep-conf"]]


def _front(sim):
    sim.simstate("install", "--root", sim.root)
    return sim.root / "usr/local/Ascend/driver/tools/hccn_tool", sim.root / "usr/local/lib/ascend-sim/hccn_tool"


def _answers(sim):
    return Path(str(sim.state_file) + ".answers")


def _outcome(proc):
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("fault", FRONT_FAULTS, ids=lambda f: " ".join(map(str, f)) or "healthy")
def test_front_answers_every_query_as_the_python_fake_does(a3, fault):
    front, python = _front(a3)
    if fault:
        a3.simstate(*fault)
    assert not _answers(a3).exists()
    a3.run(front, "-i", 0, "-link", "-g", check=0)  # a miss: the Python fake answers and renders
    assert _answers(a3).is_symlink()
    expected = {(d, q): _outcome(a3.run(python, "-i", d, q, "-g")) for d in range(16) for q in FRONT_QUERIES}
    failing = fault[:1] in (["set-link"], ["clear-ip"])
    assert {outcome[0] for outcome in expected.values()} == ({0, 1} if failing else {0})
    # Without the Python fake, every query is still answered, so by the front alone.
    away = python.with_name("hccn_tool.away")
    python.rename(away)
    try:
        for (dev, query), outcome in expected.items():
            assert _outcome(a3.run(front, "-i", dev, query, "-g")) == outcome, (dev, query)
    finally:
        away.rename(python)


def test_front_follows_every_state_change(a3):
    front, _python = _front(a3)
    assert a3.run(front, "-i", 3, "-link", "-g", check=0).stdout == "link status: UP\n"
    first = os.readlink(_answers(a3))
    a3.simstate("set-link", 3, "down")
    assert not _answers(a3).exists(), "a state change drops the answers of the old state"
    assert a3.run(front, "-i", 3, "-link", "-g", check=0).stdout == "link status: DOWN\n"
    assert os.readlink(_answers(a3)) != first
    # A change made by hccn_tool itself (through the front) too.
    assert a3.run(front, "-i", 3, "-tls", "-s", "enable", "1", check=0).stdout == "Cmd executed successfully!\n"
    assert "tls switch[1]" in a3.run(front, "-i", 3, "-tls", "-g", check=0).stdout
    # Generations older than a minute go when a new one is rendered; the current one stays.
    old = Path(a3.state_file.parent, first)
    assert old.is_dir()
    os.utime(old, (0, 0))
    a3.simstate("set-link", 3, "up")
    assert a3.run(front, "-i", 3, "-link", "-g", check=0).stdout == "link status: UP\n"
    assert not old.exists()
    assert Path(a3.state_file.parent, os.readlink(_answers(a3))).is_dir()


@pytest.mark.parametrize("args", [
    ["-i", "03", "-link", "-g"], ["-i", 3, "-link", "-g", "x"], ["-i", 99, "-link", "-g"], ["-i", "", "-link", "-g"],
    ["-i", "3/../3", "-link", "-g"], ["-i", 3, "-link", "-s"], ["-i", 3, "-mac", "-g"], ["-i", 3, "-tls", "-g", "host"],
    ["-i", 3, "-ping", "-g", "address", "127.10.0.256"], ["-h"], [],
], ids=lambda a: " ".join(map(str, a)) or "no args")
def test_front_passes_everything_else_to_the_python_fake(a3, args):
    front, python = _front(a3)
    a3.run(front, "-i", 0, "-link", "-g", check=0)
    assert _answers(a3).is_symlink()
    assert _outcome(a3.run(front, *args)) == _outcome(a3.run(python, *args))


def _skeleton_ping(text):
    return re.sub(r"time=[0-9.]+ms", "time=Tms", text)


def test_front_pings_for_real_as_the_python_fake_does(a2):
    front, python = _front(a2)
    a2.run(front, "-i", 0, "-link", "-g", check=0)
    peer = a2.state()["devices"][5]["ip"]
    away = python.with_name("hccn_tool.away")
    cases = [(0, peer, 0), (3, "127.10.0.99", 0)]
    expected = dict(((dev, target), _outcome(a2.run(python, "-i", dev, "-ping", "-g", "address", target)))
                    for dev, target, dummy in cases)
    python.rename(away)  # the front alone
    try:
        for dev, target, code in cases:
            got = _outcome(a2.run(front, "-i", dev, "-ping", "-g", "address", target))
            want = expected[(dev, target)]
            assert got[0] == want[0] == code
            assert (_skeleton_ping(got[1]), got[2]) == (_skeleton_ping(want[1]), want[2])
            assert got[1].startswith("device %d PING %s\nrecv seq=0,time=" % (dev, target))
    finally:
        away.rename(python)


@pytest.mark.parametrize("fault,dev,target", [
    (["set-link", 3, "down"], 3, "127.10.0.2"),  # this device cannot send
    (["clear-ip", 3], 3, "127.10.0.2"),  # nor without an address
    (["set-link", 5, "down"], 0, "DEV5"),  # a device of this node that cannot answer
    (["clear-ip", 5, "--keep-conf"], 0, "CONF5"),  # ... known by its hccn.conf address only
], ids=["link-down", "no-ip", "local-peer-down", "local-peer-no-ip"])
def test_front_pings_nobody_where_the_python_fake_does_not(a2, fault, dev, target):
    front, python = _front(a2)
    devices = a2.state()["devices"]
    target = {"DEV5": devices[5]["ip"], "CONF5": devices[5]["conf"]["address"]}.get(target, target)
    a2.simstate(*fault)
    a2.run(front, "-i", 0, "-link", "-g", check=0)
    want = _outcome(a2.run(python, "-i", dev, "-ping", "-g", "address", target))
    assert want[0] == 1 and "recv time out seq=2" in want[1]
    away = python.with_name("hccn_tool.away")
    python.rename(away)
    try:
        assert _outcome(a2.run(front, "-i", dev, "-ping", "-g", "address", target)) == want
    finally:
        away.rename(python)


@pytest.mark.parametrize("text", IPV4_TEXTS)
def test_front_checks_addresses_as_the_python_fake(a2, text):
    """A device that cannot send answers without a ping: the address check alone decides."""
    front, python = _front(a2)
    a2.simstate("set-link", 0, "down")
    a2.run(front, "-i", 0, "-link", "-g", check=0)
    args = ["-i", 0, "-ping", "-g", "address", text]
    assert _outcome(a2.run(front, *args)) == _outcome(a2.run(python, *args))


def test_front_without_a_state_is_the_python_fakes_error(sim):
    sim.init("a2")
    front, python = _front(sim)
    sim.state_file.unlink()
    Path(str(sim.state_file) + ".answers").unlink(missing_ok=True)
    outcome = _outcome(sim.run(front, "-i", 0, "-link", "-g"))
    assert outcome == _outcome(sim.run(python, "-i", 0, "-link", "-g"))
    assert outcome[0] == 1 and outcome[2].startswith("Get invalid device id.\n")


# ---------------------------------------------------------------------------------------------
# Start-up cost: roles call the fakes hundreds of times per node (the real tools are C binaries)
# ---------------------------------------------------------------------------------------------
# What a fake's query must not import: each of these costs milliseconds per call (json pulls in
# re and enum), and none is needed to print a state value.
HEAVY_MODULES = {"json", "re", "enum", "subprocess", "ipaddress", "argparse", "tempfile", "shutil",
                 "hashlib", "contextlib", "site", "importlib.util", "py_compile"}
CHEAP_CALLS = [
    (HCCN_TOOL, ["-i", 3, "-link", "-g"]),
    (HCCN_TOOL, ["-i", 3, "-ip", "-g"]),
    (HCCN_TOOL, ["-i", 3, "-net_health", "-g"]),
    (HCCN_TOOL, ["-i", 3, "-netdetect", "-g"]),
    (HCCN_TOOL, ["-i", 3, "-gateway", "-g"]),
    (HCCN_TOOL, ["-i", 3, "-tls", "-g"]),
    (HCCN_TOOL, ["-i", 3, "-lldp", "-g"]),
    (HCCN_TOOL, ["-i", 99, "-link", "-g"]),
    (HCCN_TOOL, ["-i", 0, "-ping", "-g", "address", "127.10.0.2"]),  # a real ping: no subprocess, re ...
    (HCCN_TOOL, ["-i", 0, "-ping", "-g", "address", "127.10.0.256"]),
    (NPU_SMI, ["info"]),
    (NPU_SMI, ["info", "-m"]),
    (NPU_SMI, ["info", "-t", "health", "-i", 0, "-c", 0]),
]


def _shebang(program):
    """The interpreter command line of a fake (a kernel passes at most one argument)."""
    first = Path(program).read_text().split("\n", 1)[0]
    assert first.startswith("#!")
    return first[2:].split(None, 1)


def _run_as_shebang(sim, program, *args, flags=()):
    cmd = _shebang(program) + list(flags) + [str(program)] + [str(a) for a in args]
    return subprocess.run(cmd, env=sim.env, capture_output=True, text=True, timeout=60, check=False)


def _imported(stderr):
    """Module names out of ``python -X importtime`` output."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")} - {
        "package"}


@pytest.mark.parametrize("program, args", CHEAP_CALLS, ids=lambda v: v.name if isinstance(v, Path) else " ".join(map(str, v)))
def test_fake_queries_import_nothing_heavy(a3, program, args):
    plain = a3.run(program, *args)
    traced = _run_as_shebang(a3, program, *args, flags=["-X", "importtime"])
    assert (traced.returncode, skeleton(traced.stdout)) == (plain.returncode, skeleton(plain.stdout))
    imported = _imported(traced.stderr)
    assert "simstate" in imported and "os" in imported
    assert not imported & HEAVY_MODULES, sorted(imported & HEAVY_MODULES)


def test_fakes_run_isolated_without_site(a3):
    """``-IS``: no site-packages and no PYTHON* variables (CANN's set_env.sh sets PYTHONPATH)."""
    for program in (NPU_SMI, HCCN_TOOL):
        assert _shebang(program) == ["/usr/bin/python3", "-IS"]
    a3.env.update(PYTHONPATH=str(a3.dir / "nowhere"), PYTHONSTARTUP="/nonexistent", PYTHONWARNINGS="error")
    assert a3.hccn("-i", 15, "-link", "-g").stdout == "link status: UP\n"
    assert a3.npu_smi("info", "-l").stdout.startswith("\tTotal Count")


def test_installed_fakes_use_simstate_byte_code_while_it_is_current(a3):
    a3.simstate("install", "--root", a3.root)
    lib = a3.root / "usr/local/lib/ascend-sim"
    pycs = list((lib / "__pycache__").glob("simstate.*.pyc"))
    assert len(pycs) == 1
    hccn = a3.root / "usr/local/lib/ascend-sim/hccn_tool"  # the Python fake behind the sh front
    verbose = _run_as_shebang(a3, hccn, "-i", 0, "-link", "-g", flags=["-v"])
    assert verbose.stdout == "link status: UP\n"
    assert "code object from '%s'" % pycs[0] in verbose.stderr
    assert not list(lib.glob("__pycache__/*.pyc.*")), "the fakes never write byte code"
    # A changed simstate.py (cluster.py copies the new fakes into the lib dir) is never run from
    # the old byte code; its own install (as cluster.py runs it) brings the pyc up to date.
    source = lib / "simstate.py"
    source.write_text(source.read_text().replace("SCHEMA = 1\n", "SCHEMA = 1  # edited\n", 1))
    verbose = _run_as_shebang(a3, hccn, "-i", 0, "-link", "-g", flags=["-v"])
    assert verbose.stdout == "link status: UP\n"
    assert "code object from '%s'" % pycs[0] not in verbose.stderr
    # (as cluster.py does: every fake, the raw hccn_tool among them, whose SIM_LIB install points
    # at this test's lib dir again)
    for fake in (NPU_SMI, HCCN_TOOL, HCCN_FRONT):
        shutil.copy(fake, lib / fake.name)
    again = a3.run(source, "install", "--root", a3.root, check=0).stdout
    assert again == "ascend-sim: installed /usr/local/lib/ascend-sim/hccn_tool\n" \
                    "ascend-sim: installed /usr/local/lib/ascend-sim/__pycache__/%s\n" \
                    "ascend-sim: install changed\n" % pycs[0].name
    assert a3.run(source, "install", "--root", a3.root, check=0).stdout == "ascend-sim: install unchanged\n"
    verbose = _run_as_shebang(a3, hccn, "-i", 0, "-link", "-g", flags=["-v"])
    assert "code object from '%s'" % pycs[0] in verbose.stderr


def _load_module(name, path):
    import importlib.machinery  # pylint: disable=import-outside-toplevel
    import importlib.util  # pylint: disable=import-outside-toplevel
    loader = importlib.machinery.SourceFileLoader(name, str(path))  # hccn_tool has no .py
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _load_simstate_module():
    return _load_module("simstate_under_test", SIMSTATE)


@pytest.mark.parametrize("text", IPV4_TEXTS)
def test_ipv4_check_is_ipaddress(text):
    """hccn_tool -ping checks its address as ipaddress.IPv4Address does (without importing it)."""
    try:
        ipaddress.IPv4Address(text)
        valid = True
    except ValueError:
        valid = False
    assert _load_module("hccn_tool_under_test", HCCN_TOOL).is_ipv4(text) is valid


PING_OUTPUTS = [
    "PING 127.10.0.2 (127.10.0.2) from 127.10.0.1 : 56(84) bytes of data.\n"
    "64 bytes from 127.10.0.2: icmp_seq=1 ttl=64 time=0.055 ms\n"
    "64 bytes from 127.10.0.2: icmp_seq=2 ttl=64 time=0.043 ms\n"
    "64 bytes from 127.10.0.2: icmp_seq=3 ttl=64 time=123 ms\n\n"
    "--- 127.10.0.2 ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 401ms\n",
    "64 bytes from 10.0.0.2: icmp_seq=2 ttl=63 time=1.20 ms (DUP!)\n"
    "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable\n"
    "64 bytes from 10.0.0.2: icmp_seq=4 ttl=63 time=0.5 ms\n",
    "1008 bytes from 127.10.0.2: icmp_seq=3 ttl=64 time=0.1 ms\nicmp_seq=x ttl=1 time=1 ms\n"
    "icmp_seq=1 ttl=1 time=2 mss\n",
    "",
]


PING_OUTPUTS_FRONT = PING_OUTPUTS + [
    "64 bytes from 1.2.3.4: icmp_seq=1 ttl=64 time=.5 ms\n64 bytes from 1.2.3.4: icmp_seq=2 ttl=64 time=7. ms\n"
    "64 bytes from 1.2.3.4: icmp_seq=0003 ttl=64 time=0.0555555555555 ms trailing\n",
    "icmp_seq=1 ttl=64 time=1 ms icmp_seq=2 ttl=64 time=2 ms icmp_seq=3 ttl=6 time=3 msx\n",
    "icmp_seq=1  ttl=64 time=1 ms\nicmp_seq=2 ttl=64 time=2ms\nicmp_seq=3 ttl=64 time= ms\n",
]


@pytest.mark.parametrize("out", PING_OUTPUTS_FRONT)
@pytest.mark.parametrize("status", [0, 1, 2, 137])
def test_front_renders_ping_output_as_the_python_fake(out, status):
    """hccn_ping.awk (the front's ping path) prints what ping_times() + render_ping() print."""
    fake = _load_module("hccn_tool_under_test", HCCN_TOOL)
    times = [None] * 3 if status == 137 else fake.ping_times(out)
    try:
        expected = (0, fake.render_ping(3, "1.2.3.4", times), "")
    except fake.Exit as exc:
        expected = (exc.code, exc.out, exc.err)
    proc = subprocess.run(["awk", "-v", "dev=3", "-v", "target=1.2.3.4", "-f", str(HCCN_PING_AWK)],
                          input=out + "ascend-sim-exit %d\n" % status, capture_output=True, text=True, check=False)
    assert _outcome(proc) == expected


@pytest.mark.parametrize("text", [
    "icmp_seq=1 ttl=64 time=1.2.3 ms\nascend-sim-exit 0\n",  # float() would raise: the Python fake decides
    "64 bytes from 1.2.3.4: icmp_seq=1 ttl=64 time=1 ms\r\nascend-sim-exit 0\n",  # splitlines() splits at \r
    "64 bytes: icmp_seq=\u0661 ttl=64 time=1 ms\nascend-sim-exit 0\n",  # isdecimal() takes Arabic-Indic digits
    "64 bytes from 1.2.3.4: icmp_seq=1 ttl=64 time=1 ms\n",  # no exit line
    "ascend-sim-exit 127\n",  # ping could not run
], ids=["bad-float", "cr", "unicode-digit", "no-exit", "not-run"])
def test_front_leaves_odd_ping_output_to_the_python_fake(text):
    proc = subprocess.run(["awk", "-v", "dev=3", "-v", "target=1.2.3.4", "-f", str(HCCN_PING_AWK)],
                          input=text, capture_output=True, text=True, check=False)
    assert _outcome(proc) == (99, "", "")


@pytest.mark.parametrize("out", PING_OUTPUTS)
def test_ping_reply_reading_is_the_regex(out):
    """What hccn_tool reads out of ping's output without re is what the regex read."""
    expected = [None] * 3
    for match in re.finditer(r"icmp_seq=(\d+) ttl=\d+ time=([\d.]+) ms", out):
        if 0 <= int(match.group(1)) - 1 < 3:
            expected[int(match.group(1)) - 1] = float(match.group(2))
    assert _load_module("hccn_tool_under_test", HCCN_TOOL).ping_times(out) == expected


@pytest.mark.parametrize("text", [
    '{"schema": 1}', ' \n\t{"a": [1, 2.5, -3e2, true, false, null, "x\\u00e9\\n", {}]}\r\n ', '[]', '"s"', '0',
    '{"a": NaN, "b": Infinity, "c": -Infinity}', '{"a": 1, "a": 2}', '{"\u00e9": "\u4e2d"}',
    '', '   ', '{', '{} x', '{}{}', '\ufeff{}', '[1,]', 'nul', '"a\tb"', '{"a" 1}', '1e', "{'a': 1}",
    '[' * 5000 + ']' * 5000,
])
def test_state_parser_is_json_loads(text):
    """simstate.parse_json (no json import on the fakes' path) returns or raises what json.loads does."""
    parse_json = _load_simstate_module().parse_json

    def outcome(func):
        try:
            return "value", json.dumps(func(text), allow_nan=True)
        except (ValueError, RecursionError) as exc:
            return type(exc).__name__, str(exc)
    assert outcome(parse_json) == outcome(json.loads)


def test_state_parser_reads_every_state_as_json_does(a3):
    a3.simstate("add-process", "--npu", 1, "--pid", 42, "--name", "vllm\u00e9", "--mem", 100)
    text = a3.state_file.read_text()
    assert _load_simstate_module().parse_json(text) == json.loads(text)
    a3.state_file.write_text(text[:-10])
    proc = a3.hccn("-i", 0, "-link", "-g", check=1)
    assert proc.stderr.startswith("Get invalid device id.\nascend-sim: state file %s is not JSON: " % a3.state_file)


def test_fakes_import_only_the_standard_library():
    for path in (SIMSTATE, NPU_SMI, HCCN_TOOL):
        tree = ast.parse(path.read_text())
        names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
        names |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert names - {"simstate"} <= set(sys.stdlib_module_names), (path, names)


@pytest.mark.parametrize("args", [
    ["--product", "a2", "--chips", "9"],
    ["--product", "a3", "--chips", "15"],
    ["--product", "a2", "--chip-name", "Ascend910"],
    ["--product", "a3", "--npu-cidr", "10.0.0.0/30"],
    ["--product", "a2", "--npu-cidr", "10.0.0.1/22"],
])
def test_init_refuses_impossible_nodes(sim, args):
    base = {"--hostname": "n", "--node-index": "0", "--npu-cidr": CIDR}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    proc = sim.run(SIMSTATE, "init", *[x for kv in base.items() for x in kv], check=2)
    assert proc.stderr.startswith("simstate.py: ")


@pytest.mark.parametrize("args", [["set-link", "8", "down"], ["set-health", "0", "Broken"], ["set-tls", "0", "2"],
                                  ["set-hbm", "0", "70000"], ["set-chip", "0", "colour=red"],
                                  ["add-process", "--npu", "8", "--pid", "1", "--mem", "1"],
                                  ["set-ip", "0", "10.99.0.1"]])
def test_fault_commands_refuse_what_cannot_be(a2, args):
    assert a2.run(SIMSTATE, *args).returncode == 2


def test_sync_net_against_a_kernel_like_ip(sim, tmp_path):
    """Link faults move the device addresses on the NPU interface.

    A stand-in ``ip`` keeps the interface's addresses in a file and, like the kernel, deletes the
    secondaries of a subnet with its primary (the containers cannot set promote_secondaries).
    """
    bindir = tmp_path / "bin"
    bindir.mkdir()
    addrs = tmp_path / "addrs.json"
    addrs.write_text("[]")
    (bindir / "ip").write_text(IP_STANDIN.format(python=sys.executable, addrs=addrs))
    (bindir / "ip").chmod(0o755)
    sim.env["PATH"] = "%s:%s" % (bindir, sim.env["PATH"])
    del sim.env["ASCEND_SIM_NO_NET"]
    sim.init("a2")
    sim.simstate("install", "--root", sim.root, "--npu-if", "eth2")
    wanted = ["127.10.0.%d/22" % (1 + d) for d in range(8)]
    assert json.loads(addrs.read_text()) == wanted
    sim.simstate("set-link", 0, "down")  # device 0 holds the primary address
    assert sorted(json.loads(addrs.read_text())) == sorted(wanted[1:])
    sim.simstate("clear-ip", 5)
    assert sorted(json.loads(addrs.read_text())) == sorted(wanted[1:5] + wanted[6:])
    sim.simstate("set-link", 0, "up")
    sim.simstate("set-ip", 5)
    assert sorted(json.loads(addrs.read_text())) == sorted(wanted)
    assert sim.simstate("install", "--root", sim.root) == "ascend-sim: install unchanged\n"


IP_STANDIN = '''#!{python}
import json, sys
path = "{addrs}"
addrs = json.load(open(path))
args = sys.argv[1:]
if args[:4] == ["-o", "-4", "addr", "show"] and args[4:5] == ["dev"] and args[5] == "eth2":
    for a in addrs:
        print("5: eth2    inet %s brd 127.10.3.255 scope global eth2" % a)
elif args[:2] == ["addr", "add"] and args[3:] == ["dev", "eth2"]:
    if args[2] in addrs:
        sys.exit("RTNETLINK answers: File exists")
    addrs.append(args[2])
elif args[:2] == ["addr", "del"] and args[3:] == ["dev", "eth2"]:
    if args[2] not in addrs:
        sys.exit("RTNETLINK answers: Cannot assign requested address")
    primary = addrs.index(args[2]) == 0
    addrs = [] if primary else [a for a in addrs if a != args[2]]
else:
    sys.exit("ip stand-in: unexpected %r" % args)
json.dump(addrs, open(path, "w"))
'''


# ---------------------------------------------------------------------------------------------
# The collection's own parsers read the fakes as they read the real tools
# ---------------------------------------------------------------------------------------------


def _shape(value):
    """Keys (recursively) and value types, not values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


@pytest.mark.parametrize("product, sample", [
    ("a2", "npu-smi-info/a2-910B3x8-25.2.0-1proc-vllm-ascend-6271.txt"),
    ("a3", "npu-smi-info/a3-ascend910-24.1.rc3.7-procs-truncated-name-vllm-ascend-2523.txt"),
])
def test_parse_info_reads_fake_and_real_alike(sim, product, sample):
    sim.init(product)
    sim.simstate("add-process", "--npu", 0, "--pid", 1234, "--name", "python", "--mem", 117)
    fake = npu_parser.parse_info(sim.npu_smi("info").stdout)
    real = npu_parser.parse_info(fixture(sample))
    assert fake["product"] == real["product"] == product
    assert fake["chip_count"] == real["chip_count"] == {"a2": 8, "a3": 16}[product]
    assert fake["npu_count"] == real["npu_count"] == 8
    assert _shape(fake) == _shape(real)
    assert fake["healthy"] is True
    assert fake["version"] == sim.state()["versions"]["npu_smi"]
    assert [(c["npu_id"], c["chip_id"], c["phy_id"], c["bus_id"]) for c in fake["chips"]] == \
        [(c["npu_id"], c["chip_id"], c["phy_id"], c["bus_id"]) for c in real["chips"]]
    sim.simstate("set-health", 3, "Critical")
    faulty = npu_parser.parse_info(sim.npu_smi("info").stdout)
    assert faulty["healthy"] is False and faulty["chips"][3]["health"] == "Critical"


def test_parse_list_mapping_board_health_read_fake_and_real_alike(sim):
    sim.init("a2", "--chip-name", "910B4")
    pairs = [
        (npu_parser.parse_info_list, ["info", "-l"], "npu-smi-info-l/a2-910B4x8-25.0.rc1.1-blog-atlas800IA2.txt"),
        (npu_parser.parse_info_mapping, ["info", "-m"], "npu-smi-info-m/a2-910B4x8-25.0.rc1.1-blog-atlas800IA2.txt"),
        (npu_parser.parse_board, ["info", "-t", "board", "-i", "0"],
         "npu-smi-info-board/a2-910B-IT21HMDC_Bin5-25.5.1-telegraf-fixture.txt"),
        (npu_parser.parse_board, ["info", "-t", "board", "-i", "0", "-c", "0"],
         "npu-smi-info-board/910A-chip-board-c0-mindcluster-fixture.txt"),
        (npu_parser.parse_health, ["info", "-t", "health", "-i", "0", "-c", "0"],
         "npu-smi-info-health/910A-health-OK-mindcluster-fixture.txt"),
    ]
    for parse, args, sample in pairs:
        fake, real = parse(sim.npu_smi(*args).stdout), parse(fixture(sample))
        assert _shape(fake) == _shape(real), args
        if isinstance(fake, dict) and "total_count" in fake:
            assert fake == real
        if isinstance(fake, list):
            assert fake == real  # -m of the same 8 x 910B4 node
    sim.simstate("set-health", 0, "Alarm")
    fake = npu_parser.parse_health(sim.npu_smi("info", "-t", "health", "-i", 0, "-c", 0).stdout)
    real = npu_parser.parse_health(fixture("npu-smi-info-health/910A-health-ALARM-multiline-mindcluster-fixture.txt"))
    assert fake["health"] == real["health"] == "Alarm"
    assert _shape(fake) == _shape(real)


def _one_device(text, per_device):
    return "".join(text.splitlines(True)[:per_device])


@pytest.mark.parametrize("check, sample, per_device", [
    ("ip", "hccn_tool/ip-g-loop-x8-910B3-deepseekv3-multinode-doc.txt", 2),
    ("link", "hccn_tool/link-g-loop-elided-deepseekv3-multinode-doc.txt", 1),
    ("net_health", "hccn_tool/net_health-g-loop-elided-deepseekv3-multinode-doc.txt", 1),
    ("netdetect", "hccn_tool/netdetect-g-loop-elided-deepseekv3-multinode-doc.txt", 1),
    ("gateway", "hccn_tool/gateway-g-loop-x8-910B3-deepseekv3-multinode-doc.txt", 1),
    ("tls", "hccn_tool/tls-g-grep-switch-loop-x8-910B3-deepseekv3-multinode-doc.txt", 1),
    ("lldp", "hccn_tool/lldp-g-910B1-arthurchiao-blog.txt", None),
])
def test_hccn_parsers_read_fake_and_real_alike(a2, check, sample, per_device):
    args = hccn_parser.command_args(0, check)
    fake = hccn_parser.parse_check(check, a2.hccn(*args).stdout)
    real_text = fixture(sample)
    real = hccn_parser.parse_check(check, _one_device(real_text, per_device) if per_device else real_text)
    assert _shape(fake) == _shape(real)
    assert fake["errors"] == real["errors"] == [] or check == "lldp"
    assert all(value is not None for key, value in fake.items() if key != "errors"), fake


def test_hccn_parsers_see_the_faults(a2):
    a2.simstate("set-link", 2, "down")
    a2.simstate("clear-ip", 4)
    a2.simstate("set-tls", 6, 1)
    assert hccn_parser.parse_link(a2.hccn("-i", 2, "-link", "-g").stdout)["link"] == "DOWN"
    no_ip = a2.hccn("-i", 4, "-ip", "-g", check=1)
    # The real tool prints its errors on stderr: a caller must read both streams.
    parsed = hccn_parser.parse_ip(no_ip.stdout + no_ip.stderr)
    assert parsed["ip"] is None and parsed["errors"] == ["Get ipconf failed, because no ip was preset there!"]
    assert hccn_parser.parse_tls(a2.hccn("-i", 6, "-tls", "-g").stdout)["tls_switch"] == 1
    ping = hccn_parser.parse_ping(a2.hccn("-i", 0, "-ping", "-g", "address", "127.10.0.3", check=1).stdout)
    assert ping["ok"] is False and ping["received"] == 0 and ping["transmitted"] == 3
    good = hccn_parser.parse_ping(a2.hccn("-i", 0, "-ping", "-g", "address", "127.10.0.2").stdout)
    real = hccn_parser.parse_ping(fixture("hccn_tool/ping-g-success-910B1-arthurchiao-blog.txt"))
    assert good["ok"] is real["ok"] is True and _shape(good) == _shape(real)


def test_hccn_conf_parser_reads_fake_and_real_alike(a2):
    a2.simstate("install", "--root", a2.root)
    fake = hccn_parser.parse_hccn_conf((a2.root / "etc/hccn.conf").read_text())
    real = hccn_parser.parse_hccn_conf(fixture("hccn_conf/hccn.conf-a2-8npu-ip-sanitized-openyuanrong-fixture.txt"))
    assert sorted(fake) == sorted(real) == list(range(8))
    assert {d: sorted(v) for d, v in fake.items()} == {d: sorted(v) for d, v in real.items()}
