# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils.versions import (
    VersionError, at_least, parse_key_values, version_key)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'version_info')


def _read(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.mark.parametrize('name,key,value', [
    ('cann-toolkit-install-info-8.2.RC1-vllm-ascend-2666.txt', 'version', '8.2.RC1'),
    ('cann-toolkit-install-info-8.2.RC1-vllm-ascend-2666.txt', 'path', '/usr/local/Ascend/ascend-toolkit/8.2.RC1/aarch64-linux'),
    ('cann-toolkit-install-info-8.1.RC1.alpha001-vllm-ascend-834.txt', 'version', '8.1.RC1.alpha001'),
    ('cann-toolkit-install-info-8.3.RC2-vllm-ascend-6299.txt', 'arch', 'aarch64'),
    ('cann-toolkit-install-info-8.1.T18-vllm-ascend-1048.txt', 'version', '8.1.T18'),
    ('driver-version.info-24.1.rc2.2-itove-ascend.txt', 'Version', '24.1.rc2.2'),
    ('driver-version.info-24.1.rc2.2-itove-ascend.txt', 'compatible_version_fw', '[7.0.0,7.2.99]'),
    ('driver-version.info-23.0.7-mindcluster-fixture.txt', 'Version', '23.0.7'),
])
def test_real_version_files(name, key, value):
    assert parse_key_values(_read(name))[key] == value


def test_comment_lines_are_skipped():
    assert parse_key_values(_read('driver-version.info-24.1.rc2.2-itove-ascend.txt')).get('# cat /usr/local/Ascend/driver/version.info') is None


@pytest.mark.parametrize('older,newer', [
    ('8.1.RC1', '8.2.RC1'),
    ('8.2.RC1', '8.2.RC2'),
    ('8.2.RC2', '8.2.0'),
    ('8.1.RC1.alpha001', '8.1.RC1'),
    ('8.1.T18', '8.1.RC1'),
    ('8.0.0', '8.1.RC1'),
    ('8.2.RC1', '8.3.RC2'),
    ('24.1.rc2.2', '24.1.rc3'),
    ('24.1.rc3', '24.1.rc3.7'),
    ('25.0.rc1.b010', '25.0.rc1.1'),
    ('23.0.7', '24.1.rc2.2'),
])
def test_ordering(older, newer):
    assert version_key(older) < version_key(newer)
    assert at_least(newer, older) and not at_least(older, newer)


def test_equal_forms():
    assert version_key('8.2') == version_key('8.2.0')
    assert at_least('8.2.RC1', '8.2.RC1')


@pytest.mark.parametrize('bad', ['', None, 'latest', '8.2.RC1-x', '8.x.0'])
def test_rejects_non_versions(bad):
    with pytest.raises(VersionError):
        version_key(bad)
