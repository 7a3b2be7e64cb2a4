#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: service_files
short_description: Make a set of service files, directories and absences true in one call
version_added: 0.2.0
description:
  - Brings several small files (rendered on the controller), their directories and files that
    must not exist to the wanted state in one round trip, instead of one task per file.
  - Every entry is checked first (absolute paths, each once, modes, owners, groups, what exists
    at each path, the directory of each file); a bad entry fails the call before anything changes.
  - Then directories are created, files are written (atomically, through a temporary file in the
    same directory) only when their content, mode, owner or group differ, and O(absent) paths are
    removed.
  - Returns which paths changed (RV(changed_paths)), so a caller can restart a service only for
    the files that matter.
  - Content is text; a file whose content is secret belongs in its own C(no_log) task (this
    module shows the content in C(--diff)).
author:
  - ascend.serving contributors (@ascend-serving)
options:
  directories:
    description: Directories that must exist, each C({path, mode, owner, group}).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      mode:
        description: Octal mode as a string, for example C("0700").
        type: str
        default: "0755"
      owner:
        description: Owner (name or uid).
        type: str
      group:
        description: Group (name or gid).
        type: str
  files:
    description: Files that must exist with exactly this content, each C({path, content, mode, owner, group}).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path; its directory must exist or be listed in O(directories).
        type: path
        required: true
      content:
        description: The whole content of the file.
        type: str
        required: true
      mode:
        description: Octal mode as a string, for example C("0600").
        type: str
        default: "0644"
      owner:
        description: Owner (name or uid).
        type: str
      group:
        description: Group (name or gid).
        type: str
  absent:
    description: Paths of files that must not exist.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what would change and writes nothing.
  diff_mode:
    support: full
    description: One diff per changed file (content, or the attributes that differ).
"""

EXAMPLES = r"""
- name: Write the launch script, the state record and the unit
  ascend.serving.service_files:
    directories:
      - {path: /etc/ascend-serving, mode: "0700", owner: root, group: root}
    files:
      - path: /etc/ascend-serving/launch.sh
        content: "{{ launch_script }}"
        mode: "0700"
        owner: root
        group: root
      - path: /etc/systemd/system/ascend-vllm.service
        content: "{{ lookup('ansible.builtin.template', 'ascend-vllm.service.j2') }}"
        mode: "0644"
    absent:
      - /etc/ascend-serving/secret.env
  register: written
"""

RETURN = r"""
changed_paths:
  description: The paths created, rewritten, re-permissioned or removed (or that would be, in check mode).
  type: list
  elements: str
  returned: always
  sample: ["/etc/ascend-serving/launch.sh"]
