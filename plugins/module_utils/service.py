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


# What a node runs, as recorded in its state.json (deploy writes it, status and upgrade read it).
STATE_KEYS = ('instance', 'role', 'dp_ranks', 'dp_size', 'profile', 'profile_digest', 'release',
              'install_method', 'runtime', 'image', 'artifacts', 'model', 'served_model_name', 'port',
              'plan_digest')
STATE_VERSION = 1


def _digest(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode('utf-8')).hexdigest()


def install_method(plan):
    """The release's install method the plan was made for (profile ``release.install_method``)."""
    return ((plan.get('profile') or {}).get('release') or {}).get('install_method')


def resolve_runtime(plan, runtime='auto'):
    """``auto``: the container runtime for image releases, vllm on the host otherwise."""
    if runtime == 'auto':
        return 'container' if install_method(plan) == 'image' else 'host'
    if runtime not in ('host', 'container'):
        raise ServiceError('%s: runtime must be auto, host or container, got %r' % (plan.get('host'), runtime))
    return runtime


def node_state(plan, runtime='auto'):
    """The state record of one node: release, profile (name and digest), image or artifact sums,
    plan digest; two nodes running the same thing have equal records."""
    profile = plan.get('profile') or {}
    release = profile.get('release') or {}
    method_name = install_method(plan)
    runtime = resolve_runtime(plan, runtime)
    method = (release.get('install_methods') or {}).get(method_name) or {}
    artifacts = dict((name, (art or {}).get('sha256')) for name, art in sorted((method.get('artifacts') or {}).items()))
    return {
        'version': STATE_VERSION,
        'instance': plan['instance'],
        'role': plan['role'],
        'dp_ranks': list(plan['dp_ranks']),
        'dp_size': plan['dp_size'],
        'profile': plan.get('profile_name'),
        'profile_digest': _digest(profile),
        'release': release.get('name'),
        'install_method': method_name,
        'runtime': runtime,
        'port': plan.get('port'),
        'image': (method.get('image') or None) if runtime == 'container' else None,
        'artifacts': artifacts,
        'model': plan['model'],
        'served_model_name': plan['served_model_name'],
        'plan_digest': plan_digest(plan),
    }


def _short(value):
    if isinstance(value, str) and len(value) == 64 and all(c in '0123456789abcdef' for c in value):
        return value[:12]
    if isinstance(value, dict):
        return '{%s}' % ', '.join('%s: %s' % (k, _short(v)) for k, v in sorted(value.items()))
    if isinstance(value, list):
        return '[%s]' % ', '.join(str(_short(v)) for v in value)
    return 'none' if value is None else str(value)


def state_diff(recorded, desired):
    """``["key: old -> new", ...]`` for every state key that differs (recorded None = nothing
    deployed yet: one line saying so)."""
    if not recorded:
        return ['not deployed (no state file) -> %s %s' % (desired.get('release'), desired.get('profile'))]
    lines = []
    for key in STATE_KEYS:
        old, new = recorded.get(key), desired.get(key)
        if old != new:
            lines.append('%s: %s -> %s' % (key, _short(old), _short(new)))
    return lines
