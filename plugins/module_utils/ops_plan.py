# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator-install plan of role ascend_ops, from a host's resolved profile (pure, stdlib only).

``build_ops_plan(profile, ...)`` returns one JSON-serialisable dict with everything the role's
tasks need: what the selected install method installs (``kind``: custom_ops artifacts, an image,
or none), every artifact as a step (URL after the mirror rewrite, its sha256, where it is staged,
what it creates) with the problems that must stop the role before any download, the paths the
launch plan's environment names, what the probe on the node looks at and what the backup
snapshots. The functions after it (``needed_steps``, ``node_problems``, ``missing_after_install``,
``backups``) decide from what the probe (module ``ascend.serving.ops_probe``) found on the node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import posixpath
import re

# The upstream download site of vllm-ascend's operator artifacts (role ascend_ops' default
# ascend_ops_base_url). Profile URLs on it are rewritten to the configured mirror.
UPSTREAM = "https://vllm-ascend.obs.cn-north-4.myhuaweicloud.com"
DEFAULT_ROOT = "/opt/ascend-serving"
DEFAULT_TOOLKIT = "/usr/local/Ascend/ascend-toolkit"
KINDS = ("run", "wheel", "file")

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_IMAGE_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_URL_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://")
_CPYTHON_TAG_RE = re.compile(r"^cp3[0-9]+$")


def _text(value):
    """A value as text, '' for an unset (falsy) one: Jinja's ``default('', true) | string``."""
    return str(value) if value else ""


def _mapping(value):
    return value if isinstance(value, dict) else {}


def _unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def artifact_url(artifact, hardware, base_url=UPSTREAM):
    """Where an artifact is downloaded from: its url (else the upstream layout + url_path), with an
    upstream URL moved onto ``base_url`` (a mirror with the same layout); other URLs are kept."""
    url = _text(artifact.get("url"))
    if not url and artifact.get("url_path"):
        url = "%s/vllm-ascend/%s/%s" % (UPSTREAM, hardware, artifact["url_path"])
    if url.startswith(UPSTREAM):
        url = base_url.rstrip("/") + url[len(UPSTREAM):]
    return url


def _step_problems(name, artifact, known, method_name, method, kind, file_name, sha, url, install_path):
    problems = []
    if not known:
        problems.append("install_order names %s but artifacts has no such entry" % name)
    if not sha:
        problems.append(
            "artifact %s (%s) has no sha256: upstream publishes none, so download it once from a trusted network, run "
            "sha256sum on it, and set vllm_artifact_sha256: {%s: <sum>} in the inventory (profile key "
            "release.install_methods.%s.artifacts.%s.sha256)" % (name, url or file_name, name, method_name, name))
    elif not _SHA256_RE.match(sha):
        problems.append("artifact %s sha256 %r is not 64 hexadecimal digits: fix vllm_artifact_sha256.%s" % (name, sha, name))
    if kind not in KINDS:
        problems.append("artifact %s kind is %r: it must be run, wheel or file" % (name, kind))
    if not file_name or "/" in file_name:
        problems.append("artifact %s file %r must be a plain file name" % (name, file_name))
    if not url:
        problems.append("artifact %s has no url nor url_path" % name)
    if kind == "file" and not _text(artifact.get("dest")).startswith("/"):
        problems.append("artifact %s of kind file needs dest: the absolute path it replaces" % name)
    if kind == "wheel" and len(file_name.split("-")) < 5:
        problems.append("artifact %s file %s is not a wheel name (dist-version-python-abi-platform.whl)" % (name, file_name))
    mlapo = method.get("mlapo_install_path")
    if (kind == "run" and install_path and mlapo and name == "mlapo"
            and install_path.rstrip("/") != str(mlapo).rstrip("/")):
        problems.append("artifact mlapo installs with --install-path=%s but mlapo_install_path is %s: the launch plan "
                        "loads MLAPO from the latter; make them agree" % (install_path, mlapo))
    return problems


