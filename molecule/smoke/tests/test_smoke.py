"""Smoke checks on the simulated nodes, through podman:// testinfra hosts."""
import pytest
import testinfra

NODES = ["node0", "node1"]
CLUSTER = "mol-smoke"


@pytest.fixture(params=NODES)
def host(request):
    return testinfra.get_host("podman://ascsim-%s-%s" % (CLUSTER, request.param))


def test_systemd_booted(host):
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded")


def test_sshd_running(host):
    assert host.service("ssh").is_running


def test_marker_written_by_converge(host):
    f = host.file("/etc/ascend-sim/smoke-marker")
    assert f.exists
    assert f.content_string.strip() == host.check_output("hostname")


def test_interfaces_named(host):
    names = set(host.interface.names())
    assert {"eth0", "eth1", "eth2"} <= names


def test_data_network_is_internal(host):
    # The data network has no default route out; only the management network does.
    routes = host.check_output("ip route show default")
    assert "eth1" not in routes
