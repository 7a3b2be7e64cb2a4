#!/usr/bin/env python3
"""Build the fake vllm-ascend DeepSeek-V3.2 artifacts the simulated cluster downloads (tests only).

    python3 build.py --out DIR [--host-arch x86_64|aarch64]

Deterministic (same bytes on every run on one host architecture) and idempotent. Laid out like
the real download site, one directory per product:

    DIR/vllm-ascend/{a2,a3}/CANN-custom_ops-sfa-linux.aarch64.run
    DIR/vllm-ascend/{a2,a3}/CANN-custom_ops-mlapo-linux.aarch64.run
    DIR/vllm-ascend/{a2,a3}/custom_ops-1.0-cp311-cp311-linux_<arch>.whl
    DIR/vllm-ascend/{a2,a3}/torch_npu-2.7.1+gitb7c90d0-cp311-cp311-linux_<arch>.whl
    DIR/vllm-ascend/{a2,a3}/libopsproto_rt2.0.so
    DIR/manifest.json    {relative path: sha256}, also printed on stdout
    DIR/SHA256SUMS       "<sha256>  <relative path>" lines (sha256sum -c format)
    DIR/aliases.json     {upstream relative path: relative path of the file served for it}

Why the wheel names differ from upstream's: the real wheels are
``custom_ops-1.0-cp311-cp311-linux_aarch64.whl`` and
``torch_npu-2.7.1+gitb7c90d0-cp311-cp311-linux_aarch64.whl``, and pip refuses a linux_aarch64
wheel on the x86_64 containers the simulated cluster runs on ("is not a supported wheel on this
platform"). So the fakes keep every part of the upstream name except the platform tag, which is
the build host's (``linux_x86_64`` here; identical to upstream on an aarch64 host). The cp311
tags stay: like the real wheels they install only into a CPython 3.11. aliases.json maps each
upstream name to the served one, so a release profile can keep upstream names and a test
inventory override only the wheel file names. The .run packages and libopsproto_rt2.0.so keep
their upstream names; their shared objects are minimal but loadable ELF libraries for the host
architecture (they are LD_PRELOADed by the fake vllm's process, and a foreign-arch ELF would
make ld.so complain on every start).
"""

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import platform
import struct
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
# Fixed timestamps: the release day of vllm-ascend v0.11.0rc0.
EPOCH = 1759190400  # 2025-09-30T00:00:00Z
ZIP_DATE = (2025, 9, 30, 0, 0, 0)
PRODUCTS = {"a2": "ascend910b", "a3": "ascend910_93"}
PACKAGES = {
    "sfa": {"ops": [("sparse_flash_attention", "SparseFlashAttention"), ("lightning_indexer", "LightningIndexer")]},
    "mlapo": {"ops": [("mla_preprocess", "MlaPreprocess")]},
}
CANN_VERSION = "8.2.RC1"
VENDOR = "packages/vendors/customize"
ELF_MACHINE = {"x86_64": 62, "aarch64": 183}


# ------------------------------------------------------------------------------------------------
# Minimal loadable ELF64 shared object (no code, one empty symbol table, a DT_HASH table)
# ------------------------------------------------------------------------------------------------
def elf_shared_object(arch, soname, note):
    def align(n, a):
        return (n + a - 1) // a * a

    nph = 3
    off = 64 + 56 * nph
    hash_off = off
    hash_data = struct.pack("<4I", 1, 1, 0, 0)  # nbucket=1, nchain=1: only the null symbol
    sym_off = align(hash_off + len(hash_data), 8)
    sym_data = b"\0" * 24
    str_off = sym_off + len(sym_data)
    strtab = b"\0" + soname.encode() + b"\0"
    dyn_off = align(str_off + len(strtab), 8)
    dyn = [(4, hash_off), (5, str_off), (6, sym_off), (10, len(strtab)), (11, 24), (14, 1), (0, 0)]
    dyn_data = b"".join(struct.pack("<qQ", tag, val) for tag, val in dyn)
    note_off = dyn_off + len(dyn_data)
    note_data = note.encode() + b"\0"
    total = note_off + len(note_data)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8  # 64-bit, little endian, SysV
    ehdr = struct.pack("<16sHHIQQQIHHHHHH", ident, 3, ELF_MACHINE[arch], 1, 0, 64, 0, 0, 64, 56, nph, 64, 0, 0)
    phdrs = b"".join([
        struct.pack("<IIQQQQQQ", 1, 6, 0, 0, 0, total, total, 0x1000),  # PT_LOAD RW
        struct.pack("<IIQQQQQQ", 2, 6, dyn_off, dyn_off, dyn_off, len(dyn_data), len(dyn_data), 8),  # PT_DYNAMIC
        struct.pack("<IIQQQQQQ", 0x6474E551, 6, 0, 0, 0, 0, 0, 16),  # PT_GNU_STACK, not executable
    ])
    blob = bytearray(total)
    for pos, data in ((0, ehdr), (64, phdrs), (hash_off, hash_data), (sym_off, sym_data),
                      (str_off, strtab), (dyn_off, dyn_data), (note_off, note_data)):
        blob[pos:pos + len(data)] = data
    return bytes(blob)