"""

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text


def _mode(module, where, value):
    try:
        mode = int(str(value), 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        module.fail_json(msg='%s: mode %r is not an octal mode such as "0600"' % (where, value))
    return mode


def _uid(module, where, owner):
    if owner is None:
        return -1
    if str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        module.fail_json(msg='%s: owner %r does not exist on this node' % (where, owner))


def _gid(module, where, group):
    if group is None:
        return -1
    if str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        module.fail_json(msg='%s: group %r does not exist on this node' % (where, group))


def _attr_changes(st, mode, uid, gid):
    """Which of mode / owner / group of ``st`` differ from the wanted ones."""
    changes = {}
    if stat.S_IMODE(st.st_mode) != mode:
        changes['mode'] = (oct(stat.S_IMODE(st.st_mode)), oct(mode))
    if uid != -1 and st.st_uid != uid:
        changes['owner'] = (st.st_uid, uid)
    if gid != -1 and st.st_gid != gid:
        changes['group'] = (st.st_gid, gid)
    return changes


def _attr_diff(path, changes):
    return {
        'before_header': path, 'after_header': path,
        'before': ''.join('%s: %s\n' % (k, v[0]) for k, v in sorted(changes.items())),
        'after': ''.join('%s: %s\n' % (k, v[1]) for k, v in sorted(changes.items())),
    }


def _apply_attrs(path, mode, uid, gid):
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def _lstat(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def validate(module):
    """Check every entry before anything changes: a bad entry fails the call with nothing done."""
    p = module.params
    paths = [d['path'] for d in p['directories']] + [f['path'] for f in p['files']] + p['absent']
    for path in paths:
        if not os.path.isabs(path):
            module.fail_json(msg='%s: paths must be absolute' % path)
    normal = [os.path.normpath(path) for path in paths]
    duplicates = sorted({path for path in normal if normal.count(path) > 1})
    if duplicates:
        module.fail_json(msg='each path may appear once; repeated: %s' % ', '.join(duplicates))
    listed = set()
    directories, files = [], []
    for spec in p['directories']:
        path = os.path.normpath(spec['path'])
        where = 'directory %s' % path
        st = _lstat(path)
        if st is not None and not stat.S_ISDIR(st.st_mode):
            module.fail_json(msg='%s exists and is not a directory; move it away and re-run' % path)
        directories.append((path, st, _mode(module, where, spec['mode']),
                            _uid(module, where, spec['owner']), _gid(module, where, spec['group'])))
        listed.add(path)
    for spec in p['files']:
        path = os.path.normpath(spec['path'])
        where = 'file %s' % path
        st = _lstat(path)
        if st is not None and not stat.S_ISREG(st.st_mode):
            module.fail_json(msg='%s exists and is not a regular file; move it away and re-run' % path)
        directory = os.path.dirname(path)
        if directory not in listed and not os.path.isdir(directory):
            module.fail_json(msg='%s: its directory %s does not exist; list it in directories' % (where, directory))
        files.append((path, st, to_bytes(spec['content'], errors='surrogate_or_strict'),
                      _mode(module, where, spec['mode']),
                      _uid(module, where, spec['owner']), _gid(module, where, spec['group'])))
    absent = []
    for path in p['absent']:
        path = os.path.normpath(path)
        st = _lstat(path)
        if st is not None and stat.S_ISDIR(st.st_mode):
            module.fail_json(msg='%s is a directory; absent removes files only' % path)
        absent.append((path, st))
    return directories, files, absent


def ensure_directory(module, entry, result):
    path, st, mode, uid, gid = entry
    if st is None:
        result['diff'].append({'before_header': path, 'after_header': path,
                               'before': 'state: absent\n', 'after': 'state: directory\n'})
        result['changed_paths'].append(path)
        if not module.check_mode:
            os.makedirs(path, mode)
            _apply_attrs(path, mode, uid, gid)
        return
    changes = _attr_changes(st, mode, uid, gid)
    if changes:
        result['diff'].append(_attr_diff(path, changes))
        result['changed_paths'].append(path)
        if not module.check_mode:
            _apply_attrs(path, mode, uid, gid)


def ensure_file(module, entry, result):
    path, st, wanted, mode, uid, gid = entry
    before = None
    if st is not None:
        with open(path, 'rb') as handle:
            before = handle.read()
    if before == wanted:
        changes = _attr_changes(st, mode, uid, gid)
        if changes:
            result['diff'].append(_attr_diff(path, changes))
            result['changed_paths'].append(path)
            if not module.check_mode:
                _apply_attrs(path, mode, uid, gid)
        return
    result['diff'].append({
        'before_header': path, 'after_header': path,
        'before': '' if before is None else to_text(before, errors='surrogate_or_replace'),
        'after': to_text(wanted, errors='surrogate_or_replace'),
    })
    result['changed_paths'].append(path)
    if module.check_mode:
        return
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
    try:
        # The temporary file gets its final owner and mode before it holds the content, so a
        # root-only file is never readable by others, not even for a moment.
        _apply_attrs(tmp, mode, uid, gid)
        with os.fdopen(fd, 'wb') as handle:
            fd = None
            handle.write(wanted)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
        tmp = None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def ensure_absent(module, entry, result):
    path, st = entry
    if st is None:
        return
    result['diff'].append({'before_header': path, 'after_header': path,
                           'before': 'state: file\n', 'after': 'state: absent\n'})
    result['changed_paths'].append(path)
    if not module.check_mode:
        os.unlink(path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='path', required=True),
                mode=dict(type='str', default='0755'),
                owner=dict(type='str'),
                group=dict(type='str'),
            )),
            files=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='path', required=True),
                content=dict(type='str', required=True),
                mode=dict(type='str', default='0644'),
                owner=dict(type='str'),
                group=dict(type='str'),
            )),
            absent=dict(type='list', elements='path', default=[]),
        ),
        supports_check_mode=True,
    )
    directories, files, absent = validate(module)
    result = {'changed_paths': [], 'diff': []}
    try:
        for entry in directories:
            ensure_directory(module, entry, result)
        for entry in files:
            ensure_file(module, entry, result)
        for entry in absent:
            ensure_absent(module, entry, result)
    except OSError as exc:
        module.fail_json(msg='%s: %s' % (getattr(exc, 'filename', None) or 'service files', to_native(exc)),
                         changed_paths=result['changed_paths'])
    diff = result.pop('diff')
    if module._diff:
        result['diff'] = diff
    module.exit_json(changed=bool(result['changed_paths']), **result)


if __name__ == '__main__':
    main()
