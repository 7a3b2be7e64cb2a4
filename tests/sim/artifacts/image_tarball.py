#!/usr/bin/env python3
"""Write stand-ins for the vllm-ascend images as ``docker save`` archives (tests only).

    python3 image_tarball.py --out DIR [--host-arch x86_64|aarch64]

Deterministic (same bytes on every run for one host architecture) and idempotent. For each image
tag below, a gzip'ed ``docker save`` archive (what an offline site makes with
``docker save IMAGE | gzip``), laid out for both ways a simulated node gets images:

    DIR/images/<name>_<tag>.tar.gz    the archive (``docker load -i``)
    DIR/images/index.json             the simulated registry the fake docker pulls from:
                                      {"repo:tag": {"file", "sha256", "id", "digest", ...}}
    DIR/SHA256SUMS-images             "<sha256>  images/<file>" lines (sha256sum -c format)

Every archive is a real docker-save archive: manifest.json, the image config ``<id>.json``
(its sha256 is the image id), one layer ``<hex>/layer.tar`` whose sha256 is the config's
diff_id, ``repositories``. ``digest`` is the sha256 of the image's registry manifest (what
``docker pull`` records in RepoDigests). The config's architecture is the simulated nodes' real
CPU (amd64 here, arm64 on an aarch64 host like the real images), since the fake docker refuses to
run a foreign-architecture image, as docker does without emulation.

The images carry no vLLM: the fake docker runs the container's command on the node, where the
fake vllm is installed. Their labels say which release and hardware they stand for.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import sys
import tarfile

# Fixed timestamps: the release day of vllm-ascend v0.11.0rc0.
EPOCH = 1759190400  # 2025-09-30T00:00:00Z
CREATED = "2025-09-30T00:00:00Z"
REPO = "quay.io/ascend/vllm-ascend"
# (tag, release, hardware, what it is). The first two are the seed's DeepSeek-V3.2-Exp all-in-one
# images; the others the official images the custom_ops method and v0.12.0rc1 start from.
IMAGES = (
    ("v0.11.0rc0-deepseek-v3.2-exp", "v0.11.0rc0", "a2", "all-in-one DeepSeek-V3.2-Exp image (custom ops built in)"),
    ("v0.11.0rc0-a3-deepseek-v3.2-exp", "v0.11.0rc0", "a3", "all-in-one DeepSeek-V3.2-Exp image (custom ops built in)"),
    ("v0.11.0rc0", "v0.11.0rc0", "a2", "official image (custom ops installed separately)"),
    ("v0.11.0rc0-a3", "v0.11.0rc0", "a3", "official image (custom ops installed separately)"),
    ("v0.12.0rc1", "v0.12.0rc1", "a2", "official image (custom ops built in)"),
    ("v0.12.0rc1-a3", "v0.12.0rc1", "a3", "official image (custom ops built in)"),
)
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
PATH = "/usr/local/python3.11.13/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _tar(entries):
    """An uncompressed tar of {name: (bytes or None for a directory, mode)}, identical on every run."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(entries):
            data, mode = entries[name]
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = EPOCH, 0, 0, "", "", mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _json(data):
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def image_archive(tag, release, hardware, description, arch):
    """(archive bytes, index entry) of one image."""
    ref = "%s:%s" % (REPO, tag)
    marker = {"image": ref, "release": release, "hardware": hardware, "description": description}
    builtin_env = ["ASCEND_SIM_RELEASE=/etc/ascend-sim-image.json"] if "built in" in description else []
    layer = _tar({
        "etc": (None, 0o755),
        "etc/ascend-sim-image.json": (json.dumps(marker, indent=2, sort_keys=True).encode() + b"\n", 0o644),
        "vllm-workspace": (None, 0o755),
    })
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = _json({
        "architecture": arch,
        "os": "linux",
        "created": CREATED,
        "author": "ascend-serving simulated cluster (tests only)",
        "config": {
            # Images with the custom operators built in point the fake vllm at their own release
            # marker (absent on the node: nothing to demand of it) instead of the node's, which
            # may demand the separately installed operators of the custom_ops method.
            "Env": ["PATH=%s" % PATH, "ASCEND_SIM_IMAGE=%s" % ref] + builtin_env,
            "Cmd": ["/bin/bash"],
            "WorkingDir": "/vllm-workspace",
            "Labels": {"org.opencontainers.image.ref.name": tag, "org.opencontainers.image.version": release,
                       "ascend-sim.hardware": hardware, "ascend-sim.description": description},
        },
        "history": [{"created": CREATED, "created_by": "ascend-sim image_tarball.py (%s)" % description}],
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    })
    image_hex = hashlib.sha256(config).hexdigest()
    layer_hex = hashlib.sha256(("layer " + diff_id).encode()).hexdigest()
    archive = _tar({
        "%s.json" % image_hex: (config, 0o644),
        layer_hex: (None, 0o755),
        "%s/VERSION" % layer_hex: (b"1.0", 0o644),
        "%s/json" % layer_hex: (_json({"id": layer_hex, "created": CREATED, "os": "linux"}), 0o644),
        "%s/layer.tar" % layer_hex: (layer, 0o644),
        "manifest.json": (_json([{"Config": "%s.json" % image_hex, "RepoTags": [ref],
                                  "Layers": ["%s/layer.tar" % layer_hex]}]), 0o644),
        "repositories": (_json({REPO: {tag: layer_hex}}), 0o644),
    })
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(archive)
    data = out.getvalue()
    registry_manifest = _json({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": "sha256:" + image_hex},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": diff_id}],
    })
    entry = {
        "file": "%s_%s.tar.gz" % (REPO.rsplit("/", 1)[1], tag),
        "sha256": hashlib.sha256(data).hexdigest(),
        "id": "sha256:" + image_hex,
        "digest": "sha256:" + hashlib.sha256(registry_manifest).hexdigest(),
        "release": release,
        "hardware": hardware,
        "architecture": arch,
    }
    return data, entry


def _write_if_changed(path, data):
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return True


def build(out_dir, host_arch):
    if host_arch not in ARCH:
        raise SystemExit("unsupported host architecture %r (one of %s)" % (host_arch, ", ".join(sorted(ARCH))))
    images_dir = os.path.join(out_dir, "images")
    os.makedirs(images_dir, exist_ok=True)
    index = {}
    for tag, release, hardware, description in IMAGES:
        data, entry = image_archive(tag, release, hardware, description, ARCH[host_arch])
        _write_if_changed(os.path.join(images_dir, entry["file"]), data)
        index["%s:%s" % (REPO, tag)] = entry
    keep = {entry["file"] for entry in index.values()} | {"index.json"}
    for name in os.listdir(images_dir):
        if name not in keep:
            os.unlink(os.path.join(images_dir, name))
    _write_if_changed(os.path.join(images_dir, "index.json"),
                      (json.dumps(index, indent=2, sort_keys=True) + "\n").encode())
    _write_if_changed(os.path.join(out_dir, "SHA256SUMS-images"), "".join(
        "%s  images/%s\n" % (entry["sha256"], entry["file"]) for _ref, entry in sorted(index.items())).encode())
    return index


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory (created)")
    parser.add_argument("--host-arch", default=platform.machine(), choices=sorted(ARCH),
                        help="architecture of the simulated nodes' real CPU (default: this host's)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    index = build(os.path.abspath(args.out), args.host_arch)
    json.dump(index, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
