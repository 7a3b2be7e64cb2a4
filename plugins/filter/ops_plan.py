# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of role ascend_ops: its install plan (module_utils/ops_plan.py) and the decisions it
takes from what the node's probe found. Internal to role ascend_ops."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.ascend.serving.plugins.module_utils.ops_plan import (
    UPSTREAM,
    DEFAULT_ROOT,
    backups,
    build_ops_plan,
    missing_after_install,
    needed_steps,
    node_problems,
)


def vllm_ops_plan(profile, root=DEFAULT_ROOT, base_url=UPSTREAM, image_digest="", image_tarball="",
                  image_tarball_sha256=""):
    """The operator-install plan of a host's resolved profile (ops_plan.build_ops_plan)."""
    return build_ops_plan(profile, root=root, base_url=base_url, image_digest=image_digest,
                          image_tarball=image_tarball, image_tarball_sha256=image_tarball_sha256)


def vllm_ops_needed(plan, probe):
    """Names of the plan's steps that must run on a node, given its probe result."""
    return needed_steps(plan, probe)


def vllm_ops_node_problems(plan, probe, break_system_packages=False):
    """Why a node cannot take the plan's custom ops (empty when it can)."""
    return node_problems(plan, probe, break_system_packages=break_system_packages)


def vllm_ops_missing(plan, probe):
    """What is not in place after an install (empty when everything is)."""
    return missing_after_install(plan, probe)


def vllm_ops_backups(plan, probe):
    """The files the plan replaced and where their originals are kept ({dest: backup})."""
    return backups(plan, probe)


class FilterModule:
    """ascend.serving ascend_ops filters."""

    def filters(self):
        return {
            "vllm_ops_plan": vllm_ops_plan,
            "vllm_ops_needed": vllm_ops_needed,
            "vllm_ops_node_problems": vllm_ops_node_problems,
            "vllm_ops_missing": vllm_ops_missing,
            "vllm_ops_backups": vllm_ops_backups,
        }
