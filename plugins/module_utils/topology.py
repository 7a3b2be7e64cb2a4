# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory -> validated vLLM data-parallel topology (pure Python, stdlib only).

Runs on the controller before any host is touched.  Input is plain data:

``hosts``
    ``{inventory_hostname: {var: value}}``, the inventory variables of every
    host (only ``vllm_*``, ``hccl_env_*`` and ``ansible_host`` are read).
``groups``
    Ansible's ``groups`` (``vllm_nodes``, ``vllm_node0``, ``vllm_headless``).
``store``
    a :class:`~.profile.ProfileStore` resolving each host's profile.

Every problem found is collected; :class:`TopologyError` carries them all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import re

from ansible_collections.ascend.serving.plugins.module_utils.profile import (
    ProfileError,
    ProfileStore,
    default_profile_dir,
    plain,
    profile_problems,
)

NODES_GROUP = "vllm_nodes"
NODE0_GROUP = "vllm_node0"
HEADLESS_GROUP = "vllm_headless"
DEFAULT_INSTANCE = "default"

# Profile keys every host of one instance must agree on (the DP group shares them).
INSTANCE_KEYS = (
    ("profile", "name"),
    ("model", "path"),
    ("hardware", "name"),
    ("release", "name"),
    ("release", "install_method"),
    ("parallel", "tensor_parallel_size"),
    ("parallel", "data_parallel_size"),
    ("parallel", "data_parallel_rpc_port"),
    ("serve", "port"),
    ("serve", "served_model_name"),
    ("serve", "quantization"),
    ("serve", "enable_expert_parallel"),
    ("serve", "max_model_len"),
    ("additional_config",),
)

# Variables a host's entry in the topology needs from the inventory.
HOST_VAR_PREFIXES = ("vllm_", "hccl_env_")
HOST_VARS_EXTRA = ("ansible_host", "model_weights_revision")


class TopologyError(ValueError):
    """The inventory is not a valid topology; ``errors`` lists every problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(TopologyError, self).__init__(format_errors(self.errors))


_INSTANCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def format_errors(errors):
    """One message listing every problem, one per line."""
    count = len(errors)
    head = "the inventory is not a valid vLLM topology (%d problem%s):" % (count, "" if count == 1 else "s")
    return "\n".join([head] + ["  - %s" % e for e in errors])


def host_vars_subset(all_vars):
    """The part of one host's variables the topology and plan read."""
    subset = {}
    for key in all_vars.keys():
        key = str(key)
        if key.startswith(HOST_VAR_PREFIXES) or key in HOST_VARS_EXTRA:
            subset[key] = plain(all_vars[key])
    return subset


