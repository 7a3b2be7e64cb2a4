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


# -- what the checks read: the inventory as derived facts ------------------------------------------
#
# Deriving never fails: a fact that cannot be derived gets a fallback (a DP size of 1, no start
# rank), and the check that owns that rule reports it.  The checks are pure functions of these
# facts, each one rule returning its problems; validate() runs them from the tables below.

class _Inventory:
    """Groups, roles, profiles and instances of one inventory."""

    def __init__(self, hosts, groups, store, require_checksums):
        groups = groups or {}
        self.hosts = hosts
        self.nodes = list(groups.get(NODES_GROUP) or [])
        self.node0s = list(groups.get(NODE0_GROUP) or [])
        self.headless = list(groups.get(HEADLESS_GROUP) or [])
        # A host's role, when it is in exactly one of node0 / headless.
        self.roles = {}
        for host in self.nodes:
            in0, inh = host in self.node0s, host in self.headless
            if in0 != inh:
                self.roles[host] = "node0" if in0 else "headless"
        # Profiles, per host (a host var may override a profile key); problems grouped by message.
        self.profiles = {}
        self.profile_errors = {}
        for host in self.nodes:
            try:
                self.profiles[host] = store.resolve_for_host(self.host_vars(host))
            except ProfileError as exc:
                self.profile_errors.setdefault(str(exc), []).append(host)
                continue
            for problem in profile_problems(self.profiles[host], require_checksums=require_checksums):
                self.profile_errors.setdefault(problem, []).append(host)
        # Instances, in order of first appearance.
        members = {}
        for host in self.nodes:
            raw = self.host_vars(host).get("vllm_instance")
            members.setdefault(DEFAULT_INSTANCE if raw is None or raw == "" else str(raw), []).append(host)
        self.instances = [_Instance(self, name, hosts_of) for name, hosts_of in members.items()]

    def host_vars(self, host):
        return self.hosts.get(host) or {}


class _Instance:
    """One instance: its hosts in DP order, their DP ranks and the profile it runs."""

    def __init__(self, inv, name, members):
        self.inventory = inv
        self.name = name
        self.label = "instance '%s'" % name
        self.members = members
        self.first = [h for h in members if inv.roles.get(h) == "node0"]
        self.rest = [h for h in members if inv.roles.get(h) == "headless"]
        self.ordered = self.first + self.rest
        self.profiles = inv.profiles

        # The profile already carries vllm_dp_size_local (a well-known var); a bad value is
        # reported by profile_problems, so fall back to 1 here to keep checking the rest.
        self.dp_local = {}
        for host in self.ordered:
            value = _get(inv.profiles.get(host), ("parallel", "data_parallel_size_local"))
            self.dp_local[host] = value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1
        self.dp_size = sum(self.dp_local[h] for h in self.ordered)

        # Start ranks the inventory sets (vllm_dp_start_rank): integers, and values that are not one.
        self.given_ranks = {}
        self.bad_ranks = []
        for host in self.ordered:
            raw = inv.host_vars(host).get("vllm_dp_start_rank")
            if raw is None:
                continue
            value = _int_var(raw)
            if value is None:
                self.bad_ranks.append((host, raw))
            else:
                self.given_ranks[host] = value
        explicit = dict((h, v) for h, v in self.given_ranks.items() if h not in self.first)
        self.explicit_hosts = [h for h in self.rest if h in explicit]
        self.missing_ranks = [h for h in self.rest if h not in explicit] if explicit else []

        # node0 serves from 0; headless hosts follow in inventory order unless every one sets its start.
        self.start = {}
        if self.first:
            self.start[self.first[0]] = 0
        if not explicit:
            rank = self.dp_local[self.first[0]] if self.first else 0
            for host in self.rest:
                self.start[host] = rank
                rank += self.dp_local[host]
        else:
            self.start.update(explicit)

        # Ranks are only checked once the structure is sound (one node0, start ranks all given or
        # all derived): otherwise every rank error would just echo the first one.
        self.claimed = {}
        if len(self.first) == 1 and not self.missing_ranks:
            for host in self.ordered:
                for rank in range(self.start[host], self.start[host] + self.dp_local[host]):
                    self.claimed.setdefault(rank, []).append(host)

        # The profile the instance runs: node0's, else its first host's.
        self.ref = inv.profiles.get(self.first[0]) if self.first and self.first[0] in inv.profiles else (
            inv.profiles.get(self.ordered[0]) if self.ordered and self.ordered[0] in inv.profiles else None)
        self.tp = _get(self.ref, ("parallel", "tensor_parallel_size")) if self.ref else None
        # NPUs per node: of the last host whose profile gives both TP and NPUs (profile_problems reports the rest).
        self.per_node = None
        for host in self.ordered:
            htp, npus = self.host_tp_npus(host)
            if htp is not None:
                self.per_node = npus

    def host_tp_npus(self, host):
        """(tensor_parallel_size, npus_per_node) of a host's profile, (None, None) unless both are integers."""
        prof = self.profiles.get(host)
        if prof is None:
            return None, None
        htp = _get(prof, ("parallel", "tensor_parallel_size"))
        npus = _get(prof, ("hardware", "npus_per_node"))
        if not isinstance(htp, int) or not isinstance(npus, int):
            return None, None
        return htp, npus


