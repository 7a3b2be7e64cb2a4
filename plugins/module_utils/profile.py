# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serving profiles: layered data, merged into one resolved profile per host.

A *named profile* (``<dir>/<name>.yml``) lists its *layers* (``base/default``,
``models/<model>``, ``hardware/<hw>``, ``releases/<release>``) and may carry
``overrides``.  Layers are deep-merged in order (later wins); a layer's
``per_hardware.<hw>`` fragment is merged right after the layer itself once the
hardware is known.  Then come the inventory's ``vllm_profile_overrides`` and
the well-known ``vllm_*`` variables (:data:`WELL_KNOWN_VARS`).

Merge rules: mappings merge key by key, anything else (lists, scalars,
``None``) replaces.  ``None`` means "unset": an env var, a ``serve`` option or
``additional_config`` that is ``None`` is not emitted.

This module is pure Python (stdlib only).  YAML parsing is injected
(``ProfileStore(dirs, yaml_load)``) so the controller-side filters can pass
PyYAML while this file stays importable anywhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import copy
import os
import re

# Top-level layer kinds a named profile may list, in their usual order.
LAYER_KINDS = ("base", "models", "hardware", "releases")

# Inventory variables that map onto one profile key (applied after
# vllm_profile_overrides, so a host var beats a group-level override).
# Mapping-valued keys (env, additional_config) are deep-merged, others replace.
WELL_KNOWN_VARS = (
    ("vllm_model_path", ("model", "path"), str),
    ("vllm_served_model_name", ("serve", "served_model_name"), None),
    ("vllm_port", ("serve", "port"), int),
    ("vllm_bind_address", ("serve", "host"), str),
    ("vllm_gpu_memory_utilization", ("serve", "gpu_memory_utilization"), float),
    ("vllm_max_model_len", ("serve", "max_model_len"), int),
    ("vllm_max_num_seqs", ("serve", "max_num_seqs"), int),
    ("vllm_tensor_parallel_size", ("parallel", "tensor_parallel_size"), int),
    ("vllm_dp_size", ("parallel", "data_parallel_size"), int),
    ("vllm_dp_size_local", ("parallel", "data_parallel_size_local"), int),
    ("vllm_dp_rpc_port", ("parallel", "data_parallel_rpc_port"), int),
    ("vllm_install_method", ("release", "install_method"), str),
    ("vllm_env", ("env",), None),
    ("vllm_additional_config", ("additional_config",), None),
)

# Special well-known vars that address the *selected* install method.
ARTIFACT_SHA256_VAR = "vllm_artifact_sha256"
ARTIFACT_BASE_URL_VAR = "vllm_artifact_base_url"

ENV_SCOPES = ("single_node", "multi_node")

# vllm serve options the plan derives itself (topology, parallel, additional_config):
# a `serve` entry for one of them would contradict the plan.
RESERVED_SERVE_KEYS = {
    "model": "model.path (vllm_model_path)",
    "model_tag": "model.path (vllm_model_path)",
    "headless": "the vllm_headless group",
    "tensor_parallel_size": "parallel.tensor_parallel_size (vllm_tensor_parallel_size)",
    "data_parallel_size": "the topology (and parallel.data_parallel_size / vllm_dp_size to check it)",
    "data_parallel_size_local": "parallel.data_parallel_size_local (vllm_dp_size_local)",
    "data_parallel_start_rank": "the topology (vllm_dp_start_rank)",
    "data_parallel_address": "the plan (node0's address, hccl_env_local_ip on node0)",
    "data_parallel_rpc_port": "parallel.data_parallel_rpc_port (vllm_dp_rpc_port)",
    "additional_config": "the top-level additional_config key (vllm_additional_config)",
}

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SERVE_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class ProfileError(ValueError):
    """A profile cannot be loaded or resolved; the message says how to fix it."""


