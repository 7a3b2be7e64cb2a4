#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: weights_info
short_description: Check a model weights directory against its manifest
version_added: 0.1.0
description:
  - Lists the files of a model directory on the managed node (sizes, optionally sha256) and
    compares them with a manifest, returned as RV(weights_info).
  - The manifest comes from O(manifest), else from O(manifest_file), else from
    C(<path>/.ascend-serving-manifest.json) when that file exists. Without any manifest only
    presence is checked - C(config.json) and at least one weight file.
  - Never changes anything on the node; a mismatch is reported (RV(weights_info.ok) false), not
    failed, so the caller decides. The module fails only on bad input (a malformed manifest, an
    explicit O(manifest_file) that does not exist).
author:
  - ascend.serving contributors (@ascend-serving)
options:
  path:
    description:
      - The model directory, as passed to C(vllm serve).
    type: path
    required: true
  manifest:
    description:
      - The manifest itself, for example from the inventory or the profile (C(model.manifest)).
      - 'A mapping C({file: {size: BYTES, sha256: HEX}}), optionally wrapped as C({files: ...}); a
        value may also be just the size (int) or just the sha256 (string). A list of
        C({path, size, sha256}) entries is accepted too. Paths are relative to O(path).'
      - Takes precedence over O(manifest_file).
    type: raw
  manifest_file:
    description:
      - A JSON manifest file on the managed node (same shapes as O(manifest)).
      - Defaults to C(<path>/.ascend-serving-manifest.json), used only when it exists.
    type: path
  sha256:
    description:
      - Also compute the sha256 of every manifest file that has one (and whose size already
        matched) and compare it. Reads every byte of the weights - minutes per hundred GB.
      - With O(build_manifest=true), hashes every file so the built manifest carries sha256s.
    type: bool
    default: false
  sha256_workers:
    description:
      - Files hashed in parallel when O(sha256=true).
    type: int
    default: 4
  ignore:
    description:
      - Glob patterns of relative paths that are not model files (C(dir/*) covers a whole
        directory). They are never listed as extra nor put in a built manifest.
      - The default skips this module's manifest and ModelScope / Hugging Face / git bookkeeping.
    type: list
    elements: str
    default: [.ascend-serving-manifest.json, .msc, .mv, .mdl, ._____temp/*, .cache/*, .git/*, .gitattributes, .huggingface/*]
  build_manifest:
    description:
      - Also return the manifest of the directory as found, as RV(weights_info.manifest), ready to
        be written to C(<path>/.ascend-serving-manifest.json).
    type: bool
    default: false
  model:
    description:
      - The hub id the weights came from, recorded in a built manifest.
    type: str
  revision:
    description:
      - The hub revision (commit id or tag) the weights must be of, recorded in a built manifest.
      - A manifest that records another revision makes the result not ok, as the files are of another
        revision (RV(weights_info.revision_problem)). With O(build_manifest=true) such a stale manifest is not
        compared; the directory is checked for presence only and a new manifest is built.
    type: str
    version_added: 0.3.0
attributes:
  check_mode:
    support: full
    description: Read-only; does the same in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
notes:
  - Extra files (a README, a C(configuration.json) added by a hub) are listed but never make the
    check fail.
  - Symlinks are followed (Hugging Face style caches link to blobs); a broken link counts as missing.
seealso:
  - name: DeepSeek-V3.2-Exp on vllm-ascend
    description: The weights this collection serves and where to download them.
    link: https://docs.vllm.ai/projects/ascend/en/latest/tutorials/DeepSeek-V3.2-Exp.html
"""

EXAMPLES = r"""
- name: Check the weights against <path>/.ascend-serving-manifest.json (sizes only)
  ascend.serving.weights_info:
    path: /root/.cache/Modelers_Park/DeepSeek-V3.2-Exp
  register: weights

- name: Fail with the names of the missing or mismatched files
  ansible.builtin.assert:
    that: weights.weights_info.ok
    fail_msg: "{{ weights.weights_info.problems | join('; ') }}"

- name: Check sizes and sha256 against a manifest kept in the inventory
  ascend.serving.weights_info:
    path: /data/models/DeepSeek-V3.2-Exp-W8A8
    manifest:
      config.json: {size: 1687, sha256: 4b1a2c...}
      model-00001-of-00163.safetensors: {size: 4302350704}
    sha256: true

- name: Produce a manifest of a verified copy, to write next to the weights
  ascend.serving.weights_info:
    path: /data/models/DeepSeek-V3.2-Exp-W8A8
    build_manifest: true
    sha256: true
  register: weights
"""

RETURN = r"""
weights_info:
  description: What the directory holds compared with the manifest.
  returned: success
  type: dict
  contains:
    path:
      description: The directory checked.
      type: str
      sample: /root/.cache/Modelers_Park/DeepSeek-V3.2-Exp
    exists:
      description: Whether O(path) is an existing directory.
      type: bool
      sample: true
    ok:
      description:
        - True when every manifest file is present with its size (and sha256 where checked); without
          a manifest, when C(config.json) and a weight file are present.
      type: bool
      sample: true
    problems:
      description: One sentence per kind of problem, naming the files (empty when RV(weights_info.ok)).
      type: list
      elements: str
      sample: ["1 file(s) missing: model-00002-of-00002.safetensors"]
    manifest_source:
      description: C(option) (O(manifest)), C(file) (a manifest file) or C(none).
      type: str
      sample: file
    manifest_file:
      description: The manifest file read; null when none was.
      type: str
      sample: /root/.cache/Modelers_Park/DeepSeek-V3.2-Exp/.ascend-serving-manifest.json
    files:
      description: Files listed by the manifest (files found when there is no manifest).
      type: int
      sample: 170
    expected_size:
      description: Total size in bytes the manifest lists (0 without a manifest).
      type: int
      sample: 689000000000
    present_size:
      description: Bytes found of the files the manifest lists (of every file without a manifest).
      type: int
      sample: 689000000000
    missing:
      description: Manifest files absent from the directory.
      type: list
      elements: str
      sample: [model-00002-of-00002.safetensors]
    size_mismatch:
      description: Manifest files present with another size.
      type: list
      elements: dict
      sample: [{path: config.json, expected: 1687, actual: 12}]
    sha256_mismatch:
      description: Manifest files whose sha256 differs (only when O(sha256=true)).
      type: list
      elements: dict
      sample: [{path: config.json, expected: 4b1a..., actual: 9f00...}]
    sha256_checked:
      description: Manifest files whose sha256 was computed and compared.
      type: list
      elements: str
      sample: [config.json]
    sha256_unverified:
      description: Manifest files with a sha256 that was not computed (O(sha256=false)).
      type: list
      elements: str
      sample: []
    extra:
      description: Files found that the manifest does not list (never a failure).
      type: list
      elements: str
      sample: [README.md]
    revision_problem:
      description: Why the manifest is stale (it records another revision than O(revision)); null otherwise.
      type: str
      sample: "the manifest records revision v1.0 of vllm-ascend/DeepSeek-V3.2-Exp-W8A8 but the pin is v1.1: ..."
    manifest:
      description: The canonical manifest of the directory as found; only with O(build_manifest=true).
      returned: when O(build_manifest=true) and the directory holds files
      type: dict
      sample: {format: ascend-serving-weights/1, files: {config.json: {size: 1687, sha256: null}}}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.serving.plugins.module_utils.weights import (
    DEFAULT_IGNORE,
    MANIFEST_NAME,
    ManifestError,
    build_manifest,
    compare,
    hash_files,
    normalize_manifest,
    presence_problems,
    revision_problem,
    scan,
    summary,
)


def load_manifest(module, path):
    """(canonical manifest or None, source, file) from the options."""
    params = module.params
    if params['manifest'] is not None:
        data = params['manifest']
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                module.fail_json(msg='manifest is a string but not JSON: %s' % exc)
        try:
            return normalize_manifest(data), 'option', None
        except ManifestError as exc:
            module.fail_json(msg='manifest (option): %s' % exc)
    manifest_file = params['manifest_file']
    if manifest_file:
        if not os.path.isfile(manifest_file):
            module.fail_json(msg='manifest_file %s does not exist: give an existing file, or leave it out to use '
                                 '%s in the model directory when present' % (manifest_file, MANIFEST_NAME))
    else:
        manifest_file = os.path.join(path, MANIFEST_NAME)
        if not os.path.isfile(manifest_file):
            return None, 'none', None
    try:
        with open(manifest_file, 'r') as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        module.fail_json(msg='cannot read the manifest %s: %s' % (manifest_file, exc))
    try:
        return normalize_manifest(data), 'file', manifest_file
    except ManifestError as exc:
        module.fail_json(msg='manifest %s: %s' % (manifest_file, exc))


def check(module):
    params = module.params
    path = params['path']
    manifest, source, manifest_file = load_manifest(module, path)
    stale = revision_problem(manifest, params['revision'])
    info = {
        'path': path,
        'exists': os.path.isdir(path),
        'manifest_source': source,
        'manifest_file': manifest_file,
        'revision_problem': stale,
    }
    if stale and params['build_manifest']:
        manifest = None  # of another revision: check presence and build the new revision's manifest
    if not info['exists']:
        why = 'is not a directory' if os.path.exists(path) else 'does not exist'
        missing = list(manifest['files']) if manifest else []
        info.update(ok=False, problems=['%s %s' % (path, why)] + ([stale] if stale else []), files=len(missing),
                    expected_size=compare(manifest, {})['expected_size'] if manifest else 0, present_size=0,
                    missing=missing, size_mismatch=[], sha256_mismatch=[], sha256_checked=[],
                    sha256_unverified=[], extra=[])
        return info
    try:
        observed = scan(path, params['ignore'])
    except OSError as exc:
        module.fail_json(msg='cannot list %s: %s' % (path, exc))
    workers = max(1, params['sha256_workers'])
    digests = {}
    if manifest:
        if params['sha256']:
            # Hash only what can still match: present, right size, with a sha256 to compare.
            wanted = [rel for rel, want in manifest['files'].items()
                      if want['sha256'] and observed.get(rel) is not None
                      and (want['size'] is None or observed[rel] == want['size'])]
            if params['build_manifest']:
                wanted = [rel for rel, size in observed.items() if size is not None]
            digests = hash_files(path, wanted, workers)
        result = compare(manifest, observed, digests)
        problems = summary(result)
        if stale:
            result['ok'] = False
            problems = [stale] + problems
    else:
        if params['sha256'] and params['build_manifest']:
            digests = hash_files(path, [rel for rel, size in observed.items() if size is not None], workers)
        problems = presence_problems(observed)
        result = {
            'ok': not problems, 'files': len(observed), 'expected_size': 0,
            'present_size': sum(size or 0 for size in observed.values()),
            'missing': [], 'size_mismatch': [], 'sha256_mismatch': [], 'sha256_checked': [],
            'sha256_unverified': [], 'extra': [],
        }
    info.update(result)
    info['problems'] = problems
    if params['build_manifest'] and any(size is not None for size in observed.values()):
        info['manifest'] = build_manifest(observed, digests, params['model'], params['revision'])
    return info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            manifest=dict(type='raw'),
            manifest_file=dict(type='path'),
            sha256=dict(type='bool', default=False),
            sha256_workers=dict(type='int', default=4),
            ignore=dict(type='list', elements='str', default=list(DEFAULT_IGNORE)),
            build_manifest=dict(type='bool', default=False),
            model=dict(type='str'),
            revision=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, weights_info=check(module))


if __name__ == '__main__':
    main()
