# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters vllm_profile, vllm_profile_names (documented in their .yml files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.module_utils.profile import ProfileError, plain, profile_problems
from ansible_collections.ascend.serving.plugins.module_utils.topology import host_vars_subset, profile_store


def vllm_profile(selector, overrides=None, require_checksums=False, profile_dirs=None):
    """Resolve a profile.

    ``selector``: a profile name, or a host's variables (``hostvars[inventory_hostname]``),
    in which case vllm_profile, vllm_profile_overrides and the well-known vllm_* vars apply.
    ``overrides``: a mapping merged last.
    """
    if isinstance(selector, str):
        host_vars = {"vllm_profile": selector}
    elif selector is not None and hasattr(selector, "keys"):
        host_vars = host_vars_subset(selector)
    else:
        raise AnsibleFilterError("vllm_profile expects a profile name or a host's variables, got %r" % (selector,))
    store = profile_store({"_": host_vars}, yaml.safe_load, profile_dirs)
    try:
        profile = store.resolve_for_host(host_vars, plain(overrides) if overrides else None)
        problems = profile_problems(profile, require_checksums=require_checksums)
    except ProfileError as exc:
        raise AnsibleFilterError(str(exc))
    if problems:
        raise AnsibleFilterError("\n".join(["invalid profile:"] + ["  - %s" % p for p in problems]))
    return profile


def vllm_profile_names(profile_dirs=None):
    """Names of the available profiles (the shipped ones plus profile_dirs)."""
    return profile_store({}, yaml.safe_load, profile_dirs).names()


class FilterModule:
    """ascend.serving profile filters."""

    def filters(self):
        return {"vllm_profile": vllm_profile, "vllm_profile_names": vllm_profile_names}