# -- inventory checks: one rule each ---------------------------------------------------------------

def check_nodes_group(inv):
    """The inventory defines the vllm_nodes group (nothing else is checked without it)."""
    if inv.nodes:
        return []
    return ["group %s is empty or missing: the inventory must define %s with children %s (the host running the "
            "API server) and %s (engine-only hosts)" % (NODES_GROUP, NODES_GROUP, NODE0_GROUP, HEADLESS_GROUP)]


def check_children_of_nodes(inv):
    """Every host of vllm_node0 and vllm_headless is in vllm_nodes."""
    problems = []
    for host in inv.node0s + inv.headless:
        if host not in inv.nodes:
            group = NODE0_GROUP if host in inv.node0s else HEADLESS_GROUP
            problems.append("host %s is in %s but not in %s: make %s and %s children of %s"
                            % (host, group, NODES_GROUP, NODE0_GROUP, HEADLESS_GROUP, NODES_GROUP))
    return problems


def check_one_role_per_host(inv):
    """Every host of vllm_nodes is in exactly one of vllm_node0 and vllm_headless."""
    problems = []
    for host in inv.nodes:
        in0, inh = host in inv.node0s, host in inv.headless
        if in0 and inh:
            problems.append("host %s is in both %s and %s: keep it in one" % (host, NODE0_GROUP, HEADLESS_GROUP))
        elif not in0 and not inh:
            problems.append("host %s is in %s but in neither %s nor %s: put it in one of them"
                            % (host, NODES_GROUP, NODE0_GROUP, HEADLESS_GROUP))
    return problems


def check_profiles(inv):
    """Every host's profile resolves and is valid (one problem per message, naming its hosts)."""
    return ["%s %s: %s" % ("host" if len(where) == 1 else "hosts", ", ".join(where), message)
            for message, where in inv.profile_errors.items()]


# -- instance checks: one rule each ----------------------------------------------------------------

def check_instance_name(inst):
    """The instance name is usable in unit, report and file names."""
    if _INSTANCE_RE.match(inst.name):
        return []
    return ["hosts %s: vllm_instance %r is not a valid instance name: use letters, digits and ._- only, starting "
            "with a letter or digit, at most 63 characters (it names the instance in units, reports and "
            "file names)" % (", ".join(inst.members), inst.name)]


def check_one_node0(inst):
    """An instance has exactly one node0 host."""
    if not inst.first:
        instances = inst.inventory.instances
        roles = inst.inventory.roles
        others = sorted(i.name for i in instances
                        if i.name != inst.name and any(roles.get(h) == "node0" for h in i.members))
        hint = " (%s)" % ", ".join(others) if others else ""
        return ["%s has no node0 host (headless: %s): add one of its hosts to %s, or set vllm_instance of %s to "
                "an instance that has one%s" % (inst.label, ", ".join(inst.rest) or "-", NODE0_GROUP,
                                                ", ".join(inst.rest) or "them", hint)]
    if len(inst.first) > 1:
        return ["%s has %d node0 hosts (%s): an instance has exactly one; move all but one to %s, or give them "
                "different vllm_instance values" % (inst.label, len(inst.first), ", ".join(inst.first),
                                                    HEADLESS_GROUP)]
    return []


def check_instance_keys_agree(inst):
    """The hosts of an instance agree on every INSTANCE_KEYS profile key (checked once all profiles resolve)."""
    if not all(h in inst.profiles for h in inst.ordered):
        return []
    problems = []
    for path in INSTANCE_KEYS:
        seen = {}
        for host in inst.ordered:
            seen.setdefault(repr(_get(inst.profiles[host], path)), []).append(host)
        if len(seen) > 1:
            detail = "; ".join("%s: %s" % (", ".join(hs), val) for val, hs in seen.items())
            problems.append(
                "%s: its hosts disagree on %s (%s): set it for the whole instance (group_vars), not per host"
                % (inst.label, ".".join(path), detail))
    return problems