def default_profile_dir():
    """The profiles shipped with the collection (playbooks/vars/profiles)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "playbooks", "vars", "profiles"))


def deep_merge(base, override):
    """Return a new mapping: ``override`` merged over ``base`` (see module doc)."""
    result = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def plain(value):
    """Deep-copy ``value`` into plain dict/list/str/int/float/bool/None.

    Ansible hands filters lazy or tagged containers; everything downstream
    (JSON, deepcopy, equality in tests) wants plain Python objects.
    """
    if isinstance(value, dict) or (hasattr(value, "keys") and hasattr(value, "__getitem__")):
        return dict((str(k), plain(value[k])) for k in value.keys())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _set_path(target, path, value):
    node = target
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


def _get_path(source, path, default=None):
    node = source
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _coerce(value, kind):
    """Numbers given as strings (``-e vllm_port=8001``) become numbers; anything else is kept."""
    if kind in (int, float) and isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            return value  # reported by profile_problems()
    return value


def host_overrides(host_vars):
    """The profile overrides a host's inventory variables ask for, in order.

    Returns a list of mappings to deep-merge over the named profile.
    """
    layers = []
    overrides = host_vars.get("vllm_profile_overrides")
    if overrides:
        if not isinstance(overrides, dict):
            raise ProfileError(
                "vllm_profile_overrides must be a mapping of profile keys (e.g. {serve: {max_model_len: 8192}}), "
                "not %s" % type(overrides).__name__)
        layers.append(overrides)
    well_known = {}
    for var, path, kind in WELL_KNOWN_VARS:
        if host_vars.get(var) is not None:
            _set_path(well_known, path, _coerce(host_vars[var], kind))
    if well_known:
        layers.append(well_known)
    return layers


class ProfileStore:
    """Finds and resolves profiles in an ordered list of directories.

    ``dirs``: directories searched in order (first hit wins), usually the
    operator's own ``vllm_profile_dirs`` followed by :func:`default_profile_dir`.
    ``yaml_load``: a function turning YAML text into Python data.
    """

    def __init__(self, dirs, yaml_load):
        self.dirs = [d for d in dirs if d]
        self.yaml_load = yaml_load
        self._cache = {}

    # -- files -------------------------------------------------------------
    def _find(self, relpath):
        for directory in self.dirs:
            for ext in (".yml", ".yaml"):
                candidate = os.path.join(directory, relpath + ext)
                if os.path.isfile(candidate):
                    return candidate
        return None

    def _load(self, relpath, what):
        if relpath in self._cache:
            return self._cache[relpath]
        path = self._find(relpath)
        if path is None:
            return None
        try:
            with open(path, "r") as handle:
                data = self.yaml_load(handle.read())
        except Exception as exc:  # pylint: disable=broad-except
            raise ProfileError("cannot read %s %s: %s" % (what, path, exc))
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ProfileError("%s %s must be a YAML mapping" % (what, path))
        self._cache[relpath] = data
        return data

    def names(self):
        """Names of the named profiles available (sorted, de-duplicated)."""
        found = set()
        for directory in self.dirs:
            if not os.path.isdir(directory):
                continue
            for entry in os.listdir(directory):
                stem, ext = os.path.splitext(entry)
                if ext in (".yml", ".yaml") and os.path.isfile(os.path.join(directory, entry)):
                    found.add(stem)
        return sorted(found)

    def layer(self, ref):
        """Load one layer, e.g. ``models/deepseek-v3.2-exp-w8a8``."""
        parts = str(ref).split("/")
        if len(parts) != 2 or parts[0] not in LAYER_KINDS or not _NAME_RE.match(parts[1]):
            raise ProfileError(
                "layer '%s' is not of the form <kind>/<name> with kind one of %s"
                % (ref, ", ".join(LAYER_KINDS)))
        data = self._load(ref, "profile layer")
        if data is None:
            raise ProfileError(
                "profile layer '%s' not found: expected %s.yml in %s"
                % (ref, ref, " or ".join(self.dirs)))
        return data

    def named(self, name):
        """Load a named profile's file (its layers and overrides)."""
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ProfileError(
                "vllm_profile %r is not a profile name; set it to one of: %s"
                % (name, ", ".join(self.names()) or "(none found)"))
        data = self._load(name, "profile")
        if data is None:
            raise ProfileError(
                "unknown profile '%s': set vllm_profile to one of: %s (or add %s.yml to a "
                "vllm_profile_dirs directory)" % (name, ", ".join(self.names()) or "(none found)", name))
        layers = data.get("layers")
        if not isinstance(layers, list) or not layers:
            raise ProfileError("profile '%s' must list its layers (layers: [base/..., models/..., hardware/..., "
                               "releases/...])" % name)
        return data

    # -- resolution --------------------------------------------------------
    def resolve(self, name, overrides=None):
        """The resolved profile ``name`` with ``overrides`` (list of mappings) merged on top."""
        named = self.named(name)
        layers = [(ref, self.layer(ref)) for ref in named["layers"]]
        extra = [named.get("overrides") or {}] + list(overrides or [])

        def body(data):
            return dict((k, v) for k, v in data.items() if k != "per_hardware")

        # Pass 1: which hardware is it?  (Overrides may switch it.)
        merged = {}
        for _ref, data in layers:
            merged = deep_merge(merged, body(data))
        for over in extra:
            merged = deep_merge(merged, over)
        hardware = _get_path(merged, ("hardware", "name"))
        if not hardware:
            raise ProfileError("profile '%s' names no hardware (hardware.name): list a hardware/<name> layer" % name)

        # Pass 2: each layer followed by its per-hardware fragment.
        merged = {}
        for ref, data in layers:
            merged = deep_merge(merged, body(data))
            per_hw = data.get("per_hardware") or {}
            if not isinstance(per_hw, dict):
                raise ProfileError("layer '%s': per_hardware must map hardware names to fragments" % ref)
            if hardware in per_hw:
                merged = deep_merge(merged, per_hw[hardware] or {})
        for over in extra:
            merged = deep_merge(merged, over)
        merged["profile"] = {
            "name": name,
            "description": named.get("description", ""),
            "layers": list(named["layers"]),
        }
        return _finalize(merged)

    def resolve_for_host(self, host_vars, extra=None):
        """Resolve the profile a host's inventory vars select, with all its overrides.

        ``extra``: one more mapping merged last (a caller's own override).
        """
        name = host_vars.get("vllm_profile")
        if name is None or name == "":
            raise ProfileError(
                "vllm_profile is not set: set it in group_vars (e.g. inventories/<name>/group_vars/all.yml) "
                "to one of: %s" % (", ".join(self.names()) or "(none found)"))
        profile = self.resolve(name, host_overrides(host_vars) + ([extra] if extra else []))
        _apply_artifact_vars(profile, host_vars)
        return profile


