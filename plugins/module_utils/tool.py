# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One small runner for the command-line tools the modules read (npu-smi, hccn_tool, ip, ...).

community.general's CmdRunner is the model, kept small and standard-library only:

* ``SEARCH`` is the one place that says where each tool is looked for after ``PATH`` (the npu-smi
  list is the union of what npu_info, hccn_info and the preflight probe searched) and what to
  install when it is missing.
* ``Runner.find`` looks a tool up (an explicit path from an option must be an executable file;
  otherwise ``PATH``, then the tool's search list) and raises ``ToolMissing`` naming the tool and
  every place searched.
* ``Runner.run`` runs an argv without a shell in the C locale (the tools print English there) with a
  timeout, returns ``Result(argv, rc, stdout, stderr, parsed)``, and optionally parses stdout with a
  parser of module_utils; a non-zero exit (``ToolFailed``) or unparseable output (``ToolParseError``)
  raises an error that carries what a module passes to ``fail_json`` (``error.details``).

The two things that touch the host are replaceable: ``which(name, dirs)`` and
``execute(argv, timeout) -> (rc, stdout, stderr)``. The defaults are ``shutil.which`` (``PATH``,
then the search list) and ``execute`` below (``subprocess.run``). ``Runner.for_module(module)``
uses ``AnsibleModule.get_bin_path`` and ``AnsibleModule.run_command`` instead (what npu_info and
nic_info always used; ``run_command`` has no timeout).
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess

from ansible_collections.ascend.serving.plugins.module_utils._parse import ParseError

# The tools print English (the parsers read it) in the C locale.
C_LOCALE = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'}

# Where each tool is looked for after PATH, and what provides it.
SEARCH = {
    'npu-smi': (('/usr/local/bin', '/usr/local/sbin', '/usr/local/Ascend/driver/tools'), 'the Ascend NPU driver'),
    'hccn_tool': (('/usr/local/Ascend/driver/tools',), 'the Ascend NPU driver'),
    'ip': (('/sbin', '/usr/sbin'), 'iproute2'),
}

Result = collections.namedtuple('Result', 'argv rc stdout stderr parsed')


def search_dirs(name):
    """The directories searched for tool ``name`` after PATH (a list; empty for a tool not in SEARCH)."""
    return list(SEARCH.get(name, ((), None))[0])


def command_line(argv):
    return ' '.join(argv)


class ToolError(Exception):
    """A tool could not be found, run or parsed. ``details``: the extra keys for ``fail_json``."""

    def __init__(self, msg, **details):
        super(ToolError, self).__init__(msg)
        self.msg = msg
        self.details = details


class ToolMissing(ToolError):
    """``name`` is on neither PATH nor its search list; ``searched`` is ``['PATH'] + dirs``."""

    def __init__(self, name, dirs, option=None):
        self.name = name
        self.dirs = list(dirs)
        self.searched = ['PATH'] + self.dirs
        self.option = option
        provider = SEARCH.get(name, ((), None))[1]
        msg = '%s was not found on PATH%s.' % (name, ' or in %s' % ', '.join(self.dirs) if self.dirs else '')
        if provider:
            msg += ' Install %s' % provider
            msg += ', or set %s.' % option if option else '.'
        elif option:
            msg += ' Set %s.' % option
        super(ToolMissing, self).__init__(msg, searched=self.searched)


class ToolFailed(ToolError):
    """The tool exited non-zero (``rc``; None when it was killed after its timeout)."""

    def __init__(self, argv, rc, stdout, stderr):
        self.argv, self.rc, self.stdout, self.stderr = list(argv), rc, stdout, stderr
        reason = (stderr or stdout or '').strip()
        if rc is None:
            msg = '%s: %s' % (command_line(argv), reason)
        else:
            msg = '%s exited with %d: %s' % (command_line(argv), rc, reason)
        super(ToolFailed, self).__init__(msg, cmd=self.argv, rc=rc, stdout=stdout, stderr=stderr)


class ToolParseError(ToolError):
    """The tool's output does not have the shape its parser expects (``line``: the offending line)."""

    def __init__(self, argv, error, stdout, stderr):
        self.argv, self.error, self.line = list(argv), error, error.line
        super(ToolParseError, self).__init__(
            'cannot parse the output of %s: %s' % (command_line(argv), error),
            cmd=self.argv, offending_line=error.line, stdout=stdout, stderr=stderr)


def which(name, dirs):
    """``name`` on PATH, else in ``dirs`` (the first executable file), or None."""
    return shutil.which(name) or (shutil.which(name, path=os.pathsep.join(dirs)) if dirs else None)


def execute(argv, timeout=None):
    """``(rc, stdout, stderr)`` of argv (text), run in the C locale without a shell.

    Not ``AnsibleModule.run_command``: its 1 s select loop can return rc 0 with the output of a
    slow child lost (ansible/ansible#51393), which turned busy nodes' answers into "no output".
    ``subprocess.run`` reads both pipes to the end. A command still running after timeout seconds
    is killed: rc None, and the reason in stderr. A command that cannot start: rc 127, the reason
    in stderr.
    """
    env = dict(os.environ, **C_LOCALE)
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, '', 'still running after %s s, killed' % timeout
    except OSError as exc:
        return 127, '', str(exc)
    return (proc.returncode, proc.stdout.decode('utf-8', 'replace'),
            proc.stderr.decode('utf-8', 'replace'))


class Runner(object):
    """Finds and runs tools; see the module docstring."""

    def __init__(self, which=which, execute=execute, timeout=None):
        self.which = which
        self.execute = execute
        self.timeout = timeout

    @classmethod
    def for_module(cls, module, execute=None, timeout=None):
        """A runner that finds tools with ``module.get_bin_path`` and runs them with ``execute``,
        by default ``module.run_command`` in the C locale (which has no timeout)."""

        def module_which(name, dirs):
            return module.get_bin_path(name, opt_dirs=list(dirs))

        def run_command(argv, timeout=None):  # pylint: disable=unused-argument
            try:
                return module.run_command(argv, expand_user_and_vars=False)
            except OSError as exc:
                return 127, '', str(exc)

        if execute is None:
            module.run_command_environ_update = dict(C_LOCALE)
            execute = run_command
        return cls(which=module_which, execute=execute, timeout=timeout)

    def find(self, name, path=None, option=None, dirs=None):
        """The path of tool ``name``.

        ``path`` (the value of module option ``option``) wins and must be an executable file;
        otherwise ``which(name, dirs)`` with ``dirs`` defaulting to ``SEARCH[name]``. Raises
        ToolError for a bad ``path``, ToolMissing when nothing is found.
        """
        if path:
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise ToolError('%s %s is not an executable file.' % (option or name, path))
            return path
        dirs = search_dirs(name) if dirs is None else list(dirs)
        found = self.which(name, dirs)
        if not found:
            raise ToolMissing(name, dirs, option)
        return found

    def run(self, argv, parser=None, check=True, timeout=None):
        """Run ``argv``; a Result, with ``parsed`` = ``parser(stdout)`` when a parser is given.

        ``check``: a non-zero exit (or a timeout) raises ToolFailed (before any parsing); without
        it the Result carries the rc and no parsing happens unless rc is 0. A parser's ParseError
        becomes ToolParseError.
        """
        argv = list(argv)
        rc, out, err = self.execute(argv, self.timeout if timeout is None else timeout)
        if rc != 0:
            if check:
                raise ToolFailed(argv, rc, out, err)
            return Result(argv, rc, out, err, None)
        parsed = None
        if parser is not None:
            try:
                parsed = parser(out)
            except ParseError as exc:
                raise ToolParseError(argv, exc, out, err)
        return Result(argv, rc, out, err, parsed)
