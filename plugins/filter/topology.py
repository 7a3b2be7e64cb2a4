# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter vllm_topology: validate the inventory's vLLM topology (documented in vllm_topology.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.module_utils.profile import ProfileError
from ansible_collections.ascend.serving.plugins.module_utils.topology import TopologyError, from_inventory


def vllm_topology(hostvars, groups, require_checksums=False, profile_dirs=None):
    """Validated topology of the inventory (see module_utils/topology.py:validate)."""
    try:
        return from_inventory(hostvars, groups, yaml.safe_load, require_checksums=require_checksums,
                              profile_dirs=profile_dirs)
    except (TopologyError, ProfileError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    """ascend.serving topology filters."""

    def filters(self):
        return {"vllm_topology": vllm_topology}