# ------------------------------------------------------------------------------------------------
# makeself-like .run packages
# ------------------------------------------------------------------------------------------------
def _read(name):
    with open(os.path.join(SRC, name), encoding="utf-8") as handle:
        return handle.read()


def opp_tree(package, product, arch):
    """{path in payload: (bytes, mode)} of one custom-op package."""
    soc = PRODUCTS[product]
    ops = PACKAGES[package]["ops"]
    tag = "ascend-sim fake CANN-custom_ops-%s for %s (%s)" % (package, product, soc)
    files = {
        "install.sh": (_read("opp-install.sh").encode(), 0o755),
        "help.info": (b"  --install-path                    Install operator package to specific dir path\n"
                      b"  --install-for-all                 Allow other users to use the operator package\n"
                      b"  --force                           Skip shared library validation and continue "
                      b"installation\n", 0o644),
        VENDOR + "/version.info": (("custom_opp_compiler_version=%s\n" % CANN_VERSION).encode(), 0o644),
        VENDOR + "/scripts/uninstall.sh": (_read("opp-uninstall.sh").encode(), 0o755),
        VENDOR + "/op_api/lib/libcust_opapi.so": (
            elf_shared_object(arch, "libcust_opapi.so", "%s: %s" % (tag, " ".join(
                "aclnn%sGetWorkspaceSize aclnn%s" % (t, t) for _snake, t in ops))), 0o644),
        VENDOR + "/op_proto/lib/linux/aarch64/libcust_opsproto_rt2.0.so": (
            elf_shared_object(arch, "libcust_opsproto_rt2.0.so", tag), 0o644),
        VENDOR + "/op_impl/ai_core/tbe/op_tiling/lib/linux/aarch64/libcust_opmaster_rt2.0.so": (
            elf_shared_object(arch, "libcust_opmaster_rt2.0.so", tag), 0o644),
    }
    ops_info, binary_info = {}, {}
    for snake, op_type in ops:
        digest = hashlib.md5(("%s/%s/%s" % (package, soc, op_type)).encode()).hexdigest()
        kernel = "%s/%s/%s_%s_high_performance" % (soc, snake, op_type, digest)
        files[VENDOR + "/op_api/include/aclnn_%s.h" % snake] = ((
            "/* %s */\n#ifndef ACLNN_%s_H_\n#define ACLNN_%s_H_\n#include \"aclnn/acl_meta.h\"\n"
            "aclnnStatus aclnn%sGetWorkspaceSize(void *args, uint64_t *workspaceSize, aclOpExecutor **executor);\n"
            "aclnnStatus aclnn%s(void *workspace, uint64_t workspaceSize, aclOpExecutor *executor, "
            "aclrtStream stream);\n#endif\n" % (tag, snake.upper(), snake.upper(), op_type, op_type)).encode(), 0o644)
        files[VENDOR + "/op_proto/inc/%s_proto.h" % snake] = (
            ("/* %s */\n#include \"graph/operator_reg.h\"\nREG_OP(%s).OP_END_FACTORY_REG(%s)\n"
             % (tag, op_type, op_type)).encode(), 0o644)
        files[VENDOR + "/op_impl/ai_core/tbe/kernel/%s.o" % kernel] = (
            ("ascend-sim kernel binary %s for %s\n" % (op_type, soc)).encode(), 0o644)
        files[VENDOR + "/op_impl/ai_core/tbe/kernel/%s.json" % kernel] = (
            json.dumps({"binFileName": os.path.basename(kernel), "binFileSuffix": ".o", "coreType": "MIX",
                        "kernelName": "%s_%s" % (op_type, digest)}, sort_keys=True).encode(), 0o644)
        files[VENDOR + "/op_impl/ai_core/tbe/kernel/config/%s/%s.json" % (soc, snake)] = (
            json.dumps({"binList": [{"implMode": "high_performance", "int64Mode": False,
                                     "simplifiedKeyMode": 0, "binInfo": {"jsonFilePath": kernel + ".json"}}]},
                       sort_keys=True).encode(), 0o644)
        ops_info[op_type] = {"opFile": {"value": snake}, "opInterface": {"value": snake},
                             "dynamicShapeSupport": {"flag": "true"}}
        binary_info[op_type] = {"binaryList": [{"coreType": 2, "simplifiedKey": [], "binPath": kernel + ".o",
                                                "jsonPath": kernel + ".json"}]}
    files[VENDOR + "/op_impl/ai_core/tbe/config/%s/aic-%s-ops-info.json" % (soc, soc)] = (
        json.dumps(ops_info, indent=2, sort_keys=True).encode(), 0o644)
    files[VENDOR + "/op_impl/ai_core/tbe/kernel/config/%s/binary_info_config.json" % soc] = (
        json.dumps(binary_info, indent=2, sort_keys=True).encode(), 0o644)
    return files


