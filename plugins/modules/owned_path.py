#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: owned_path
short_description: Remove a directory only when the collection owns it (the guard of undeploy and purge)
version_added: 0.3.0
description:
  - Every recursive delete of a path that comes from a variable goes through this module, so a
    wrong variable (for example C(-e vllm_service_config_dir=/etc)) fails with a clear error instead
    of deleting a system directory.
  - The path must be absolute, normalised, not a symlink, not C(/) nor a system directory (C(/etc),
    C(/usr), C(/opt), C(/var), C(/home), C(/root), ... also after resolving symlinks of its parents).
  - Rule C(marker) (directories the collection creates) also requires the marker file
    C(.ascend-serving-owned) in the directory, or, for a directory deployed before markers existed,
    every O(legacy) glob to match.
  - Rule C(safe) (weights, MLAPO install path) requires no marker; a weights directory still named as
    the model of a C(state.json) found under O(state_dirs) (another instance) is kept, not removed.
  - An absent path is fine and changes nothing.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  path:
    description: The directory to check or remove.
    type: str
    required: true
  state:
    description:
      - C(absent) removes the directory when the rule allows it; C(checked) only checks (fails
        when it could not be removed), so a caller can check every path before changing anything.
    type: str
    choices: [absent, checked]
    default: absent
  rule:
    description: C(marker) for collection-owned directories, C(safe) for paths without a marker.
    type: str
    choices: [marker, safe]
    default: marker
  legacy:
    description: Rule C(marker) - globs relative to O(path) that together prove a pre-marker deployment.
    type: list
    elements: str
    default: []
  state_dirs:
    description: Rule C(safe) - directories (globs allowed) whose C(state.json) files (up to 3 levels deep) are read.
    type: list
    elements: str
    default: []
  ignore_dirs:
    description: Rule C(safe) - C(state.json) files under these directories do not protect the path.
    type: list
    elements: str
    default: []
  host:
    description: The inventory host, named in error messages.
    type: str
    default: ""
  variable:
    description: The variable the path came from, named in error messages.
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description: Checks and reports what would be removed; removes nothing.
  diff_mode:
    support: none
    description: No diff.
"""

EXAMPLES = r"""
- name: Remove the service config dir, only when it is the collection's
  ascend.serving.owned_path:
    path: "{{ vllm_service_config_dir }}"
    legacy: [state.json, launch.sh]
    host: "{{ inventory_hostname }}"
    variable: vllm_service_config_dir
"""

RETURN = r"""
path:
  description: The normalised path.
  returned: always
  type: str
exists:
  description: Whether the path existed.
  returned: always
  type: bool
removed:
  description: Whether it was (in check mode, would be) removed.
  returned: always
  type: bool
owned_by:
  description: C(marker) or C(legacy) (rule C(marker)), else null.
  returned: always
  type: str
kept_for:
  description: Rule C(safe) - the C(state.json) files that still name the path (it was kept).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.serving.plugins.module_utils.owned_path import GuardError, decide, remove


def main():
    module = AnsibleModule(
        argument_spec={
            'path': {'type': 'str', 'required': True},
            'state': {'type': 'str', 'choices': ['absent', 'checked'], 'default': 'absent'},
            'rule': {'type': 'str', 'choices': ['marker', 'safe'], 'default': 'marker'},
            'legacy': {'type': 'list', 'elements': 'str', 'default': []},
            'state_dirs': {'type': 'list', 'elements': 'str', 'default': []},
            'ignore_dirs': {'type': 'list', 'elements': 'str', 'default': []},
            'host': {'type': 'str', 'default': ''},
            'variable': {'type': 'str', 'default': ''},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        verdict = decide(p['path'], p['rule'], p['legacy'], p['state_dirs'], p['ignore_dirs'], p['host'], p['variable'])
    except GuardError as exc:
        module.fail_json(msg=str(exc), path=p['path'])
    removing = verdict['remove'] and p['state'] == 'absent'
    if removing and not module.check_mode:
        try:
            remove(verdict['path'])
        except OSError as exc:
            module.fail_json(msg='%s: could not remove %s: %s' % (p['host'] or 'node', verdict['path'], exc),
                             path=verdict['path'])
    result = {'changed': removing, 'path': verdict['path'], 'exists': verdict['exists'], 'removed': removing,
              'owned_by': verdict['owned_by'], 'kept_for': verdict['kept_for']}
    if verdict['kept_for']:
        result['msg'] = '%s kept: still named by %s' % (verdict['path'], ', '.join(verdict['kept_for']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