def check_start_rank_is_integer(inst):
    """vllm_dp_start_rank, where set, is an integer >= 0."""
    return ["host %s: vllm_dp_start_rank is %r: it must be an integer >= 0" % (host, raw)
            for host, raw in inst.bad_ranks]


def check_node0_starts_at_0(inst):
    """node0 serves DP ranks from 0."""
    return ["host %s: vllm_dp_start_rank is %d but node0 always serves DP ranks from 0: remove it or set it to 0"
            % (host, inst.given_ranks[host])
            for host in inst.first if inst.given_ranks.get(host, 0) != 0]


def check_start_ranks_all_or_none(inst):
    """vllm_dp_start_rank is set on every headless host of an instance or on none."""
    if not inst.missing_ranks:
        return []
    return ["%s: vllm_dp_start_rank is set on %s but not on %s: set it on every headless host of the instance "
            "or on none (then it is derived from the inventory order)"
            % (inst.label, ", ".join(inst.explicit_hosts), ", ".join(inst.missing_ranks))]


def check_rank_has_one_owner(inst):
    """No DP rank is served by two hosts."""
    problems = []
    for rank in sorted(inst.claimed):
        if len(inst.claimed[rank]) > 1:
            owners = ", ".join("%s (ranks %s)" % (h, _ranks_text(inst.start[h], inst.dp_local[h]))
                               for h in inst.claimed[rank])
            problems.append("%s: DP rank %d is claimed by %s: fix vllm_dp_start_rank so every rank has one owner"
                            % (inst.label, rank, owners))
    return problems


def check_ranks_contiguous(inst):
    """The DP ranks served are 0 .. data_parallel_size - 1, without gaps."""
    if not inst.claimed:
        return []
    gaps = [r for r in range(0, max(max(inst.claimed) + 1, inst.dp_size)) if r not in inst.claimed]
    if not gaps:
        return []
    return ["%s: DP ranks must be contiguous from 0 to %d (data_parallel_size %d) but rank%s %s %s served "
            "by no host: fix vllm_dp_start_rank (each headless host starts where the previous one ends)"
            % (inst.label, inst.dp_size - 1, inst.dp_size, "s" if len(gaps) > 1 else "", ", ".join(map(str, gaps)),
               "are" if len(gaps) > 1 else "is")]


def check_dp_size_matches(inst):
    """A declared data_parallel_size equals the DP ranks the hosts provide."""
    wanted = _get(inst.ref, ("parallel", "data_parallel_size")) if inst.ref is not None else None
    if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted == inst.dp_size:
        return []
    return ["%s: data_parallel_size is %d but its hosts provide %d DP rank%s (%s): add or remove hosts, or "
            "set vllm_dp_size to %d" % (
                inst.label, wanted, inst.dp_size, "" if inst.dp_size == 1 else "s",
                ", ".join("%s: %d" % (h, inst.dp_local[h]) for h in inst.ordered), inst.dp_size)]


def check_npus_per_node(inst):
    """tensor_parallel_size x data_parallel_size_local fits the NPUs of a node."""
    problems = []
    for host in inst.ordered:
        htp, npus = inst.host_tp_npus(host)
        if htp is not None and htp * inst.dp_local[host] > npus:
            problems.append(
                "host %s: tensor_parallel_size %d x data_parallel_size_local %d = %d NPUs but an %s node has %d: "
                "lower vllm_tensor_parallel_size or vllm_dp_size_local so that their product is at most %d"
                % (host, htp, inst.dp_local[host], htp * inst.dp_local[host],
                   _get(inst.profiles[host], ("hardware", "name")), npus, npus))
    return problems


def check_model_fits(inst):
    """The instance has at least the NPUs the model's weights need (model.min_npus)."""
    ref, tp, per_node = inst.ref, inst.tp, inst.per_node
    min_npus = _get(ref, ("model", "min_npus")) if ref else None
    if not (isinstance(tp, int) and isinstance(min_npus, int) and per_node and tp * inst.dp_size < min_npus):
        return []
    return ["%s: model %s needs at least %d NPUs (%d %s nodes of %d) but the instance uses %d (tp %d x dp %d on "
            "%d node%s): add headless nodes or choose a profile with smaller weights (W8A8)"
            % (inst.label, _get(ref, ("model", "name")), min_npus, _nodes_needed(min_npus, per_node),
               _get(ref, ("hardware", "name")), per_node, tp * inst.dp_size, tp, inst.dp_size, len(inst.ordered),
               "" if len(inst.ordered) == 1 else "s")]