def deterministic_targz(files):
    """A gzip'ed tar of files (plus their parent directories), identical on every run, and the
    size of the tar itself."""
    dirs = set()
    for path in files:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(dirs | set(files)):
            info = tarfile.TarInfo("./" + name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = EPOCH, 0, 0, "root", "root"
            if name in files:
                data, mode = files[name]
                info.size, info.mode = len(data), mode
                tar.addfile(info, io.BytesIO(data))
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue(), len(raw.getvalue())


def makeself_run(name, label, payload, tar_size):
    template = _read("makeself-header.sh")
    values = {"@NAME@": name, "@LABEL@": label, "@TARGETDIR@": name[:-len(".run")],
              "@FILESIZE@": str(len(payload)), "@TOTALSIZE@": str(tar_size), "@SHA256@": hashlib.sha256(payload).hexdigest(),
              "@DATE@": "Tue Sep 30 00:00:00 UTC 2025"}
    for key, value in values.items():
        template = template.replace(key, value)
    # skip = header lines; the payload starts on the next line. The value's width never changes
    # the line count, so substituting it cannot shift the payload.
    lines = template.count("\n")
    header = template.replace("@SKIP@", str(lines))
    assert header.count("\n") == lines and header.endswith("\n")
    return header.encode() + payload


# ------------------------------------------------------------------------------------------------
# Wheels
# ------------------------------------------------------------------------------------------------
def _record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel(dist, version, tag, files, summary):
    """A real (tiny) wheel: the package files, METADATA, WHEEL and a RECORD with hashes."""
    dist_info = "%s-%s.dist-info" % (dist, version)
    files = dict(files)
    files[dist_info + "/METADATA"] = (
        "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\nRequires-Python: >=3.9\n"
        "License: Apache-2.0\n\nascend-serving simulated cluster stand-in (tests only).\n"
        % (dist.replace("_", "-"), version, summary)).encode()
    files[dist_info + "/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: ascend-sim-build (1.0)\n"
                                   "Root-Is-Purelib: false\nTag: %s\n" % tag).encode()
    files[dist_info + "/top_level.txt"] = ("%s\n" % dist).encode()
    record = "".join("%s,%s,%d\n" % (path, _record_hash(data), len(data)) for path, data in sorted(files.items()))
    files[dist_info + "/RECORD"] = (record + "%s/RECORD,,\n" % dist_info).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(files, key=lambda p: (p.startswith(dist_info), p)):  # dist-info last, as pip expects
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[path], compresslevel=9)
    return "%s-%s-%s.whl" % (dist, version, tag), out.getvalue()