def _step(name, artifacts, method_name, method, hardware, base_url, staging, opp, backup_root):
    known = name in artifacts
    artifact = _mapping(artifacts.get(name)) if known else {}
    file_name = _text(artifact.get("file"))
    kind = artifact.get("kind") or ""
    sha = _text(artifact.get("sha256")).lower()
    args = [str(arg) for arg in (artifact.get("args") or [])]
    install_path = next((arg[len("--install-path="):] for arg in args if arg.startswith("--install-path=")), "")
    url = artifact_url(artifact, hardware, base_url)
    creates = artifact.get("creates") or (
        install_path.rstrip("/") + "/vendors/customize/bin/set_env.bash" if install_path
        else opp + "/vendors/customize/op_api")
    parts = file_name.split("-")
    wheel = kind == "wheel"
    dest = (artifact.get("dest") or "") if kind == "file" else ""
    return {
        "name": name, "kind": kind, "file": file_name, "sha256": sha, "url": url, "args": args,
        "staged": staging + "/" + file_name,
        "install_path": install_path, "creates": creates if kind == "run" else "",
        "dist": parts[0] if wheel else "",
        "version": parts[1] if wheel and len(parts) > 1 else "",
        "python_tag": parts[-3] if wheel and len(parts) >= 5 else "",
        "dest": dest,
        "backup": backup_root + _text(artifact.get("dest")) if kind == "file" else "",
        "problems": _step_problems(name, artifact, known, method_name, method, kind, file_name, sha, url, install_path),
    }


def env_paths(method):
    """Absolute paths the launch plan's environment names (env values without ``$``, sourced
    files), in order, once each: after an install every one must exist."""
    out = []
    for value in _mapping(method.get("env")).values():
        for item in (list(value.values()) if isinstance(value, dict) else [value]):
            out.extend(part for part in _text(item).split(":") if part.startswith("/") and "$" not in part)
    return _unique(out + [str(path) for path in (method.get("source") or [])])


def _snapshot_run_paths(steps):
    """Each .run's vendor directory and vendors/config.ini (what the backup snapshot keeps)."""
    out = []
    for step in steps:
        if step["kind"] == "run" and re.match(r".*/vendors/[^/]+/", step["creates"]):
            out.append(re.sub(r"^(.*/vendors/[^/]+)/.*$", r"\1", step["creates"]))
            out.append(re.sub(r"^(.*/vendors)/.*$", r"\1", step["creates"]) + "/config.ini")
    return _unique(out)


def _of_kind(steps, kind, key):
    return [step[key] for step in steps if step["kind"] == kind]


def pull_ref(image, digest):
    """What docker pulls: ``repo@digest`` for a pinned image (the tag dropped), else the image."""
    return re.sub(r":[^:/]+$", "", image) + "@" + digest if digest else image


def image_problems(method_name, digest, tarball, tarball_sha256):
    """What is wrong with an image pin or offline archive (checked before anything is pulled)."""
    out = []
    if digest and not _IMAGE_DIGEST_RE.match(digest):
        out.append("image digest %r must be sha256:<64 hex digits> (vllm_image_digest / ascend_ops_image_digest, "
                   "profile key release.install_methods.%s.digest)" % (digest, method_name))
    if tarball and not tarball_sha256:
        out.append("ascend_ops_image_tarball %s has no sha256: set ascend_ops_image_tarball_sha256 (sha256sum of the "
                   "archive where it was made)" % tarball)
    elif tarball and not _SHA256_RE.match(tarball_sha256.lower()):
        out.append("ascend_ops_image_tarball_sha256 %r is not 64 hexadecimal digits" % tarball_sha256)
    return out


