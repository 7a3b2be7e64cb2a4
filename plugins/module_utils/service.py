# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's launch plan -> the files of its vLLM service (pure Python, stdlib only).

Three files per node, all from the one plan (module_utils/plan.py), so they cannot disagree with
render.yml's scripts:

* the environment file (``export NAME=VALUE`` lines, root-only: it may hold the API key);
* the launch script: sources the environment file and the custom-ops ``set_env.bash``, then
  ``exec``s ``vllm serve ...`` (host runtime) or ``docker run ... IMAGE`` running the same command
  (container runtime, with the Ascend device and driver mounts of the vllm-ascend docs);
* the systemd unit that runs the launch script.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import hashlib
import json

from ansible_collections.ascend.serving.plugins.module_utils.plan import sh_expanding as _sh_expanding, sh_literal as _sh_literal

UNIT_NAME = 'ascend-vllm.service'
CONTAINER_NAME = 'vllm-ascend'

# The vllm-ascend docs' `docker run` (reference notes, section 2), plus /etc/hccn.conf read-only.
CONTROL_DEVICES = ('/dev/davinci_manager', '/dev/devmm_svm', '/dev/hisi_hdc')
DRIVER_MOUNTS = (
    ('/usr/local/dcmi', '/usr/local/dcmi', ''),
    ('/usr/local/Ascend/driver/tools/hccn_tool', '/usr/local/Ascend/driver/tools/hccn_tool', ''),
    ('/usr/local/bin/npu-smi', '/usr/local/bin/npu-smi', ''),
    ('/usr/local/Ascend/driver/lib64/', '/usr/local/Ascend/driver/lib64/', ''),
    ('/usr/local/Ascend/driver/version.info', '/usr/local/Ascend/driver/version.info', ''),
    ('/etc/ascend_install.info', '/etc/ascend_install.info', ''),
    ('/etc/hccn.conf', '/etc/hccn.conf', 'ro'),
)


class ServiceError(ValueError):
    """The plan cannot be turned into a service as asked."""


def env_file(plan, extra=None):
    """The environment file: the plan's env in order, then ``extra`` (e.g. VLLM_API_KEY)."""
    lines = ['# vLLM environment for %s (%s of instance %s), from the ascend.serving launch plan.'
             % (plan['host'], plan['role'], plan['instance'])]
    for name, value in list(plan['env']) + sorted((extra or {}).items()):
        lines.append('export %s=%s' % (name, _sh_expanding(value)))
    return '\n'.join(lines) + '\n'


def docker_run_argv(plan, image, npus, shm_size='1g', extra_mounts=()):
    """``docker run`` argv of the container runtime (``--net=host`` as the vllm-ascend docs)."""
    if not image:
        raise ServiceError('%s: the container runtime needs an image (release.image)' % plan['host'])
    argv = ['docker', 'run', '--rm', '--name', CONTAINER_NAME, '--net=host', '--shm-size=%s' % shm_size]
    for index in range(int(npus)):
        argv += ['--device', '/dev/davinci%d' % index]
    for dev in CONTROL_DEVICES:
        argv += ['--device', dev]
    for src, dst, mode in tuple(DRIVER_MOUNTS) + tuple(extra_mounts):
        argv += ['-v', '%s:%s%s' % (src, dst, (':' + mode) if mode else '')]
    return argv


def launch_script(plan, env_paths, runtime='host', image=None, npus=None, model_mount=None):
    """The launch script the unit runs; ``env_paths`` are sourced in order (missing ones skipped)."""
    lines = [
        '#!/bin/sh',
        '# vLLM launch for %s: %s, DP ranks %s of %d, TP %s. Rendered by ascend.serving: edit the inventory.'
        % (plan['host'], plan['role'], ','.join(str(r) for r in plan['dp_ranks']), plan['dp_size'], plan['tp_size']),
        'set -e',
    ]
    for env_path in env_paths:
        lines.append('if [ -f %s ]; then . %s; fi' % (_sh_literal(env_path), _sh_literal(env_path)))
    for path in plan.get('source') or []:
        lines.append('. %s' % _sh_literal(path))
    argv = [_sh_literal(a) for a in plan['argv']]
    if runtime == 'host':
        lines.append('exec ' + ' '.join(argv))
    elif runtime == 'container':
        mounts = ()
        if model_mount:
            mounts = ((model_mount, model_mount, ''),)
        run = docker_run_argv(plan, image, npus, extra_mounts=mounts)
        env_names = [pair[0] for pair in plan['env']]
        words = [_sh_literal(a) for a in run]
        for name in env_names:
            words += ['-e', name]
        words.append(_sh_literal(image))
        lines.append('exec ' + ' '.join(words + argv))
    else:
        raise ServiceError('%s: runtime must be host or container, got %r' % (plan['host'], runtime))
    return '\n'.join(lines) + '\n'


def unit_file(plan, launch_path, managed_comment, stop_timeout=120):
    """The systemd unit. No Restart=: a DP group restarts as a whole, which the playbook does."""
    return '\n'.join([
        '# %s' % managed_comment,
        '[Unit]',
        'Description=vLLM-Ascend %s (%s, instance %s, DP ranks %s/%d)' % (
            plan['served_model_name'] or plan['model'], plan['role'], plan['instance'],
            ','.join(str(r) for r in plan['dp_ranks']), plan['dp_size']),
        'After=network-online.target',
        'Wants=network-online.target',
        '',
        '[Service]',
        'Type=exec',
        'ExecStart=%s' % launch_path,
        'KillMode=mixed',
        'TimeoutStopSec=%d' % stop_timeout,
        'LimitNOFILE=65536',
        'SyslogIdentifier=ascend-vllm',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
    ])


def plan_digest(plan):
    """A stable digest of what the node runs (env + argv + sourced files), for state and upgrades."""
    data = {'env': plan['env'], 'argv': plan['argv'], 'source': plan.get('source') or []}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode('utf-8')).hexdigest()