def wheel_sources(package, product):
    base = os.path.join(SRC, "wheels", package)
    out = {}
    for name in sorted(os.listdir(base)):
        if name.endswith(".py"):
            text = _read(os.path.join("wheels", package, name))
            text = text.replace("@SOC@", PRODUCTS[product]).replace("@PRODUCT@", product)
            out["%s/%s" % (package, name)] = text.encode()
    return out


# ------------------------------------------------------------------------------------------------
def build(out_dir, arch):
    if arch not in ELF_MACHINE:
        raise SystemExit("unsupported host architecture %r (one of %s)" % (arch, ", ".join(ELF_MACHINE)))
    platform_tag = "linux_%s" % arch
    artifacts, aliases = {}, {}
    for product in sorted(PRODUCTS):
        base = "vllm-ascend/%s" % product
        for package in sorted(PACKAGES):
            name = "CANN-custom_ops-%s-linux.aarch64.run" % package
            payload, tar_size = deterministic_targz(opp_tree(package, product, arch))
            artifacts["%s/%s" % (base, name)] = makeself_run(name, "version:1.0", payload, tar_size)
        for dist, version, summary in (
                ("custom_ops", "1.0", "DeepSeek-V3.2 SFA / lightning-indexer operator bindings (simulated)"),
                ("torch_npu", "2.7.1+gitb7c90d0", "Ascend adapter for PyTorch with MLAPO (simulated)")):
            tag = "cp311-cp311-%s" % platform_tag
            name, data = wheel(dist, version, tag, wheel_sources(dist, product), summary)
            artifacts["%s/%s" % (base, name)] = data
            aliases["%s/%s-%s-cp311-cp311-linux_aarch64.whl" % (base, dist, version)] = "%s/%s" % (base, name)
        artifacts["%s/libopsproto_rt2.0.so" % base] = elf_shared_object(
            arch, "libopsproto_rt2.0.so", "ascend-sim fake CANN %s built-in op proto with the DeepSeek-V3.2 "
            "ops, %s (%s)" % (CANN_VERSION, product, PRODUCTS[product]))
        for name in ("CANN-custom_ops-sfa-linux.aarch64.run", "CANN-custom_ops-mlapo-linux.aarch64.run",
                     "libopsproto_rt2.0.so"):
            aliases["%s/%s" % (base, name)] = "%s/%s" % (base, name)

    # Write only what changed; drop files of older builds so the tree is exactly the manifest.
    root = os.path.join(out_dir, "vllm-ascend")
    for rel, data in artifacts.items():
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write_if_changed(path, data, 0o755 if rel.endswith(".run") else 0o644)
    if os.path.isdir(root):
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                rel = os.path.relpath(os.path.join(dirpath, name), out_dir).replace(os.sep, "/")
                if rel not in artifacts:
                    os.unlink(os.path.join(dirpath, name))
    manifest = {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(artifacts.items())}
    _write_if_changed(os.path.join(out_dir, "manifest.json"),
                      (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(), 0o644)
    _write_if_changed(os.path.join(out_dir, "SHA256SUMS"),
                      "".join("%s  %s\n" % (digest, rel) for rel, digest in sorted(manifest.items())).encode(), 0o644)
    _write_if_changed(os.path.join(out_dir, "aliases.json"),
                      (json.dumps(aliases, indent=2, sort_keys=True) + "\n").encode(), 0o644)
    return manifest


def _write_if_changed(path, data, mode):
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                os.chmod(path, mode)
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory (created)")
    parser.add_argument("--host-arch", default=platform.machine(), choices=sorted(ELF_MACHINE),
                        help="architecture of the simulated nodes' real CPU (default: this host's)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    manifest = build(os.path.abspath(args.out), args.host_arch)
    json.dump(manifest, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
