# -*- coding: utf-8 -*-
"""comm_check's TCP probe plan: no temporary listener on node0 while the vLLM unit is active or
starting, only the listening ports probed then, and the report saying which were not."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.filter.comm_check import FilterModule

FILTERS = FilterModule().filters()
PORTS = [{"name": "dp_rpc", "port": "13389"}, {"name": "api", "port": 8000}]
UNIT = "ascend-vllm.service"
# ss -Hltnp: vLLM already holds the RPC port, the API port is not bound yet (weights loading).
RPC_HELD = 'LISTEN 0 128 10.0.0.1:13389 0.0.0.0:* users:(("vllm",pid=42,fd=7))'


def plan(state, ss=""):
    return FILTERS["comm_check_node0_ports"]("unit=%s\n%s" % (state, ss), PORTS, UNIT)


@pytest.mark.parametrize("state", ["inactive", "failed"])
def test_stopped_unit_gets_a_listener_on_every_free_port(state):
    out = plan(state)
    assert out["service"] == state and out["unit"] == UNIT
    assert out["listener"] == [13389, 8000] and out["probe"] == [13389, 8000] and out["not_probed"] == []
    assert [p["owner"] for p in out["ports"]] == [None, None]


@pytest.mark.parametrize("state", ["active", "activating", "reloading", "deactivating", ""])
def test_running_or_starting_unit_gets_no_listener(state):
    out = plan(state, RPC_HELD)
    assert out["listener"] == []
    assert out["probe"] == [13389]  # the port vLLM already listens on
    assert out["not_probed"] == [{"name": "api", "port": 8000}]
    assert out["service"] == (state or "unknown")


def test_running_unit_with_every_port_listening_probes_them_all():
    api = 'LISTEN 0 128 0.0.0.0:8000 0.0.0.0:* users:(("vllm",pid=42,fd=9))'
    out = plan("active", RPC_HELD + "\n" + api)
    assert out["listener"] == [] and out["probe"] == [13389, 8000] and out["not_probed"] == []


def test_a_foreign_listener_is_probed_and_never_doubled():
    other = 'LISTEN 0 5 0.0.0.0:8000 0.0.0.0:* users:(("nginx",pid=7,fd=3))'
    out = plan("inactive", other)
    assert out["listener"] == [13389] and out["probe"] == [13389, 8000]
    assert out["ports"][1]["owner"] == "nginx" and out["ports"][1]["free"] is False


def test_output_without_the_unit_line_is_an_error():
    with pytest.raises(AnsibleFilterError, match="comm_check_node0_ports: expected \"unit=<state of ascend-vllm.service>\""):
        FILTERS["comm_check_node0_ports"](RPC_HELD, PORTS, UNIT)


def test_headless_nodes_probe_only_node0s_probe_ports():
    node0 = plan("activating", RPC_HELD)
    assert FILTERS["comm_check_probe_ports"](PORTS, node0) == [{"name": "dp_rpc", "port": "13389"}]
    assert FILTERS["comm_check_probe_ports"](PORTS, plan("activating")) == []
    # node0 not in the play: every port, as before.
    assert FILTERS["comm_check_probe_ports"](PORTS, None) == PORTS


def _observations(node0_probe):
    hostvars = {
        "node0": {"ascend_topology": {"hosts": {"node0": {"role": "node0"}, "node1": {"role": "headless"}}},
                  "__comm_check_node0": node0_probe, "__comm_check_port_states": node0_probe["ports"]},
        "node1": {"ascend_topology": {"hosts": {"node0": {"role": "node0"}, "node1": {"role": "headless"}}},
                  "__comm_check_tcp_results": FILTERS["comm_check_tcp_results"](
                      [{"port": 13389, "ok": True, "error": None}], [PORTS[0]], "10.0.0.1")},
    }
    return FILTERS["comm_check_observations"](["node0", "node1"], hostvars)


def test_report_and_markdown_say_which_ports_were_not_probed_and_why():
    report = FILTERS["comm_check_report"](_observations(plan("activating", RPC_HELD)))
    assert report["ok"] is True  # not probed is no finding
    assert report["notes"] == [
        "node0: ascend-vllm.service is activating, so no temporary listener was opened (it could take a port "
        "vLLM is about to bind): port 8000 (api) without a listener, not probed from the headless nodes. Run "
        "verify_comm again once vLLM listens on them, or while the service is stopped."]
    markdown = FILTERS["comm_check_markdown"](report)
    assert markdown.endswith("## Notes\n\n- %s\n" % report["notes"][0])
    assert "probe" not in report["nodes"]["node0"]


def test_report_of_a_stopped_unit_has_no_notes():
    report = FILTERS["comm_check_report"](_observations(plan("inactive")))
    assert report["notes"] == []
    assert "## Notes" not in FILTERS["comm_check_markdown"](report)
