# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter collect: one variable of several hosts as a {host: value} mapping."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.module_utils.profile import plain as _plain


def collect(hosts, hostvars, var, required=False):
    """``{host: hostvars[host][var]}`` for ``hosts``; hosts without it are skipped (or fail)."""
    out = {}
    for host in hosts:
        try:
            value = hostvars[host][var]
        except KeyError:
            if required:
                raise AnsibleFilterError('collect: host %s has no variable %s' % (host, var))
            continue
        out[str(host)] = _plain(value)
    return out


class FilterModule:
    """ascend.serving collect filter."""

    def filters(self):
        return {'collect': collect}
