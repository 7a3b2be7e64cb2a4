# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters vllm_plan, vllm_launch_script, vllm_plan_table (documented in their .yml files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.module_utils.plan import build_plan, plan_table, render_script
from ansible_collections.ascend.serving.plugins.module_utils.profile import ProfileError, plain
from ansible_collections.ascend.serving.plugins.module_utils.topology import TopologyError, from_inventory


def vllm_plan(hostvars, groups, discovered=None, require_checksums=False, profile_dirs=None):
    """{host: launch plan} for every host of vllm_nodes (see module_utils/plan.py)."""
    try:
        topology = from_inventory(hostvars, groups, yaml.safe_load, require_checksums=require_checksums,
                                  profile_dirs=profile_dirs)
    except (TopologyError, ProfileError) as exc:
        raise AnsibleFilterError(str(exc))
    try:
        return build_plan(topology, plain(discovered) if discovered else None)
    except ValueError as exc:
        raise AnsibleFilterError("vllm_plan: %s" % exc)


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
            "vllm_launch_script": vllm_launch_script,
            "vllm_plan_table": vllm_plan_table,
        }