def _finalize(profile):
    """Derive what is derivable.

    - ``release.image``: the selected install method's image, unless the
      inventory set one (a private registry, say);
    - artifact URLs: ``artifact_base_url`` + ``url_path``.
    """
    release = profile.get("release")
    if isinstance(release, dict) and not release.get("image"):
        selected = _get_path(release, ("install_methods", release.get("install_method")))
        release["image"] = selected.get("image") if isinstance(selected, dict) else None
    methods = _get_path(profile, ("release", "install_methods")) or {}
    if isinstance(methods, dict):
        for method in methods.values():
            if not isinstance(method, dict):
                continue
            base = method.get("artifact_base_url")
            for artifact in (method.get("artifacts") or {}).values():
                if isinstance(artifact, dict) and not artifact.get("url") and base and artifact.get("url_path"):
                    artifact["url"] = base.rstrip("/") + "/" + artifact["url_path"]
    return profile


# Supply-chain pins (docs/profiles.md "Pins"): the image install method's digest
# (release.install_methods.<m>.digest) and a hub id's revision (model.revision, passed to
# `vllm serve --revision`). preflight_require_checksums requires both; otherwise plan notes warn.
IMAGE_DIGEST_VAR = "vllm_image_digest"
MODEL_REVISION_VARS = ("vllm_model_revision", "model_weights_revision")
_IMAGE_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_REVISION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


def _is_hub_id(model_path):
    """A model path vLLM downloads (a ModelScope / Hugging Face id), not a directory."""
    return isinstance(model_path, str) and bool(model_path) and not model_path.startswith("/")


def _image_method(method):
    """The selected method pulls an image (no artifacts of its own): what ascend_ops treats as ``image``."""
    return isinstance(method, dict) and bool(method.get("image")) and not method.get("artifacts")


