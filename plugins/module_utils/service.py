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
import re

from ansible_collections.ascend.serving.plugins.module_utils.plan import sh_expanding as _sh_expanding, sh_literal as _sh_literal

CONTAINER_NAME = 'vllm-ascend'
# The variable vLLM reads its API key from; secret.env exports it, the container gets it by name.
API_KEY_ENV = 'VLLM_API_KEY'
# Where the launch script records the digest of what it starts (tmpfs: gone after a reboot, when
# nothing runs); deploy restarts an instance whose running digest differs from the desired one.
RUN_DIGEST_DIR = '/run/ascend-serving'
_ENV_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
# Paths written into a unit or a script: no whitespace, quotes, backslashes or control characters.
_UNIT_PATH_RE = re.compile(r'^/[A-Za-z0-9._/+@:,=-]+$')

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
    """``docker run`` argv of the container runtime (``--net=host`` as the vllm-ascend docs).

    ``--pull=never``: the image was fetched (and its digest checked) by ascend_ops; a start never
    pulls a tag that may have moved since."""
    if not image:
        raise ServiceError('%s: the container runtime needs an image (release.image)' % plan['host'])
    argv = ['docker', 'run', '--rm', '--pull=never', '--name', CONTAINER_NAME, '--net=host',
            '--shm-size=%s' % shm_size]
    for index in range(int(npus)):
        argv += ['--device', '/dev/davinci%d' % index]
    for dev in CONTROL_DEVICES:
        argv += ['--device', dev]
    for src, dst, mode in tuple(DRIVER_MOUNTS) + tuple(extra_mounts):
        argv += ['-v', '%s:%s%s' % (src, dst, (':' + mode) if mode else '')]
    return argv


def run_digest_path(unit):
    """Where the launch script of ``unit`` records the digest of what it started."""
    return '%s/%s.digest' % (RUN_DIGEST_DIR, unit)


def path_problem(what, path):
    """Why ``path`` cannot go into a systemd unit or a shell script as it is, or None."""
    if not isinstance(path, str) or not _UNIT_PATH_RE.match(path) or '/../' in path + '/':
        return ('%s %r must be an absolute path of letters, digits and ._/+@:,=- only (no whitespace, quotes, '
                'backslashes, %%, .. or control characters)' % (what, path))
    return None


def _check_path(host, what, path):
    problem = path_problem(what, path)
    if problem:
        raise ServiceError('%s: %s' % (host, problem))
    return path


def launch_script(plan, env_paths, runtime='host', image=None, npus=None, model_mount=None, auth=False,
                  run_digest=None, unit='ascend-vllm.service', image_name=None):
    """The launch script the unit runs.

    ``env_paths`` are sourced in order and must exist (a missing environment file stops the start:
    without hccl.env vLLM would come up without its HCCL/GLOO interfaces). ``auth``: the last
    of them exports VLLM_API_KEY, which the script requires non-empty and hands to the container
    by name only (never its value in an argv). ``run_digest``: recorded in
    :func:`run_digest_path` before vLLM starts. ``image``: what ``docker run`` runs (the local image ID
    when known); ``image_name``: the reference it was fetched as, named in a comment."""
    host = plan['host']
    lines = [
        '#!/bin/sh',
        '# vLLM launch for %s: %s, DP ranks %s of %d, TP %s. Rendered by ascend.serving: edit the inventory.'
        % (host, plan['role'], ','.join(str(r) for r in plan['dp_ranks']), plan['dp_size'], plan['tp_size']),
        'set -e',
    ]
    if runtime == 'container' and image_name and image_name != image:
        lines.insert(2, '# image: %s (%s)' % (' '.join(str(image_name).split()), ' '.join(str(image).split())))
    for env_path in env_paths:
        lines.append('. %s' % _sh_literal(_check_path(host, 'environment file', env_path)))
    for path in plan.get('source') or []:
        lines.append('. %s' % _sh_literal(path))
    if auth:
        lines.append(': "${%s:?is not set: the API key file did not export it}"' % API_KEY_ENV)
    if run_digest:
        lines.append("mkdir -p -m 0700 %s" % RUN_DIGEST_DIR)
        lines.append("printf '%%s\\n' %s > %s" % (_sh_literal(run_digest), _sh_literal(run_digest_path(unit))))
    argv = [_sh_literal(a) for a in plan['argv']]
    if runtime == 'host':
        lines.append('exec ' + ' '.join(argv))
    elif runtime == 'container':
        mounts = ()
        if model_mount:
            mounts = ((_check_path(host, 'model directory', model_mount), model_mount, ''),)
        run = docker_run_argv(plan, image, npus, extra_mounts=mounts)
        env_names = [pair[0] for pair in plan['env']] + ([API_KEY_ENV] if auth else [])
        words = [_sh_literal(a) for a in run]
        for name in env_names:
            if not _ENV_NAME_RE.match(name):
                raise ServiceError('%s: environment variable name %r is not a valid name' % (host, name))
            words += ['-e', _sh_literal(name)]
        words.append(_sh_literal(image))
        lines.append('exec ' + ' '.join(words + argv))
    else:
        raise ServiceError('%s: runtime must be host or container, got %r' % (host, runtime))
    return '\n'.join(lines) + '\n'


def _unit_text(host, what, value):
    """``value`` for a unit file line: no control characters (a newline would start a new
    directive), ``%`` escaped (systemd expands specifiers)."""
    value = str(value)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ServiceError('%s: %s %r contains a control character (newline, tab, ...): it cannot go into a '
                           'systemd unit' % (host, what, value))
    return value.replace('%', '%%')