def build_ops_plan(profile, root=DEFAULT_ROOT, base_url=UPSTREAM, image_digest="", image_tarball="",
                   image_tarball_sha256=""):
    """Everything role ascend_ops does for a host's resolved ``profile`` (see the module docstring).

    ``root``/``base_url``/``image_digest``/``image_tarball``/``image_tarball_sha256``: the role's
    ascend_ops_root, ascend_ops_base_url, ascend_ops_image_digest, ascend_ops_image_tarball and
    ascend_ops_image_tarball_sha256. Bad artifact data is reported in ``problems`` (one line per
    fault, naming the artifact and the fix), never raised.
    """
    release = _mapping(_mapping(profile).get("release"))
    hardware = _mapping(_mapping(profile).get("hardware")).get("name")
    release_name = release.get("name")
    method_name = release.get("install_method")
    method = _mapping(_mapping(release.get("install_methods")).get(method_name))
    artifacts = _mapping(method.get("artifacts"))
    image = _text(method.get("image"))
    kind = "custom_ops" if artifacts else ("image" if image else "none")
    order = method.get("install_order") or sorted(artifacts)
    toolkit = method.get("cann_toolkit_path") or DEFAULT_TOOLKIT
    opp = "%s/latest/opp" % toolkit
    staging = "%s/artifacts/%s/%s" % (root, release_name, hardware)
    backup_root = "%s/backup" % root
    steps = [_step(str(name), artifacts, method_name, method, hardware, base_url, staging, opp, backup_root)
             for name in order]
    paths = env_paths(method)
    digest = image_digest or _text(method.get("digest"))
    image_tarball = image_tarball or ""
    return {
        "root": root,
        "kind": kind,
        "release": release_name,
        "hardware": hardware,
        "method_name": method_name,
        "vllm_ascend_version": release["vllm_ascend_version"] if "vllm_ascend_version" in release else release_name,
        "cann_version": release.get("cann_version") or "?",
        "mlapo_install_path": method.get("mlapo_install_path"),
        "toolkit": toolkit,
        "opp": opp,
        "staging": staging,
        "stamp": "%s/ops/%s-%s.json" % (root, release_name, hardware),
        "backup_root": backup_root,
        "snapshot_root": backup_root,
        "steps": steps,
        "problems": [problem for step in steps for problem in step["problems"]],
        # What the install stamp records of each step (a re-run compares against it).
        "stamp_steps": dict((step["name"], {"kind": step["kind"], "file": step["file"], "sha256": step["sha256"]})
                            for step in steps),
        "env_paths": paths,
        "probe_spec": {
            "dists": _of_kind(steps, "wheel", "dist"),
            "exists": (_of_kind(steps, "run", "creates")
                       + [posixpath.dirname(dest) for dest in _of_kind(steps, "file", "dest")]
                       + _of_kind(steps, "file", "backup")
                       + [opp] + paths),
            "sha256": _of_kind(steps, "file", "dest"),
            "stamp": "%s/ops/%s-%s.json" % (root, release_name, hardware),
        },
        "snapshot_dists": _unique(_of_kind(steps, "wheel", "dist")),
        "snapshot_run_paths": _snapshot_run_paths(steps),
        "snapshot_file_paths": _of_kind(steps, "file", "dest"),
        "image": image,
        "image_digest": digest,
        "image_problems": image_problems(method_name, digest, image_tarball, image_tarball_sha256 or ""),
        "pull_ref": pull_ref(image, digest),
        "tarball_url": (image_tarball if _URL_SCHEME_RE.match(image_tarball)
                        else base_url.rstrip("/") + "/" + image_tarball.lstrip("/")),
        "images_dir": "%s/images" % root,
        "tarball_path": "%s/images/%s" % (root, posixpath.basename(image_tarball)),
        "uses_root": kind == "custom_ops" or (kind == "image" and len(image_tarball) > 0),
    }


# -- decisions from what the probe found on the node ------------------------------------------