def _apply_pins(profile, host_vars):
    digest = host_vars.get(IMAGE_DIGEST_VAR)
    if digest:
        method = _get_path(profile, ("release", "install_methods", _get_path(profile, ("release", "install_method"))))
        if isinstance(method, dict):
            method["digest"] = str(digest).strip()
    given = [(var, str(host_vars[var]).strip()) for var in MODEL_REVISION_VARS if host_vars.get(var)]
    if len(set(value for _var, value in given)) > 1:
        raise ProfileError("%s disagree (%s): the weights are downloaded and served at one revision; set only %s"
                           % (" and ".join(var for var, _v in given),
                              ", ".join("%s=%s" % item for item in given), MODEL_REVISION_VARS[0]))
    if given:
        if not isinstance(profile.get("model"), dict):
            profile["model"] = {}
        profile["model"]["revision"] = given[0][1]
    revision = _get_path(profile, ("model", "revision"))
    if revision and _is_hub_id(_get_path(profile, ("model", "path"))):
        if not isinstance(profile.get("serve"), dict):
            profile["serve"] = {}
        if profile["serve"].get("revision") is None:
            profile["serve"]["revision"] = revision


def _apply_artifact_vars(profile, host_vars):
    _apply_pins(profile, host_vars)
    sums = host_vars.get(ARTIFACT_SHA256_VAR)
    base = host_vars.get(ARTIFACT_BASE_URL_VAR)
    if not sums and not base:
        return
    method_name = _get_path(profile, ("release", "install_method"))
    method = _get_path(profile, ("release", "install_methods", method_name))
    if not isinstance(method, dict):
        return  # reported by profile_problems()
    artifacts = method.get("artifacts") or {}
    if base:
        method["artifact_base_url"] = base
        for artifact in artifacts.values():
            if isinstance(artifact, dict) and artifact.get("url_path"):
                artifact["url"] = base.rstrip("/") + "/" + artifact["url_path"]
    if sums:
        if not isinstance(sums, dict):
            raise ProfileError("%s must map artifact names to sha256 sums" % ARTIFACT_SHA256_VAR)
        for key, value in sums.items():
            if key not in artifacts:
                raise ProfileError(
                    "%s.%s: release %s install method %s has no artifact '%s'; known: %s"
                    % (ARTIFACT_SHA256_VAR, key, _get_path(profile, ("release", "name")), method_name, key,
                       ", ".join(sorted(artifacts)) or "(none)"))
            artifacts[key]["sha256"] = value


def install_method(profile):
    """The selected install method's data (``release.install_methods[release.install_method]``)."""
    name = _get_path(profile, ("release", "install_method"))
    return _get_path(profile, ("release", "install_methods", name)) or {}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


# A value may refer to $NAME / ${NAME} (expanded when the file is sourced) but never run a
# command: no command substitution, no backticks, no line breaks (module_utils/plan.sh_expanding).
_UNSAFE_VALUE = (("$(", "command substitution $(...)"), ("`", "a backtick"), ("\n", "a line break"),
                 ("\r", "a carriage return"))
# Names that end up in systemd units, file names and the API: letters, digits and ._- (the served
# model name may also hold / and :, as hub ids do).
_SERVED_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
_MODEL_PATH_BAD_RE = re.compile(r"[\s\x00-\x1f\x7f%\"'\\`$]")


def env_problems(where, env):
    """Problems of one ``NAME: value`` environment mapping (profile ``env`` or an install
    method's ``env``): valid names, string values, scopes, and values that cannot run commands."""
    problems = []
    if env is None:
        return problems
    if not isinstance(env, dict):
        return ["%s must be a mapping of NAME: value" % where]
    for name, value in env.items():
        if not _ENV_NAME_RE.match(str(name)):
            problems.append("%s.%s is not a valid environment variable name (letters, digits, _; not starting with "
                            "a digit)" % (where, name))
        values = value.values() if isinstance(value, dict) else [value]
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(ENV_SCOPES))
            if unknown:
                problems.append("%s.%s: scoped values may only use %s, not %s"
                                % (where, name, " / ".join(ENV_SCOPES), ", ".join(map(str, unknown))))
        for item in values:
            if item is not None and (isinstance(item, bool) or not isinstance(item, (str, int, float))):
                problems.append("%s.%s is %r: environment values are strings; quote it (e.g. \"true\" or \"True\")"
                                % (where, name, item))
            elif isinstance(item, str):
                for bad, what in _UNSAFE_VALUE:
                    if bad in item:
                        problems.append("%s.%s contains %s: values are sourced by the service's shell as root, so "
                                        "only $NAME / ${NAME} may expand; write the value out literally"
                                        % (where, name, what))
    return problems


