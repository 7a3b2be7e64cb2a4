# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters vllm_plan, vllm_render, vllm_unpinned, vllm_nic_query, vllm_launch_script, vllm_plan_table (documented in their .yml files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.module_utils.plan import build_plan, nic_query, plan_table, render_script, unpinned
from ansible_collections.ascend.serving.plugins.module_utils.render import RenderError, render
from ansible_collections.ascend.serving.plugins.module_utils.profile import ProfileError, plain
from ansible_collections.ascend.serving.plugins.module_utils.topology import TopologyError, from_inventory


def _is_topology(value):
    return isinstance(value, dict) and all(key in value for key in ("order", "hosts", "instances"))


def vllm_plan(source, groups=None, discovered=None, settings=None, require_checksums=False, profile_dirs=None):
    """{host: plan} for every host of vllm_nodes (see module_utils/plan.py).

    ``source``: the validated topology (``ascend_topology``, the plan step's), or Ansible's hostvars
    with ``groups`` (validated here: render.yml, tests)."""
    if groups is None:
        topology = plain(source)
        if not _is_topology(topology):
            raise AnsibleFilterError("vllm_plan: give the validated topology (ascend_topology) alone, or hostvars "
                                     "and groups")
    else:
        try:
            topology = from_inventory(hostvars=source, groups=groups, yaml_load=yaml.safe_load,
                                      require_checksums=require_checksums, profile_dirs=profile_dirs)
        except (TopologyError, ProfileError) as exc:
            raise AnsibleFilterError(str(exc))
    try:
        return build_plan(topology, plain(discovered) if discovered else None,
                          plain(settings) if settings else None)
    except ValueError as exc:
        raise AnsibleFilterError("vllm_plan: %s" % exc)


def vllm_nic_query(role, nic_name="", local_ip="", cidr="", pattern="", own_address="", node0_address=""):
    """The nic_info options (peer / cidr / name) that choose a host's HCCL NIC (module_utils/plan.nic_query)."""
    try:
        return nic_query(role, nic_name=nic_name or "", local_ip=local_ip or "", cidr=cidr or "", pattern=pattern or "",
                         own_address=own_address or "", node0_address=node0_address or "")
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def vllm_unpinned(topology):
    """What the validated topology's hosts would pull or download by a name that can move (warning lines)."""
    topology = plain(topology)
    if not _is_topology(topology):
        raise AnsibleFilterError("vllm_unpinned expects the validated topology (ascend_topology)")
    return unpinned(topology)


def vllm_render(host_plan, mode="review", image_id=None, managed_comment="Ansible managed"):
    """{file name: content} of one host's plan: review (render.yml's script) or deploy (the service's files)."""
    host_plan = plain(host_plan)
    if not isinstance(host_plan, dict) or "argv" not in host_plan:
        raise AnsibleFilterError("vllm_render expects one host's plan, e.g. ascend_plan[inventory_hostname]")
    try:
        return render(host_plan, mode, image_id=image_id or None, managed_comment=managed_comment)
    except RenderError as exc:
        raise AnsibleFilterError("vllm_render: %s" % exc)


def vllm_launch_script(host_plan, exec_command=False):
    """The POSIX sh launch script of one host's plan."""
    host_plan = plain(host_plan)
    if not isinstance(host_plan, dict) or "argv" not in host_plan:
        raise AnsibleFilterError("vllm_launch_script expects one host's plan, e.g. plan[inventory_hostname]")
    return render_script(host_plan, exec_command=exec_command)


def vllm_plan_table(plans):
    """Summary lines (host, instance, role, DP ranks, TP, NIC, IPs) of a whole plan."""
    plans = plain(plans)
    if not isinstance(plans, dict):
        raise AnsibleFilterError("vllm_plan_table expects the output of vllm_plan")
    return plan_table(plans)


class FilterModule:
    """ascend.serving launch-plan filters."""

    def filters(self):
        return {
            "vllm_plan": vllm_plan,
            "vllm_render": vllm_render,
            "vllm_unpinned": vllm_unpinned,
            "vllm_nic_query": vllm_nic_query,
            "vllm_launch_script": vllm_launch_script,
            "vllm_plan_table": vllm_plan_table,
        }
