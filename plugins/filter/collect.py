# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter collect: one variable of several hosts as a {host: value} mapping."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def _plain(value):
    """Ansible 2.19 hands filters lazy containers; pure code wants plain dicts and lists."""
    if isinstance(value, dict):
        return dict((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


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