def name_problems(profile):
    """The served model name and the model path go into systemd units and scripts: refuse what
    could break out of them (whitespace, control characters, quotes, %)."""
    problems = []
    served = _get_path(profile, ("serve", "served_model_name"))
    if served is not None and (not isinstance(served, str) or not _SERVED_NAME_RE.match(served)):
        problems.append("serve.served_model_name is %r: use letters, digits and ._:/- only, starting with a letter or "
                        "digit (set vllm_served_model_name)" % (served,))
    model_path = _get_path(profile, ("model", "path"))
    if isinstance(model_path, str) and _MODEL_PATH_BAD_RE.search(model_path):
        problems.append("model.path is %r: whitespace, control characters, quotes, backslashes, $ and %% are not allowed "
                        "in a weights path or hub id (rename the directory; set vllm_model_path)" % (model_path,))
    return problems


def profile_problems(profile, require_checksums=False):
    """Consistency problems of a resolved profile, as a list of messages.

    Each message names the profile key; callers prefix the host.  With
    ``require_checksums`` every artifact of the selected install method must
    carry a sha256 (upstream publishes none: the operator must set them).
    """
    problems = []
    pname = _get_path(profile, ("profile", "name"), "?")

    def need_int(path, minimum=1, maximum=None, allow_none=False):
        value = _get_path(profile, path)
        if value is None and allow_none:
            return
        if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
            bound = ">= %d" % minimum if maximum is None else "%d..%d" % (minimum, maximum)
            problems.append("%s is %r: it must be an integer %s" % (".".join(path), value, bound))

    model_path = _get_path(profile, ("model", "path"))
    if not isinstance(model_path, str) or not model_path:
        problems.append("model.path is not set: set vllm_model_path to the weights directory or hub id")
    need_int(("hardware", "npus_per_node"))
    need_int(("model", "min_npus"), allow_none=True)
    need_int(("parallel", "tensor_parallel_size"))
    need_int(("parallel", "data_parallel_size_local"))
    need_int(("parallel", "data_parallel_size"), allow_none=True)
    need_int(("parallel", "data_parallel_rpc_port"), 1, 65535)
    need_int(("serve", "port"), 1, 65535)

    problems.extend(env_problems("env", profile.get("env")))
    for mname, method in sorted(((_get_path(profile, ("release", "install_methods")) or {}).items())):
        if isinstance(method, dict):
            problems.extend(env_problems("release.install_methods.%s.env" % mname, method.get("env")))
    problems.extend(name_problems(profile))

    serve = profile.get("serve") or {}
    if not isinstance(serve, dict):
        problems.append("serve must be a mapping of vllm serve options (snake_case)")
        serve = {}
    for key in serve:
        if key in RESERVED_SERVE_KEYS:
            problems.append("serve.%s: the plan sets this option from %s; set that instead"
                            % (key, RESERVED_SERVE_KEYS[key]))
        elif not _SERVE_KEY_RE.match(str(key)):
            problems.append("serve.%s: option keys are vllm serve flags in snake_case (max_model_len for "
                            "--max-model-len)" % key)
    extra = profile.get("additional_config")
    if extra is not None and not isinstance(extra, dict):
        problems.append("additional_config must be a mapping (rendered as JSON for --additional-config) or null")

    release = profile.get("release") or {}
    methods = release.get("install_methods") or {}
    selected = release.get("install_method")
    if selected not in methods:
        problems.append("release.install_method is %r but release %s supports: %s (set vllm_install_method)"
                        % (selected, release.get("name"), ", ".join(sorted(methods)) or "(none)"))
    elif require_checksums:
        method = methods[selected] or {}
        for key, artifact in sorted((method.get("artifacts") or {}).items()):
            digest = (artifact or {}).get("sha256")
            if digest is None:
                problems.append(
                    "release %s artifact '%s' (%s) has no sha256: upstream publishes no checksums, so the "
                    "operator must: download it once from a trusted network, run sha256sum, and set "
                    "vllm_artifact_sha256: {%s: <sum>} in the inventory"
                    % (release.get("name"), key, (artifact or {}).get("url") or (artifact or {}).get("file"), key))
            elif not isinstance(digest, str) or not _SHA256_RE.match(digest):
                problems.append("release %s artifact '%s' sha256 %r is not 64 lowercase hex digits"
                                % (release.get("name"), key, digest))
    problems.extend(_pin_format_problems(profile))
    if require_checksums:
        problems.extend("%s; preflight_require_checksums is true, so this is required" % text
                        for text in missing_pins(profile))
    return ["profile %s: %s" % (pname, p) for p in problems]


