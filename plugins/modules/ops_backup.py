#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ops_backup
short_description: Snapshot what the custom-ops install replaces (wheels, SFA operator) and restore it
version_added: 0.3.0
description:
  - O(state=snapshot) records, before an install, the installed version and files of each wheel
    distribution in O(dists) (read by O(python), the Python that runs vLLM) and every file under
    O(paths) (the SFA operator's vendor directory and C(config.ini)) into O(dir).
  - O(state=restore) uninstalls each recorded distribution, removes what is at each recorded path,
    puts the recorded files back and removes the install stamp the snapshot names, so the next
    deploy installs that release again. Only archive members the manifest names are extracted.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  dir:
    description: The snapshot directory (C(<ascend_ops_root>/backup/original) or C(.../previous)).
    type: path
    required: true
  state:
    description: C(snapshot) or C(restore).
    type: str
    choices: [snapshot, restore]
    default: snapshot
  python:
    description: The Python that runs vLLM (snapshot; restore uses the one recorded).
    type: str
  dists:
    description: Wheel distribution names (snapshot).
    type: list
    elements: str
    default: []
  paths:
    description: Absolute paths the install replaces (snapshot).
    type: list
    elements: path
    default: []
  stamp:
    description: The install stamp of the release about to be installed (snapshot).
    type: path
  only_if_absent:
    description: Keep an existing snapshot (the originals are recorded once, before the first install).
    type: bool
    default: false
  only_for_stamp:
    description: Restore only when the snapshot was taken for this install stamp (else change nothing).
    type: path
  pip_args:
    description:
      - Extra C(pip uninstall) arguments (C(--break-system-packages) for an externally managed Python).
      - Recorded by the snapshot and used by its restore.
    type: list
    elements: str
    default: []
  consume:
    description: Remove the snapshot after restoring it.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports what would be recorded or restored; writes nothing.
  diff_mode:
    support: none
    description: No diff.
"""

EXAMPLES = r"""
- name: Restore the wheels and the SFA operator as they were before the first install
  ascend.serving.ops_backup:
    dir: /opt/ascend-serving/backup/original
    state: restore
"""

RETURN = r"""
restored:
  description: Files put back (restore).
  returned: always
  type: int
manifest:
  description: The snapshot's manifest (without file lists).
  returned: always
  type: dict
"""

import json
import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.serving.plugins.module_utils import ops_backup


def dist_files(module, python, dists):
    if not dists:
        return {}
    rc, out, err = module.run_command([python, '-c', ops_backup.DIST_FILES_CODE, json.dumps(sorted(dists))])
    if rc != 0:
        module.fail_json(msg='%s could not list the files of %s: %s' % (python, ', '.join(dists), err or out))
    try:
        return json.loads(out)
    except ValueError:
        module.fail_json(msg='%s printed no JSON listing %s: %s' % (python, ', '.join(dists), out[-500:]))


def summary(manifest):
    if not manifest:
        return {}
    return {'python': manifest.get('python'), 'stamp': manifest.get('stamp'), 'paths': manifest.get('paths'),
            'dists': dict((k, (v or {}).get('version')) for k, v in (manifest.get('dists') or {}).items())}


def main():
    module = AnsibleModule(
        argument_spec={
            'dir': {'type': 'path', 'required': True},
            'state': {'type': 'str', 'choices': ['snapshot', 'restore'], 'default': 'snapshot'},
            'python': {'type': 'str'},
            'dists': {'type': 'list', 'elements': 'str', 'default': []},
            'paths': {'type': 'list', 'elements': 'path', 'default': []},
            'stamp': {'type': 'path'},
            'only_if_absent': {'type': 'bool', 'default': False},
            'only_for_stamp': {'type': 'path'},
            'pip_args': {'type': 'list', 'elements': 'str', 'default': []},
            'consume': {'type': 'bool', 'default': True},
        },
        required_if=[('state', 'snapshot', ('python',))],
        supports_check_mode=True,
    )
    p = module.params
    try:
        if p['state'] == 'snapshot':
            if p['only_if_absent'] and os.path.isfile(os.path.join(p['dir'], ops_backup.MANIFEST)):
                module.exit_json(changed=False, restored=0, manifest=summary(ops_backup.load(p['dir'])))
            if module.check_mode:
                module.exit_json(changed=True, restored=0, manifest={})
            dists = dist_files(module, p['python'], p['dists'])
            ops_backup.snapshot(p['dir'], dists, p['paths'], p['python'], p['stamp'], pip_args=p['pip_args'])
            module.exit_json(changed=True, restored=0, manifest=summary(ops_backup.load(p['dir'])))
        manifest = ops_backup.load(p['dir'])
        if manifest is None or (p['only_for_stamp'] and manifest.get('stamp') != p['only_for_stamp']):
            module.exit_json(changed=False, restored=0, manifest=summary(manifest))
        if module.check_mode:
            module.exit_json(changed=True, restored=0, manifest=summary(manifest))
        python = manifest.get('python')
        dists = sorted(manifest.get('dists') or {})
        if dists:
            now = dist_files(module, python, dists)
            for dist in dists:
                if now.get(dist) is not None:
                    rc, out, err = module.run_command([python, '-m', 'pip', 'uninstall', '-y', '--disable-pip-version-check']
                                                      + (manifest.get('pip_args') or p['pip_args']) + [dist])
                    if rc != 0:
                        module.fail_json(msg='%s -m pip uninstall %s failed: %s' % (python, dist, err or out))
        ops_backup.remove_paths(manifest)
        count = ops_backup.extract(p['dir'], manifest)
        stamp = manifest.get('stamp')
        if stamp and os.path.isfile(stamp):
            os.unlink(stamp)
        if p['consume']:
            shutil.rmtree(p['dir'])
        module.exit_json(changed=True, restored=count, manifest=summary(manifest))
    except (ops_backup.BackupError, OSError) as exc:
        module.fail_json(msg='%s: %s' % (p['dir'], exc))


if __name__ == '__main__':
    main()