def unit_file(plan, launch_path, managed_comment, stop_timeout=120, runtime='host'):
    """The systemd unit. No Restart=: a DP group restarts as a whole, which the playbook does.

    Container runtime: the unit's main process is the docker CLI while vLLM runs under the
    container runtime, outside the unit's cgroup. So the unit removes a container left by an
    earlier run before it starts, stops the container itself (``docker stop``: SIGTERM, then
    SIGKILL after the grace period, even when vLLM hangs) and removes it after every stop or
    crash of the CLI: no orphan keeps the NPUs and ports, and the next start finds the name free."""
    host = plan['host']
    launch = _unit_text(host, 'launch script path', _check_path(host, 'launch script path', launch_path))
    service = [
        '[Service]',
        'Type=exec',
    ]
    if runtime == 'container':
        grace = max(10, int(stop_timeout) - 30)
        service += [
            'ExecStartPre=-docker rm -f %s' % CONTAINER_NAME,
            'ExecStart=%s' % launch,
            'ExecStop=-docker stop -t %d %s' % (grace, CONTAINER_NAME),
            'ExecStopPost=-docker rm -f %s' % CONTAINER_NAME,
        ]
    elif runtime == 'host':
        service.append('ExecStart=%s' % launch)
    else:
        raise ServiceError('%s: runtime must be host or container, got %r' % (host, runtime))
    return '\n'.join([
        '# %s' % _unit_text(host, 'managed comment', managed_comment),
        '[Unit]',
        'Description=vLLM-Ascend %s (%s, instance %s, DP ranks %s/%d)' % (
            _unit_text(host, 'served model name', plan['served_model_name'] or plan['model']),
            plan['role'], _unit_text(host, 'instance name', plan['instance']),
            ','.join(str(r) for r in plan['dp_ranks']), plan['dp_size']),
        'After=network-online.target',
        'Wants=network-online.target',
        '',
    ] + service + [
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
              'install_method', 'runtime', 'image', 'image_id', 'artifacts', 'model', 'model_revision',
              'served_model_name', 'port', 'auth', 'plan_digest')
# What the running process was started from: a difference restarts it (run_digest).
RUN_KEYS = ('instance', 'role', 'dp_ranks', 'dp_size', 'release', 'install_method', 'runtime', 'image', 'image_id',
            'artifacts', 'model', 'port', 'auth', 'plan_digest')
STATE_VERSION = 1


def _artifact_sums(method):
    """``{artifact: sha256}`` of an install method, as the state record keeps them."""
    return dict((name, (art or {}).get('sha256')) for name, art in sorted((method.get('artifacts') or {}).items()))


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


def node_state(plan, runtime='auto', auth=False, image_id=None):
    """The state record of one node: release, profile (name and digest), image (reference and the
    local image ID it resolved to) or artifact sums, whether the endpoint requires an API key (never
    the key), plan digest and the run digest; two nodes running the same thing have equal records."""
    profile = plan.get('profile') or {}
    release = profile.get('release') or {}
    method_name = install_method(plan)
    runtime = resolve_runtime(plan, runtime)
    method = (release.get('install_methods') or {}).get(method_name) or {}
    artifacts = _artifact_sums(method)
    if auth not in (True, False):
        raise ServiceError('%s: auth must be true or false, got %r' % (plan.get('host'), auth))
    record = {
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
        'image_id': (image_id or None) if runtime == 'container' else None,
        'artifacts': artifacts,
        'model': plan['model'],
        'model_revision': plan.get('model_revision'),
        'served_model_name': plan['served_model_name'],
        'auth': auth,
        'plan_digest': plan_digest(plan),
    }
    record['run_digest'] = run_digest(record)
    return record


def run_digest(record):
    """The digest of what a node's process is started from (RUN_KEYS of its state record): the
    launch script records it at every start; a running digest that differs from the desired one
    means the process runs something else than the files say, whatever the last run changed."""
    return _digest(dict((key, record.get(key)) for key in RUN_KEYS))


def install_changes(profile, recorded):
    """What ascend_ops would install anew on a node whose state record is ``recorded``, for the
    resolved ``profile``: ``["key: old -> new", ...]`` for the release, install method, image and
    artifact sums (empty when nothing is deployed: there is nothing running to protect)."""
    if not recorded:
        return []
    release = (profile or {}).get('release') or {}
    name = release.get('install_method')
    method = (release.get('install_methods') or {}).get(name) or {}
    desired = {
        'release': release.get('name'),
        'install_method': name,
        'artifacts': _artifact_sums(method),
    }
    if recorded.get('runtime') == 'container':
        desired['image'] = method.get('image') or None
    return ['%s: %s -> %s' % (key, _short(recorded.get(key)), _short(value))
            for key, value in sorted(desired.items()) if recorded.get(key) != value]


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
    deployed yet: one line saying so). A desired record without an image ID (the image is not
    resolved on the node yet) compares by image reference only."""
    if not recorded:
        return ['not deployed (no state file) -> %s %s' % (desired.get('release'), desired.get('profile'))]
    lines = []
    for key in STATE_KEYS:
        old, new = recorded.get(key), desired.get(key)
        if key == 'image_id' and new is None:
            continue  # not resolved yet (the image is fetched later in the run): the tag decides
        if old != new:
            lines.append('%s: %s -> %s' % (key, _short(old), _short(new)))
    return lines
