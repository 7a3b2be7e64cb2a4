# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter preflight_problems (module_utils/preflight.py)."""

from __future__ import annotations

from ansible_collections.ascend.serving.plugins.module_utils import preflight
from ansible_collections.ascend.serving.plugins.module_utils.profile import plain


def preflight_problems(observed, profile, host, required_arch='aarch64', max_hbm_used_pct=10, min_free_disk_gb=0):
    return preflight.problems(plain(observed), plain(profile), str(host), required_arch=required_arch,
                              max_hbm_used_pct=int(max_hbm_used_pct), min_free_disk_gb=int(min_free_disk_gb))


class FilterModule:
    """ascend.serving preflight filters."""

    def filters(self):
        return {'preflight_problems': preflight_problems}
