#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vllm_python
short_description: Find the Python that runs vLLM (the interpreter of the vllm command on PATH)
version_added: 0.3.0
description:
  - Internal to role C(ascend.serving.ascend_ops); not a public interface.
  - Finds O(command) on the node's E(PATH) and reads its C(#!) line. C(#!/path/to/python) names the
    interpreter; C(#!/usr/bin/env python3) and C(#!/usr/bin/env -S python3 ...) name one that is
    looked up on E(PATH), as env does.
  - Fails, saying which, when there is no such command, when it is not a script with a C(#!) line,
    or when the interpreter env would run is not on E(PATH).
  - Changes nothing.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  command:
    description: The command whose interpreter is wanted (a name looked up on E(PATH)).
    type: str
    default: vllm
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
"""

EXAMPLES = r"""
- name: The Python that runs vLLM
  ascend.serving.vllm_python:
  register: found

- name: Run a module with it
  ascend.serving.ops_probe:
    stamp: /opt/ascend-serving/ops/v0.11.0rc0-a3.json
  vars:
    ansible_python_interpreter: "{{ found.python }}"
"""

RETURN = r"""
python:
  description: The interpreter (an absolute path for C(#!/usr/bin/env NAME); as written in the C(#!) line otherwise).
  returned: success
  type: str
  sample: /usr/bin/python3
command_path:
  description: Where O(command) was found on E(PATH) (also returned on failure when found).
  returned: when found
  type: str
  sample: /usr/local/bin/vllm
shebang:
  description: The C(#!) line of O(command), without C(#!) (also returned on failure when read).
  returned: when read
  type: str
  sample: /usr/bin/python3
reason:
  description: On failure, why - C(no_command), C(not_a_script) or C(no_interpreter).
  returned: failure
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

# Why it failed (the exit codes 3, 4 and 5 of the shell program this module replaced).
NO_COMMAND = 'no_command'
NOT_A_SCRIPT = 'not_a_script'
NO_INTERPRETER = 'no_interpreter'


def which(name, path):
    """Like ``command -v NAME`` in sh: a name with a slash is itself (when executable), else the
    first executable file of that name in ``path`` (an empty entry is the current directory)."""
    if '/' in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    for directory in path.split(os.pathsep):
        candidate = os.path.join(directory or '.', name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def parse_shebang(line):
    """``(interpreter, via_env)`` from a script's first line, or None when it is no ``#!`` line
    naming one. ``#!/usr/bin/env [-S] NAME ...``: NAME, to be looked up on PATH (via_env True)."""
    if not line.startswith('#!'):
        return None
    words = line[2:].split()
    if not words:
        return None
    if os.path.basename(words[0]) != 'env':
        return words[0], False
    words = words[1:]
    if words and words[0] == '-S':
        words = words[1:]
    return (words[0], True) if words else None


def first_line(path):
    """The first line of a file as text (bytes that are no UTF-8 replaced), '' when unreadable."""
    try:
        with open(path, 'rb') as handle:
            return handle.readline(4096).decode('utf-8', 'replace').rstrip('\r\n')
    except OSError:
        return ''


def find_python(command, path):
    """``(result, reason, message)``: result holds python / command_path / shebang."""
    result = {}
    found = which(command, path)
    if not found:
        return result, NO_COMMAND, 'no %s command on PATH (%s)' % (command, path)
    result['command_path'] = found
    line = first_line(found)
    parsed = parse_shebang(line)
    if parsed is None:
        return result, NOT_A_SCRIPT, '%s on PATH is not a script with a #! line (%s)' % (command, found)
    result['shebang'] = line[2:].strip()
    interpreter, via_env = parsed
    if via_env:
        located = which(interpreter, path)
        if not located:
            return result, NO_INTERPRETER, ('the interpreter named by the #! line of %s is not on PATH (%s: #!%s)'
                                            % (command, found, result['shebang']))
        interpreter = located
    result['python'] = interpreter
    return result, None, ''


def main():
    module = AnsibleModule(
        argument_spec=dict(command=dict(type='str', default='vllm')),
        supports_check_mode=True,
    )
    result, reason, message = find_python(module.params['command'], os.environ.get('PATH', os.defpath))
    if reason:
        module.fail_json(msg=message, reason=reason, **result)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