def missing_checksums(profile):
    """Names of the selected install method's artifacts whose sha256 is not set."""
    method = install_method(profile)
    return sorted(k for k, a in (method.get("artifacts") or {}).items() if not (a or {}).get("sha256"))


def _pin_format_problems(profile):
    """A digest or revision that is set must be well formed (always checked)."""
    problems = []
    method_name = _get_path(profile, ("release", "install_method"))
    method = install_method(profile)
    digest = method.get("digest") if isinstance(method, dict) else None
    if digest is not None and (not isinstance(digest, str) or not _IMAGE_DIGEST_RE.match(digest)):
        problems.append("release.install_methods.%s.digest is %r: an image digest is sha256:<64 lowercase hex digits> "
                        "(fix %s)" % (method_name, digest, IMAGE_DIGEST_VAR))
    revision = _get_path(profile, ("model", "revision"))
    if revision is not None and (not isinstance(revision, str) or not _REVISION_RE.match(revision)):
        problems.append("model.revision is %r: a revision is a commit id, tag or branch name (letters, digits, "
                        "._/-; fix %s)" % (revision, MODEL_REVISION_VARS[0]))
    served = _get_path(profile, ("serve", "revision"))
    if served is not None and served != revision:
        problems.append("serve.revision is %r but model.revision is %r: the pin is model.revision (%s), which also "
                        "becomes --revision; drop serve.revision" % (served, revision, MODEL_REVISION_VARS[0]))
    return problems


def missing_pins(profile):
    """What is pulled or downloaded by a movable name: one sentence each, naming the variable to set.

    The image of an image install method without ``digest``; a hub id model path without
    ``model.revision`` (and whether vLLM would run the hub's code, ``trust_remote_code``).
    """
    out = []
    release = profile.get("release") or {}
    method_name = release.get("install_method")
    method = install_method(profile)
    if _image_method(method) and not method.get("digest"):
        image = method.get("image")
        out.append(
            "release %s install method %s: image %s is not pinned by digest (a tag can be moved to another build, so "
            "the nodes of one instance could run different builds); set %s: sha256:<digest> in the inventory "
            "(profile key release.install_methods.%s.digest). Get the digest on a trusted host: docker pull %s && "
            "docker image inspect --format '{{index .RepoDigests 0}}' %s (the part after @)"
            % (release.get("name"), method_name, image, IMAGE_DIGEST_VAR, method_name, image, image))
    model_path = _get_path(profile, ("model", "path"))
    if _is_hub_id(model_path) and not _get_path(profile, ("model", "revision")):
        remote_code = _get_path(profile, ("serve", "trust_remote_code")) is True
        out.append(
            "model %s is a hub id with no revision: vLLM downloads whatever its default branch holds when it "
            "starts%s; set %s (or model_weights_revision) to a commit id or tag of %s (its ModelScope / Hugging "
            "Face page lists them), or serve a verified local directory (vllm_model_path)"
            % (model_path, ", and with trust_remote_code runs that repository's Python code as root"
               if remote_code else "", MODEL_REVISION_VARS[0], model_path))
    return out