def _get(data, path):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _int_var(value):
    """An inventory integer (ints, or digit strings from -e); None when not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _ranks_text(start, count):
    return str(start) if count == 1 else "%d..%d" % (start, start + count - 1)


def _nodes_needed(npus, per_node):
    return -(-npus // per_node)


def validate(hosts, groups, store, require_checksums=False):
    """Validate the inventory and return the topology.

    Returns ``{"instances": {name: {...}}, "hosts": {host: {...}}, "order": [hosts]}``.
    Each host entry: ``instance``, ``role`` (node0/headless), ``node0``,
    ``dp_size``, ``dp_local``, ``dp_start_rank``, ``dp_ranks``, ``tp_size``,
    ``multi_node``, ``npus_used``, ``address`` (ansible_host), ``nic_name`` /
    ``local_ip`` (inventory values or None) and the resolved ``profile``.
    Raises :class:`TopologyError` listing every problem.
    """
    errors = []
    groups = groups or {}
    nodes = list(groups.get(NODES_GROUP) or [])
    node0s = list(groups.get(NODE0_GROUP) or [])
    headless = list(groups.get(HEADLESS_GROUP) or [])

    if not nodes:
        raise TopologyError([
            "group %s is empty or missing: the inventory must define %s with children %s (the host running the "
            "API server) and %s (engine-only hosts)" % (NODES_GROUP, NODES_GROUP, NODE0_GROUP, HEADLESS_GROUP)])

    for host in node0s + headless:
        if host not in nodes:
            group = NODE0_GROUP if host in node0s else HEADLESS_GROUP
            errors.append("host %s is in %s but not in %s: make %s and %s children of %s"
                          % (host, group, NODES_GROUP, NODE0_GROUP, HEADLESS_GROUP, NODES_GROUP))
    roles = {}
    for host in nodes:
        in0, inh = host in node0s, host in headless
        if in0 and inh:
            errors.append("host %s is in both %s and %s: keep it in one" % (host, NODE0_GROUP, HEADLESS_GROUP))
        elif not in0 and not inh:
            errors.append("host %s is in %s but in neither %s nor %s: put it in one of them"
                          % (host, NODES_GROUP, NODE0_GROUP, HEADLESS_GROUP))
        else:
            roles[host] = "node0" if in0 else "headless"

    # Profiles, per host (a host var may override a profile key).
    profiles = {}
    profile_errors = {}
    for host in nodes:
        hvars = hosts.get(host) or {}
        try:
            profiles[host] = store.resolve_for_host(hvars)
        except ProfileError as exc:
            profile_errors.setdefault(str(exc), []).append(host)
            continue
        for problem in profile_problems(profiles[host], require_checksums=require_checksums):
            profile_errors.setdefault(problem, []).append(host)
    for message, where in profile_errors.items():
        errors.append("%s %s: %s" % ("host" if len(where) == 1 else "hosts", ", ".join(where), message))

    # Instances, in order of first appearance.
    instances = {}
    for host in nodes:
        raw = (hosts.get(host) or {}).get("vllm_instance")
        name = DEFAULT_INSTANCE if raw is None or raw == "" else str(raw)
        instances.setdefault(name, []).append(host)

    topo_hosts = {}
    topo_instances = {}
    for name, members in instances.items():
        inst_errors = []
        if not _INSTANCE_RE.match(name):
            inst_errors.append(
                "hosts %s: vllm_instance %r is not a valid instance name: use letters, digits and ._- only, starting "
                "with a letter or digit, at most 63 characters (it names the instance in units, reports and "
                "file names)" % (", ".join(members), name))
        first = [h for h in members if roles.get(h) == "node0"]
        rest = [h for h in members if roles.get(h) == "headless"]
        label = "instance '%s'" % name
        if not first:
            others = sorted(n for n in instances if n != name and any(roles.get(h) == "node0" for h in instances[n]))
            hint = " (%s)" % ", ".join(others) if others else ""
            inst_errors.append(
                "%s has no node0 host (headless: %s): add one of its hosts to %s, or set vllm_instance of %s to "
                "an instance that has one%s" % (label, ", ".join(rest) or "-", NODE0_GROUP, ", ".join(rest) or "them",
                                                hint))
        elif len(first) > 1:
            inst_errors.append(
                "%s has %d node0 hosts (%s): an instance has exactly one; move all but one to %s, or give them "
                "different vllm_instance values" % (label, len(first), ", ".join(first), HEADLESS_GROUP))

        ordered = first + rest
        ok_profiles = all(h in profiles for h in ordered)
        if ok_profiles:
            for path in INSTANCE_KEYS:
                seen = {}
                for host in ordered:
                    seen.setdefault(repr(_get(profiles[host], path)), []).append(host)
                if len(seen) > 1:
                    detail = "; ".join("%s: %s" % (", ".join(hs), val) for val, hs in seen.items())
                    inst_errors.append(
                        "%s: its hosts disagree on %s (%s): set it for the whole instance (group_vars), not per host"
                        % (label, ".".join(path), detail))

        # Data-parallel ranks.
        # The profile already carries vllm_dp_size_local (a well-known var); a bad value is
        # reported by profile_problems, so fall back to 1 here to keep checking the rest.
        dp_local = {}
        for host in ordered:
            value = _get(profiles.get(host), ("parallel", "data_parallel_size_local"))
            dp_local[host] = value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1

        explicit = {}
        for host in ordered:
            raw = (hosts.get(host) or {}).get("vllm_dp_start_rank")
            if raw is None:
                continue
            value = _int_var(raw)
            if value is None:
                inst_errors.append("host %s: vllm_dp_start_rank is %r: it must be an integer >= 0" % (host, raw))
                continue
            explicit[host] = value
        for host in first:
            if host in explicit and explicit[host] != 0:
                inst_errors.append(
                    "host %s: vllm_dp_start_rank is %d but node0 always serves DP ranks from 0: remove it or set it "
                    "to 0" % (host, explicit[host]))
            explicit.pop(host, None)

        # Ranks are only checked once the structure is sound (one node0, start ranks all
        # given or all derived): otherwise every rank error would just echo the first one.
        ranks_checkable = len(first) == 1
        start = {}
        if first:
            start[first[0]] = 0
        if not any(h in explicit for h in rest):
            rank = dp_local[first[0]] if first else 0
            for host in rest:
                start[host] = rank
                rank += dp_local[host]
        else:
            missing = [h for h in rest if h not in explicit]
            if missing:
                ranks_checkable = False
                inst_errors.append(
                    "%s: vllm_dp_start_rank is set on %s but not on %s: set it on every headless host of the instance "
                    "or on none (then it is derived from the inventory order)"
                    % (label, ", ".join(h for h in rest if h in explicit), ", ".join(missing)))
            start.update(explicit)
        if len(explicit) + len(first) + len([h for h in rest if h not in explicit]) != len(ordered):
            ranks_checkable = False  # a start rank that is not a number (reported above)

        dp_size = sum(dp_local[h] for h in ordered)
        if ranks_checkable:
            claimed = {}
            for host in ordered:
                for rank in range(start[host], start[host] + dp_local[host]):
                    claimed.setdefault(rank, []).append(host)
            for rank in sorted(claimed):
                if len(claimed[rank]) > 1:
                    owners = ", ".join("%s (ranks %s)" % (h, _ranks_text(start[h], dp_local[h]))
                                       for h in claimed[rank])
                    inst_errors.append(
                        "%s: DP rank %d is claimed by %s: fix vllm_dp_start_rank so every rank has one owner"
                        % (label, rank, owners))
            gaps = [r for r in range(0, max(max(claimed) + 1, dp_size)) if r not in claimed]
            if gaps:
                inst_errors.append(
                    "%s: DP ranks must be contiguous from 0 to %d (data_parallel_size %d) but rank%s %s %s served "
                    "by no host: fix vllm_dp_start_rank (each headless host starts where the previous one ends)"
                    % (label, dp_size - 1, dp_size, "s" if len(gaps) > 1 else "", ", ".join(map(str, gaps)),
                       "are" if len(gaps) > 1 else "is"))

        ref = profiles.get(first[0]) if first and first[0] in profiles else (
            profiles.get(ordered[0]) if ordered and ordered[0] in profiles else None)
        tp = _get(ref, ("parallel", "tensor_parallel_size")) if ref else None
        if ref is not None:
            wanted = _get(ref, ("parallel", "data_parallel_size"))
            if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted != dp_size:
                inst_errors.append(
                    "%s: data_parallel_size is %d but its hosts provide %d DP rank%s (%s): add or remove hosts, or "
                    "set vllm_dp_size to %d" % (
                        label, wanted, dp_size, "" if dp_size == 1 else "s",
                        ", ".join("%s: %d" % (h, dp_local[h]) for h in ordered), dp_size))

        # NPUs: per node, then for the weights.
        per_node = None
        for host in ordered:
            prof = profiles.get(host)
            if prof is None:
                continue
            htp = _get(prof, ("parallel", "tensor_parallel_size"))
            npus = _get(prof, ("hardware", "npus_per_node"))
            if not isinstance(htp, int) or not isinstance(npus, int):
                continue  # reported by profile_problems
            per_node = npus
            if htp * dp_local[host] > npus:
                inst_errors.append(
                    "host %s: tensor_parallel_size %d x data_parallel_size_local %d = %d NPUs but an %s node has %d: "
                    "lower vllm_tensor_parallel_size or vllm_dp_size_local so that their product is at most %d"
                    % (host, htp, dp_local[host], htp * dp_local[host], _get(prof, ("hardware", "name")), npus, npus))
        min_npus = _get(ref, ("model", "min_npus")) if ref else None
        if isinstance(tp, int) and isinstance(min_npus, int) and per_node and tp * dp_size < min_npus:
            need = _nodes_needed(min_npus, per_node)
            inst_errors.append(
                "%s: model %s needs at least %d NPUs (%d %s nodes of %d) but the instance uses %d (tp %d x dp %d on "
                "%d node%s): add headless nodes or choose a profile with smaller weights (W8A8)"
                % (label, _get(ref, ("model", "name")), min_npus, need, _get(ref, ("hardware", "name")), per_node,
                   tp * dp_size, tp, dp_size, len(ordered), "" if len(ordered) == 1 else "s"))

        errors.extend(inst_errors)
        node0 = first[0] if first else None
        multi = len(ordered) > 1
        topo_instances[name] = {
            "name": name,
            "node0": node0,
            "hosts": ordered,
            "headless": rest,
            "dp_size": dp_size,
            "tp_size": tp,
            "multi_node": multi,
            "npus_used": (tp or 0) * dp_size,
            "profile_name": _get(ref, ("profile", "name")) if ref else None,
        }
        for host in ordered:
            hv = hosts.get(host) or {}
            begin = start.get(host, 0)
            topo_hosts[host] = {
                "host": host,
                "instance": name,
                "role": roles.get(host),
                "node0": node0,
                "dp_size": dp_size,
                "dp_local": dp_local[host],
                "dp_start_rank": begin,
                "dp_ranks": list(range(begin, begin + dp_local[host])),
                "tp_size": _get(profiles.get(host), ("parallel", "tensor_parallel_size")),
                "multi_node": multi,
                "address": hv.get("ansible_host") or host,
                "nic_name": hv.get("hccl_env_nic_name") or None,
                "local_ip": hv.get("hccl_env_local_ip") or None,
                "profile": profiles.get(host),
            }

    if errors:
        raise TopologyError(errors)
    return {"instances": topo_instances, "hosts": topo_hosts, "order": nodes}


def inventory_hosts(hostvars, groups):
    """``(hosts, groups)`` as plain data from Ansible's ``hostvars`` / ``groups``."""
    plain_groups = {}
    for name in (NODES_GROUP, NODE0_GROUP, HEADLESS_GROUP):
        plain_groups[name] = [str(h) for h in (groups.get(name) or [])] if groups else []
    hosts = {}
    for host in plain_groups[NODES_GROUP] + plain_groups[NODE0_GROUP] + plain_groups[HEADLESS_GROUP]:
        if host not in hosts and host in hostvars:
            hosts[host] = host_vars_subset(hostvars[host])
    return hosts, plain_groups


def profile_store(hosts, yaml_load, extra_dirs=None):
    """A store searching ``extra_dirs``, the hosts' ``vllm_profile_dirs``, then the shipped profiles."""
    dirs = list(extra_dirs or [])
    for hv in hosts.values():
        extra = hv.get("vllm_profile_dirs") or []
        for directory in [extra] if isinstance(extra, str) else extra:
            if directory not in dirs:
                dirs.append(directory)
    dirs.append(default_profile_dir())
    return ProfileStore(dirs, yaml_load)


def from_inventory(hostvars, groups, yaml_load, require_checksums=False, profile_dirs=None):
    """:func:`validate` straight from Ansible's ``hostvars`` and ``groups``."""
    hosts, plain_groups = inventory_hosts(hostvars, groups)
    return validate(hosts, plain_groups, profile_store(hosts, yaml_load, profile_dirs),
                    require_checksums=require_checksums)