# The checks, in the order their problems are reported: the inventory's first (a failing
# check_nodes_group ends validation), then each instance's in order of first appearance.
INVENTORY_CHECKS = (
    ("nodes_group", check_nodes_group),
    ("children_of_nodes", check_children_of_nodes),
    ("one_role_per_host", check_one_role_per_host),
    ("profiles", check_profiles),
)
INSTANCE_CHECKS = (
    ("instance_name", check_instance_name),
    ("one_node0", check_one_node0),
    ("instance_keys_agree", check_instance_keys_agree),
    ("start_rank_is_integer", check_start_rank_is_integer),
    ("node0_starts_at_0", check_node0_starts_at_0),
    ("start_ranks_all_or_none", check_start_ranks_all_or_none),
    ("rank_has_one_owner", check_rank_has_one_owner),
    ("ranks_contiguous", check_ranks_contiguous),
    ("dp_size_matches", check_dp_size_matches),
    ("npus_per_node", check_npus_per_node),
    ("model_fits", check_model_fits),
)
FATAL_CHECKS = ("nodes_group",)


def run_checks(inv):
    """Every check of the tables over a derived inventory: ``[(check name, problem)]`` in report order."""
    found = []
    for name, check in INVENTORY_CHECKS:
        problems = check(inv)
        found.extend((name, p) for p in problems)
        if problems and name in FATAL_CHECKS:
            return found
    for inst in inv.instances:
        for name, check in INSTANCE_CHECKS:
            found.extend((name, p) for p in check(inst))
    return found


def problems(hosts, groups, store, require_checksums=False):
    """What :func:`validate` would report, each problem with the name of the check that found it."""
    return run_checks(_Inventory(hosts, groups, store, require_checksums))


def _topology(inv):
    """The topology of a derived inventory that passed every check."""
    topo_hosts = {}
    topo_instances = {}
    for inst in inv.instances:
        node0 = inst.first[0] if inst.first else None
        multi = len(inst.ordered) > 1
        topo_instances[inst.name] = {
            "name": inst.name,
            "node0": node0,
            "hosts": inst.ordered,
            "headless": inst.rest,
            "dp_size": inst.dp_size,
            "tp_size": inst.tp,
            "multi_node": multi,
            "npus_used": (inst.tp or 0) * inst.dp_size,
            "profile_name": _get(inst.ref, ("profile", "name")) if inst.ref else None,
        }
        for host in inst.ordered:
            hv = inv.host_vars(host)
            begin = inst.start.get(host, 0)
            topo_hosts[host] = {
                "host": host,
                "instance": inst.name,
                "role": inv.roles.get(host),
                "node0": node0,
                "dp_size": inst.dp_size,
                "dp_local": inst.dp_local[host],
                "dp_start_rank": begin,
                "dp_ranks": list(range(begin, begin + inst.dp_local[host])),
                "tp_size": _get(inv.profiles.get(host), ("parallel", "tensor_parallel_size")),
                "multi_node": multi,
                "address": hv.get("ansible_host") or host,
                "nic_name": hv.get("hccl_env_nic_name") or None,
                "local_ip": hv.get("hccl_env_local_ip") or None,
                "profile": inv.profiles.get(host),
            }
    return {"instances": topo_instances, "hosts": topo_hosts, "order": inv.nodes}


def validate(hosts, groups, store, require_checksums=False):
    """Validate the inventory and return the topology.

    Returns ``{"instances": {name: {...}}, "hosts": {host: {...}}, "order": [hosts]}``.
    Each host entry: ``instance``, ``role`` (node0/headless), ``node0``,
    ``dp_size``, ``dp_local``, ``dp_start_rank``, ``dp_ranks``, ``tp_size``,
    ``multi_node``, ``npus_used``, ``address`` (ansible_host), ``nic_name`` /
    ``local_ip`` (inventory values or None) and the resolved ``profile``.
    Raises :class:`TopologyError` listing every problem the checks of
    :data:`INVENTORY_CHECKS` and :data:`INSTANCE_CHECKS` find.
    """
    inv = _Inventory(hosts, groups, store, require_checksums)
    found = run_checks(inv)
    if found:
        raise TopologyError([problem for _name, problem in found])
    return _topology(inv)


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