def needed_steps(plan, probe):
    """Names of the steps that must run: a changed sha256 against the stamp of a previous run, or
    what they installed is gone (a .run's creates path, a wheel's version in that Python, a file's
    sha256)."""
    recorded = _mapping(_mapping(probe.get("stamp")).get("steps"))
    stamp_python = _mapping(probe.get("stamp")).get("python", "")
    out = []
    for step in plan["steps"]:
        done = _mapping(recorded.get(step["name"])).get("sha256", "") == step["sha256"]
        if step["kind"] == "run":
            ok = done and probe["exists"].get(step["creates"])
        elif step["kind"] == "wheel":
            ok = done and stamp_python == probe["python"] and probe["dists"].get(step["dist"]) == step["version"]
        else:
            ok = probe["sha256"].get(step["dest"]) == step["sha256"]
        if not ok:
            out.append(step["name"])
    return out


def node_problems(plan, probe, break_system_packages=False):
    """Why the node cannot take the custom ops (checked before any download): no pip, a wheel
    built for another CPython, a PEP 668 system Python, CANN missing."""
    out = []
    wheels = [step for step in plan["steps"] if step["kind"] == "wheel"]
    if wheels and not probe["pip"]:
        out.append("%s has no pip: install it for that Python (python3 -m ensurepip, or the python3-pip package)"
                   % probe["python"])
    for step in wheels:
        tag = step["python_tag"]
        if _CPYTHON_TAG_RE.match(tag) and tag[2] + "." + tag[3:] != probe["version"]:
            want = tag[2] + "." + tag[3:]
            out.append("%s is built for CPython %s (%s) but vLLM runs on Python %s (%s): run vLLM on Python %s, or set "
                       "ascend_ops_python" % (step["file"], want, tag, probe["version"], probe["python"], want))
    if wheels and probe["externally_managed"] and not probe["venv"] and not break_system_packages:
        out.append("%s is an externally managed system Python (PEP 668): pip refuses to install the wheels into it. "
                   "Either run vLLM from a virtualenv (ascend_ops_python: <venv>/bin/python), or accept installing into "
                   "the system Python with ascend_ops_pip_break_system_packages: true" % probe["python"])
    for step in plan["steps"]:
        if step["kind"] == "file" and not probe["exists"].get(posixpath.dirname(step["dest"])):
            out.append("%s is missing: %s replaces the file of CANN %s there, so CANN %s must be installed "
                       "(release.cann_version)" % (posixpath.dirname(step["dest"]), step["file"], plan["cann_version"],
                                                   plan["cann_version"]))
    if any(step["kind"] == "run" and not step["install_path"] for step in plan["steps"]) \
            and not probe["exists"].get(plan["opp"]):
        out.append("%s is missing: the SFA package installs into CANN's opp directory (ASCEND_OPP_PATH); install the "
                   "CANN toolkit at %s" % (plan["opp"], plan["toolkit"]))
    return out


def missing_after_install(plan, probe):
    """What is not in place after an install: every step's result, every path the launch plan's
    environment names."""
    out = []
    for step in plan["steps"]:
        if step["kind"] == "run" and not probe["exists"].get(step["creates"]):
            out.append("%s ran but %s does not exist (a different package layout? set artifacts.%s.creates)"
                       % (step["file"], step["creates"], step["name"]))
        elif step["kind"] == "wheel" and probe["dists"].get(step["dist"]) != step["version"]:
            found = probe["dists"].get(step["dist"]) or "(none)"
            out.append("%s has %s %s, not %s from %s" % (probe["python"], step["dist"], found, step["version"],
                                                         step["file"]))
        elif step["kind"] == "file" and probe["sha256"].get(step["dest"]) != step["sha256"]:
            out.append("%s has sha256 %s, not the release's %s"
                       % (step["dest"], probe["sha256"].get(step["dest"]), step["sha256"]))
    for path in plan["env_paths"]:
        if not probe["exists"].get(path):
            out.append("the launch plan's environment names %s but it does not exist: the profile's mlapo_install_path, "
                       "env and source must agree with the installers' --install-path" % path)
    return out


def backups(plan, probe):
    """The files this role replaced and where their originals are kept ({dest: backup})."""
    return dict((step["dest"], step["backup"]) for step in plan["steps"]
                if step["kind"] == "file" and _mapping(probe.get("exists")).get(step["backup"], False))
