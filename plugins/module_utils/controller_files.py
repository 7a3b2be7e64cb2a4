# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a few text files on the controller (the action plugin controller_files), without a module
round trip per file: create the parent directories, write a file only when its bytes or mode
differ, atomically."""

from __future__ import annotations

import os
import tempfile


class FilesError(Exception):
    """A file that cannot be written, or a bad mode."""


def _mode(value, what):
    try:
        mode = int(str(value), 8)
    except ValueError:
        raise FilesError('%s: mode %r is not an octal number such as "0640"' % (what, value))
    if not 0 <= mode <= 0o7777:
        raise FilesError('%s: mode %r is out of range' % (what, value))
    return mode


def write_files(files, directory_mode='0755', check_mode=False):
    """files: [{path, content, mode}]. Returns the paths that changed (or would, in check mode)."""
    dir_mode = _mode(directory_mode, 'directory_mode')
    changed = []
    for entry in files:
        path = os.path.abspath(os.path.expanduser(entry['path']))
        data = entry['content'].encode('utf-8')
        mode = _mode(entry.get('mode') or '0644', path)
        try:
            with open(path, 'rb') as handle:
                same = handle.read() == data and (os.stat(path).st_mode & 0o7777) == mode
        except FileNotFoundError:
            same = False
        except OSError as exc:
            raise FilesError('%s: %s' % (path, exc.strerror or exc))
        if same:
            continue
        changed.append(path)
        if check_mode:
            continue
        directory = os.path.dirname(path)
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=dir_mode)
                os.chmod(directory, dir_mode)  # not narrowed by the umask
            fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
            try:
                with os.fdopen(fd, 'wb') as handle:
                    handle.write(data)
                os.chmod(tmp, mode)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise FilesError('%s: %s' % (path, exc.strerror or exc))
    return changed
