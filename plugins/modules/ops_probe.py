#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ops_probe
short_description: What the custom operators of a vLLM-Ascend release find in the Python that runs vLLM
version_added: 0.3.0
description:
  - Internal to role C(ascend.serving.ascend_ops); not a public interface.
  - Run it B(by the Python that runs vLLM), with the task var C(ansible_python_interpreter) set to
    what M(ascend.serving.vllm_python) found. It reports that interpreter, its version, whether it is
    a virtualenv or an externally managed (PEP 668) system Python, whether it has pip, the installed
    versions of O(dists), which of O(exists) exist, the sha256 and mode of O(sha256) files, and the
    install stamp a previous run recorded.
  - Changes nothing.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  dists:
    description: Python distributions whose installed version is wanted.
    type: list
    elements: str
    default: []
  exists:
    description: Paths whose existence is wanted.
    type: list
    elements: str
    default: []
  sha256:
    description: Files whose sha256 (and mode, owner, group) is wanted.
    type: list
    elements: str
    default: []
  stamp:
    description:
      - The install stamp (JSON) a previous run recorded. Missing, unreadable or not a JSON object
        counts as nothing recorded.
    type: str
    required: true
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
"""

EXAMPLES = r"""
- name: What is installed already
  ascend.serving.ops_probe:
    dists: [custom_ops, torch_npu]
    exists: [/usr/local/Ascend/ascend-toolkit/latest/opp]
    sha256: [/usr/local/Ascend/ascend-toolkit/8.2.RC1/opp/built-in/op_proto/lib/linux/aarch64/libopsproto_rt2.0.so]
    stamp: /opt/ascend-serving/ops/v0.11.0rc0-a3.json
  vars:
    ansible_python_interpreter: /usr/bin/python3
  register: probe
"""

RETURN = r"""
python:
  description: The interpreter that ran the probe (C(sys.executable)).
  returned: success
  type: str
version:
  description: Its C(major.minor) version.
  returned: success
  type: str
  sample: "3.11"
venv:
  description: Whether it is a virtualenv.
  returned: success
  type: bool
externally_managed:
  description: Whether its standard library has an C(EXTERNALLY-MANAGED) marker (PEP 668).
  returned: success
  type: bool
pip:
  description: Whether it can import pip.
  returned: success
  type: bool
dists:
  description: "O(dists) -> installed version, or null when not installed."
  returned: success
  type: dict
exists:
  description: "O(exists) -> whether the path exists."
  returned: success
  type: dict
sha256:
  description: "O(sha256) -> the file's sha256, or null when it is not a file."
  returned: success
  type: dict
stat:
  description: "O(sha256) files that exist -> C(mode) (4 octal digits), C(uid), C(gid)."
  returned: success
  type: dict
stamp:
  description: The parsed stamp, or an empty dict.
  returned: success
  type: dict
"""

import hashlib
import importlib.util
import json
import os
import sys
import sysconfig

from ansible.module_utils.basic import AnsibleModule

try:
    from importlib import metadata
except ImportError:  # Python < 3.8
    metadata = None


def dist_version(dist):
    """The installed version of a distribution, None when it is not installed."""
    if metadata is None:
        return None
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def file_stat(path):
    st = os.stat(path)
    return {'mode': '%04o' % (st.st_mode & 0o7777), 'uid': st.st_uid, 'gid': st.st_gid}


def read_stamp(path):
    """What a previous run recorded; unreadable or not JSON = nothing recorded (everything is redone)."""
    try:
        with open(path, encoding='utf-8') as handle:
            found = json.load(handle)
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def probe(dists, exists, sha256, stamp):
    """The probe's result for the interpreter running this code."""
    return {
        'python': sys.executable,
        'version': '%d.%d' % sys.version_info[:2],
        'venv': sys.prefix != getattr(sys, 'base_prefix', sys.prefix),
        'externally_managed': os.path.isfile(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')),
        'pip': importlib.util.find_spec('pip') is not None,
        'dists': dict((dist, dist_version(dist)) for dist in dists),
        'exists': dict((path, os.path.exists(path)) for path in exists),
        'sha256': dict((path, file_sha256(path) if os.path.isfile(path) else None) for path in sha256),
        'stat': dict((path, file_stat(path)) for path in sha256 if os.path.isfile(path)),
        'stamp': read_stamp(stamp),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dists=dict(type='list', elements='str', default=[]),
            exists=dict(type='list', elements='str', default=[]),
            sha256=dict(type='list', elements='str', default=[]),
            stamp=dict(type='str', required=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = probe(params['dists'], params['exists'], params['sha256'], params['stamp'])
    except OSError as exc:
        module.fail_json(msg='cannot read %s: %s' % (getattr(exc, 'filename', '?'), exc))
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
