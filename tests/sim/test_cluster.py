"""cluster.py's host-side sizing: the kernel's neighbour table must hold every peer address.

A 16-node A3 ping pass needs ~3840 ARP entries; the kernel's default hard limit is 1024 for the
whole machine (every container's namespace shares it), and past it pings fail for no node fault.
"""
import importlib.util
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _load_cluster():
    spec = importlib.util.spec_from_file_location("sim_cluster", HERE / "cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cluster = _load_cluster()
DEFAULTS = (128, 512, 1024)


@pytest.mark.parametrize("nodes,product,entries", [
    (2, "a3", 2 * 1 * 16 + 2 * 6),
    (16, "a3", 16 * 15 * 16 + 16 * 34),
    (4, "a2", 4 * 3 * 8 + 4 * 10),
])
def test_neighbour_entries_count_every_peer_address(nodes, product, entries):
    assert cluster.neighbour_entries(nodes, product) == entries


@pytest.mark.parametrize("nodes", [1, 2, 4])
def test_small_clusters_leave_the_defaults_alone(nodes):
    assert cluster.neighbour_thresholds(DEFAULTS, cluster.neighbour_entries(nodes, "a3")) is None


def test_big_clusters_get_room_and_nothing_is_lowered():
    entries = cluster.neighbour_entries(16, "a3")
    thresh1, thresh2, thresh3 = cluster.neighbour_thresholds(DEFAULTS, entries)
    assert thresh1 <= thresh2 <= thresh3
    assert thresh2 >= entries + 1024 and thresh3 >= 2 * thresh2
    assert cluster.neighbour_thresholds((4096, 16384, 32768), entries) is None
    assert cluster.neighbour_thresholds((4096, 100, 2000), entries)[0] == 4096


@pytest.fixture
def sysctl(tmp_path, monkeypatch):
    for index, value in zip((1, 2, 3), DEFAULTS):
        (tmp_path / ("gc_thresh%d" % index)).write_text("%d\n" % value)
    monkeypatch.setattr(cluster, "NEIGH_SYSCTL", str(tmp_path / "gc_thresh%d"))
    return lambda: tuple(int((tmp_path / ("gc_thresh%d" % i)).read_text()) for i in (1, 2, 3))


def test_ensure_raises_the_host_limits_only_when_needed_and_says_so(sysctl, capsys):
    cluster.ensure_neighbour_table(2, "a3")
    assert sysctl() == DEFAULTS
    assert capsys.readouterr().err == ""
    cluster.ensure_neighbour_table(16, "a3")
    assert sysctl() == cluster.neighbour_thresholds(DEFAULTS, cluster.neighbour_entries(16, "a3"))
    err = capsys.readouterr().err
    assert "16 A3 nodes need about 4384 neighbour (ARP) entries" in err
    assert "net.ipv4.neigh.default.gc_thresh1/2/3 128/512/1024 -> " in err
    cluster.ensure_neighbour_table(16, "a3")  # already enough: nothing to do, nothing said
    assert capsys.readouterr().err == ""


def test_ensure_fails_with_the_command_when_it_cannot_write(sysctl, monkeypatch):
    def refuse(path, value):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(cluster, "_write_sysctl", refuse)
    with pytest.raises(SystemExit, match="sysctl -w net.ipv4.neigh.default.gc_thresh1=1352 "
                                         "net.ipv4.neigh.default.gc_thresh2=5408 "
                                         "net.ipv4.neigh.default.gc_thresh3=10816"):
        cluster.ensure_neighbour_table(16, "a3")
    assert sysctl() == DEFAULTS
