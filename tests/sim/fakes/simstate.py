#!/usr/bin/python3
"""State of one simulated Atlas 800 A2/A3 node, and the CLI that creates, installs and breaks it.

The fake ``npu-smi`` and ``hccn_tool`` next to this file print what the state file says, in the
exact formats of the real tools (samples in tests/sim/fixtures/). This module is their only
shared code: standard library only, since the node image has no pip packages.

State file: /etc/ascend-sim/state.json, or $ASCEND_SIM_STATE.
$ASCEND_SIM_NO_NET=1: never run ``ip`` (developer-machine tests); the device addresses then
exist only in the state, and the fakes rely on the state alone for link and address faults.

    simstate.py init --product a2|a3 --hostname H --node-index K --npu-cidr 10.20.0.0/22 [...]
    simstate.py install [--root /] [--npu-if eth2]
    simstate.py set-link D up|down        simstate.py set-health CHIP OK|Warning|Alarm|Critical
    simstate.py set-tls D 0|1             simstate.py clear-ip D [--keep-conf]
    simstate.py set-ip D [ADDRESS]        simstate.py set-net-health D VALUE
    simstate.py set-hbm CHIP USED_MB      simstate.py set-chip CHIP key=value ...
    simstate.py add-process ...           simstate.py del-process --pid P | --all
    simstate.py show [--device D | --chip C]

D is a device id as ``hccn_tool -i`` takes it (the chip's physical id: 0..7 on A2, 0..15 on A3);
CHIP is a chip's index in ``npu-smi info`` order (the same numbers: NPU n chip c is 2n+c on A3).

Start-up cost matters: ``hccn_tool`` and ``npu-smi`` import this module on every call, and a
role runs them hundreds of times per node (16 devices x 7 queries), where the real tools are C
binaries. So only ``os`` and ``sys`` are imported here; every other module is imported by the
function that needs it, and the state is parsed without importing ``json`` (which pulls in
``re``, ``enum`` and more): see ``parse_json``. ``install`` also precompiles this module, so the
fakes on a node do not compile 800 lines on every call (test_fakes_npu.py keeps the budget).
"""

import os
import sys

SCHEMA = 1
DEFAULT_STATE = "/etc/ascend-sim/state.json"
SIM_LIB_DIR = "/usr/local/lib/ascend-sim"
FAKES_DIR = os.path.dirname(os.path.realpath(__file__))

HEALTH_VALUES = ("OK", "Warning", "Alarm", "Critical", "UNKNOWN")
# hccn_tool's own table (g_net_health_status); drivers before 23.x said "Socket failed".
NET_HEALTH_VALUES = ("Success", "Socket fail", "Receive timeout", "Unreachable", "Time exceeded",
                     "Fault", "Init", "Thread error", "Detect ip set", "Unknown", "Socket failed")
HCCN_CONF_KEYS = ("address", "netmask", "netdetect", "gateway", "send_arp_status", "tls_enable")

# Per product: what one node looks like. Bus ids and idle figures are the real ones of the
# samples (A2: 910B3 x8, npu-smi 25.2.0; A3: 16 x Ascend910, npu-smi 24.1.rc3.7).
PRODUCTS = {
    "a2": {
        "max_chips": 8,
        "chips_per_npu": 1,
        "chip_name": "910B3",
        "npu_smi_version": "24.1.rc3",
        "firmware_version": "7.5.0.1.129",
        "bus_ids": ["0000:C1:00.0", "0000:C2:00.0", "0000:81:00.0", "0000:82:00.0",
                    "0000:01:00.0", "0000:02:00.0", "0000:41:00.0", "0000:42:00.0"],
        "board": {"product_name": "IT21HMDB_B2", "board_id": "0x33", "pci_device_id": "0xD802",
                  "subsystem_device_id": "0x3005"},
    },
    "a3": {
        "max_chips": 16,
        "chips_per_npu": 2,
        "chip_name": "Ascend910",
        "npu_smi_version": "24.1.rc3.7",
        "firmware_version": "7.5.0.109.220",
        "bus_ids": ["0000:9D:00.0", "0000:9F:00.0", "0000:99:00.0", "0000:9B:00.0",
                    "0000:95:00.0", "0000:97:00.0", "0000:91:00.0", "0000:93:00.0",
                    "0000:8D:00.0", "0000:8F:00.0", "0000:89:00.0", "0000:8B:00.0",
                    "0000:85:00.0", "0000:87:00.0", "0000:81:00.0", "0000:83:00.0"],
        "board": {"product_name": "IT22SMDC_Bin1", "board_id": "0xb0", "pci_device_id": "0xD803",
                  "subsystem_device_id": "0x3002"},
    },
}
# A2 chip models an A2 node may carry (HBM per chip, MB).
A2_CHIP_HBM = {"910B1": 65536, "910B2": 65536, "910B3": 65536, "910B4": 32768, "910B4-1": 65536}
A3_HBM = 65536

CANN_INNERVERSION = {
    "8.0.0": "V100R001C20SPC001B251",
    "8.1.RC1": "V100R001C21SPC001B238",
    "8.2.RC1": "V100R001C22SPC001B231",
    "8.3.RC2": "V100R001C23SPC002B210",
}
CANN_COMPATIBLE = "[V100R001C15],[V100R001C18],[V100R001C19],[V100R001C20],[V100R001C21],[V100R001C23]"


class SimError(Exception):
    """A usage or state error: the CLI prints it and exits 2."""


# ---------------------------------------------------------------------------------------------
# State file
# ---------------------------------------------------------------------------------------------
def state_path():
    return os.environ.get("ASCEND_SIM_STATE") or DEFAULT_STATE


def no_net():
    return os.environ.get("ASCEND_SIM_NO_NET", "") not in ("", "0")


def parse_json(text):
    """``json.loads(text)``, without importing ``json`` when the text is a valid document.

    It drives the C scanner that ``json.loads`` itself uses (``_json.make_scanner``) with the
    settings of the default decoder, and checks the surrounding whitespace as
    ``JSONDecoder.decode`` does. Anything unusual (no ``_json``, a syntax error, extra data)
    goes to ``json.loads``, which returns the same value or raises its own exact error.
    """
    try:
        from _json import make_scanner  # pylint: disable=import-outside-toplevel
    except ImportError:
        make_scanner = None
    if make_scanner is not None:
        scanner = make_scanner(_DecoderSettings)
        start = len(text) - len(text.lstrip(" \t\n\r"))
        try:
            value, end = scanner(text, start)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            if not text[end:].strip(" \t\n\r"):
                return value
    import json  # pylint: disable=import-outside-toplevel
    return json.loads(text)


class _DecoderSettings:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder()`` (the defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


def load_state(path=None):
    """Read the node state; SimError when it is absent or not a state this module wrote."""
    path = path or state_path()
    try:
        with open(path, encoding="utf-8") as handle:
            state = parse_json(handle.read())
    except FileNotFoundError:
        raise SimError("no simulated-node state at %s (run simstate.py init)" % path) from None
    except ValueError as exc:
        raise SimError("state file %s is not JSON: %s" % (path, exc)) from None
    if not isinstance(state, dict) or state.get("schema") != SCHEMA:
        raise SimError("state file %s has no schema %d" % (path, SCHEMA))
    return state


def save_state(state, path=None):
    """Atomic replace, so a fake reading concurrently sees the old or the new state, never half."""
    import json  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel
    path = path or state_path()
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state.", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2, sort_keys=False)
        handle.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    # The pre-rendered hccn_tool answers (see hccn_tool's publish_answers) were of the old state.
    try:
        os.unlink(path + ".answers")
    except FileNotFoundError:
        pass


class locked:  # pylint: disable=invalid-name
    """``with locked():`` serialises writers (simstate commands, ``hccn_tool -tls -s``) on one
    state file (a class rather than a contextlib generator: no contextlib import for the fakes)."""

    def __init__(self, path=None):
        self.path = (path or state_path()) + ".lock"
        self.handle = None

    def __enter__(self):
        import fcntl  # pylint: disable=import-outside-toplevel
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        self.handle = open(self.path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        except BaseException:
            self.handle.close()
            raise
        return self

    def __exit__(self, *exc_info):
        import fcntl  # pylint: disable=import-outside-toplevel
        try:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
        finally:
            self.handle.close()
        return False


# ---------------------------------------------------------------------------------------------
# Building a state
# ---------------------------------------------------------------------------------------------
def device_address(cidr, node_index, device):
    """Device d of node k: network + 1 + 16k + d, so device d of every node shares the subnet."""
    import ipaddress  # pylint: disable=import-outside-toplevel
    net = ipaddress.ip_network(cidr, strict=True)
    address = net.network_address + 1 + 16 * node_index + device
    if address not in net or address in (net.broadcast_address, gateway_address(cidr)):
        raise SimError("--npu-cidr %s is too small for node %d device %d" % (cidr, node_index, device))
    return str(address)


def gateway_address(cidr):
    """The last usable address of the NPU network: gateway and netdetect target of every device."""
    import ipaddress  # pylint: disable=import-outside-toplevel
    net = ipaddress.ip_network(cidr, strict=True)
    return str(net.broadcast_address - 1)


def _chip(product, index, chip_name, hbm_total):
    spec = PRODUCTS[product]
    per_npu = spec["chips_per_npu"]
    npu_id, chip_id = divmod(index, per_npu)
    if product == "a2":
        power = "%.1f" % (90.0 + (index * 37 % 90) / 10.0)
        hbm_used = 3398 + index * 7 % 16
    else:
        # The second die of an A3 NPU reports no power of its own: npu-smi prints "-".
        power = "%.1f" % (176.0 + (npu_id * 31 % 130) / 10.0) if chip_id == 0 else "-"
        hbm_used = (3400 + npu_id * 5 % 17) if chip_id == 0 else (3185 + npu_id * 3 % 20)
    return {
        "npu_id": npu_id,
        "chip_id": chip_id,
        "phy_id": index,
        "logic_id": index,
        "name": chip_name,
        "health": "OK",
        "power": power,
        "temp": 33 + index * 5 % 7,
        "aicore": 0,
        "hbm_used": hbm_used,
        "hbm_total": hbm_total,
        "bus_id": spec["bus_ids"][index],
    }


def _device(cidr, node_index, index, tls):
    import ipaddress  # pylint: disable=import-outside-toplevel
    net = ipaddress.ip_network(cidr, strict=True)
    address = device_address(cidr, node_index, index)
    gateway = gateway_address(cidr)
    return {
        "id": index,
        "ip": address,
        "netmask": str(net.netmask),
        "gateway": gateway,
        "netdetect": gateway,
        "link": "UP",
        "net_health": "Success",
        "tls": tls,
        "lldp_ifname": "100GE1/0/%d" % (16 * node_index + index + 1),
        "mac": "38:7e:58:%02x:%02x:%02x" % (node_index // 256, node_index % 256, index),
        # What /etc/hccn.conf holds for this device (it can differ from the device: clear-ip).
        "conf": {"address": address, "netmask": str(net.netmask), "netdetect": gateway,
                 "gateway": gateway, "send_arp_status": "1", "tls_enable": str(tls)},
    }


def build_state(args):
    import ipaddress  # pylint: disable=import-outside-toplevel
    spec = PRODUCTS[args.product]
    chips = args.chips if args.chips is not None else spec["max_chips"]
    if not 1 <= chips <= spec["max_chips"] or chips % spec["chips_per_npu"]:
        raise SimError("--chips %d: %s takes 1..%d chips, %d per NPU"
                       % (chips, args.product, spec["max_chips"], spec["chips_per_npu"]))
    if args.node_index < 0:
        raise SimError("--node-index must be >= 0")
    try:
        ipaddress.ip_network(args.npu_cidr, strict=True)
    except ValueError as exc:
        raise SimError("--npu-cidr: %s" % exc) from None
    if args.product == "a2":
        chip_name = args.chip_name or spec["chip_name"]
        if chip_name not in A2_CHIP_HBM:
            raise SimError("--chip-name %s: an A2 chip is one of %s" % (chip_name, ", ".join(A2_CHIP_HBM)))
        hbm_total = A2_CHIP_HBM[chip_name]
    else:
        if args.chip_name not in (None, spec["chip_name"]):
            raise SimError("--chip-name: an A3 chip is always %s" % spec["chip_name"])
        chip_name, hbm_total = spec["chip_name"], A3_HBM
    driver = args.driver_version or spec["npu_smi_version"]
    return {
        "schema": SCHEMA,
        "init_args": init_args_key(args),
        "product": args.product,
        "hostname": args.hostname,
        "node_index": args.node_index,
        "arch": args.arch,
        "npu_cidr": args.npu_cidr,
        "npu_if": args.npu_if,
        "versions": {
            # npu-smi ships in the driver package: both always carry the same version.
            "npu_smi": driver,
            "driver": driver,
            "firmware": spec["firmware_version"],
            "cann": args.cann_version,
        },
        "chips": [_chip(args.product, i, chip_name, hbm_total) for i in range(chips)],
        "devices": [_device(args.npu_cidr, args.node_index, i, args.tls) for i in range(chips)],
        "processes": [],
        "install": None,
        "net": {"managed": []},
    }


def init_args_key(args):
    keys = ("product", "hostname", "node_index", "npu_cidr", "chips", "tls", "driver_version",
            "cann_version", "arch", "chip_name", "npu_if")
    return {key: getattr(args, key) for key in keys}


# ---------------------------------------------------------------------------------------------
# Lookups shared with the fakes
# ---------------------------------------------------------------------------------------------
def device(state, dev_id):
    for dev in state["devices"]:
        if dev["id"] == dev_id:
            return dev
    return None


def chips_per_npu(state):
    return PRODUCTS[state["product"]]["chips_per_npu"]


def npu_count(state):
    return len(state["chips"]) // chips_per_npu(state)


def local_device_by_ip(state, address):
    for dev in state["devices"]:
        if address in (dev["ip"], dev["conf"].get("address")):
            return dev
    return None


# ---------------------------------------------------------------------------------------------
# Files the real driver and CANN put on a node
# ---------------------------------------------------------------------------------------------
def render_hccn_conf(state):
    lines = []
    for dev in state["devices"]:
        for key in HCCN_CONF_KEYS:
            if key in dev["conf"]:
                lines.append("%s_%d=%s" % (key, dev["id"], dev["conf"][key]))
    return "\n".join(lines) + "\n" if lines else ""


def render_driver_version_info(state):
    version = state["versions"]["driver"]
    return (
        "Version=%s\n"
        "ascendhal_version=7.35.23\n"
        "aicpu_version=1.0\n"
        "tdt_version=1.0\n"
        "log_version=1.0\n"
        "prof_version=2.0\n"
        "dvppkernels_version=1.1\n"
        "tsfw_version=1.0\n"
        "Innerversion=V100R001C19SPC002B213\n"
        "compatible_version=[V100R001C30],[V100R001C13],[V100R001C15],[V100R001C17],[V100R001C18],"
        "[V100R001C19]\n"
        "compatible_version_fw=[7.0.0,7.5.99]\n"
        "package_version=%s\n" % (version, version)
    )


def render_firmware_version_info(state):
    return (
        "Version=%s\n"
        "firmware_version=1.0\n"
        "package_version=%s\n"
        "compatible_version_drv=[23.0.0,23.0.0.],[24.0,24.0.],[24.1,24.1.]\n"
        % (state["versions"]["firmware"], state["versions"]["driver"])
    )


def render_toolkit_install_info(state):
    cann, arch = state["versions"]["cann"], state["arch"]
    return (
        "package_name=Ascend-cann-toolkit\n"
        "version=%s\n"
        "innerversion=%s\n"
        "compatible_version=%s\n"
        "arch=%s\n"
        "os=linux\n"
        "path=/usr/local/Ascend/ascend-toolkit/%s/%s-linux\n"
        % (cann, CANN_INNERVERSION.get(cann, "V100R001C99B001"), CANN_COMPATIBLE, arch, cann, arch)
    )


def render_toolkit_set_env():
    return (
        "export ASCEND_TOOLKIT_HOME=/usr/local/Ascend/ascend-toolkit/latest\n"
        "export LD_LIBRARY_PATH=${ASCEND_TOOLKIT_HOME}/lib64:${ASCEND_TOOLKIT_HOME}/lib64/plugin/opskernel:"
        "${ASCEND_TOOLKIT_HOME}/lib64/plugin/nnengine:${LD_LIBRARY_PATH}\n"
        "export PYTHONPATH=${ASCEND_TOOLKIT_HOME}/python/site-packages:${ASCEND_TOOLKIT_HOME}/opp/built-in/"
        "op_impl/ai_core/tbe:${PYTHONPATH}\n"
        "export PATH=${ASCEND_TOOLKIT_HOME}/bin:${ASCEND_TOOLKIT_HOME}/compiler/ccec_compiler/bin:${PATH}\n"
        "export ASCEND_AICPU_PATH=${ASCEND_TOOLKIT_HOME}\n"
        "export ASCEND_OPP_PATH=${ASCEND_TOOLKIT_HOME}/opp\n"
        "export TOOLCHAIN_HOME=${ASCEND_TOOLKIT_HOME}/toolkit\n"
        "export ASCEND_HOME_PATH=${ASCEND_TOOLKIT_HOME}\n"
    )


ASCEND_INSTALL_INFO = (
    "Driver_Install_Type=full\n"
    "UserName=HwHiAiUser\n"
    "UserGroup=HwHiAiUser\n"
    "Driver_Install_Path_Param=/usr/local/Ascend\n"
    "Driver_Install_For_All=no\n"
)


def _rooted(root, path):
    return os.path.join(root, path.lstrip("/"))


def _write_if_changed(path, content, mode=0o644):
    """Write text or bytes when different; True when the file changed."""
    import tempfile  # pylint: disable=import-outside-toplevel
    data = content.encode() if isinstance(content, str) else content
    try:
        with open(path, "rb") as handle:
            if handle.read() == data and (os.stat(path).st_mode & 0o7777) == mode:
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".sim.", dir=os.path.dirname(path))
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _fake_source(name, lib_dir):
    """A fake's text with SIM_LIB pointed at where install puts simstate.py."""
    text = _read(os.path.join(FAKES_DIR, name))
    marker = 'SIM_LIB = "%s"' % SIM_LIB_DIR
    if 'SIM_LIB = "%s"' % lib_dir in text:
        return text  # installed from lib_dir itself (hccn_tool's Python fake lives there)
    if marker not in text:
        raise SimError("%s has no %s line" % (name, marker))
    return text.replace(marker, 'SIM_LIB = "%s"' % lib_dir, 1)


def _front_source(lib_dir):
    """hccn_tool.sh with the Python fake (and hccn_ping.awk) under lib_dir."""
    text = _read(os.path.join(FAKES_DIR, "hccn_tool.sh"))
    marker = 'LIB="%s"' % SIM_LIB_DIR
    if 'LIB="%s"' % lib_dir in text:
        return text
    if marker not in text:
        raise SimError("hccn_tool.sh has no %s line" % marker)
    return text.replace(marker, 'LIB="%s"' % lib_dir, 1)


def _precompile(source_path):
    """Byte-compile the installed simstate.py; the pyc path when it was (re)written, else None.

    The fakes import this module on every call with sys.dont_write_bytecode set, so without a
    pyc Python compiles it each time (half of a fake's start-up). A checked-hash pyc is valid
    exactly while the source's hash matches: no timestamps, so a re-install with the same source
    is a no-op and a changed source is never run from stale byte code.
    """
    import importlib.util  # pylint: disable=import-outside-toplevel
    import py_compile  # pylint: disable=import-outside-toplevel
    pyc = importlib.util.cache_from_source(source_path)
    with open(source_path, "rb") as handle:
        source = handle.read()
    header = importlib.util.MAGIC_NUMBER + (3).to_bytes(4, "little") + importlib.util.source_hash(source)
    try:
        with open(pyc, "rb") as handle:
            if handle.read(len(header)) == header:
                return None
    except OSError:
        pass
    py_compile.compile(source_path, cfile=pyc, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    os.chmod(pyc, 0o644)
    return pyc


def install_files(state, root, link_hccn_tool=False):
    """Lay out the driver, CANN and the fakes under root; returns the paths that changed."""
    changed = []
    cann, arch = state["versions"]["cann"], state["arch"]
    lib_dir = _rooted(root, SIM_LIB_DIR)
    toolkit = _rooted(root, "/usr/local/Ascend/ascend-toolkit")
    files = [
        ("/etc/hccn.conf", render_hccn_conf(state), 0o644),
        ("/etc/ascend_install.info", ASCEND_INSTALL_INFO, 0o644),
        ("/usr/local/Ascend/driver/version.info", render_driver_version_info(state), 0o644),
        ("/usr/local/Ascend/firmware/version.info", render_firmware_version_info(state), 0o644),
        ("/usr/local/Ascend/ascend-toolkit/%s/%s-linux/ascend_toolkit_install.info" % (cann, arch),
         render_toolkit_install_info(state), 0o644),
        ("/usr/local/Ascend/ascend-toolkit/set_env.sh", render_toolkit_set_env(), 0o755),
        (SIM_LIB_DIR + "/simstate.py", _read(os.path.realpath(__file__)), 0o755),
        ("/usr/local/bin/npu-smi", _fake_source("npu-smi", lib_dir), 0o755),
        # hccn_tool: the sh front answers the device queries from pre-rendered files and runs
        # the Python fake for everything else (see hccn_tool.sh).
        (SIM_LIB_DIR + "/hccn_tool", _fake_source("hccn_tool", lib_dir), 0o755),
        (SIM_LIB_DIR + "/hccn_ping.awk", _read(os.path.join(FAKES_DIR, "hccn_ping.awk")), 0o644),
        ("/usr/local/Ascend/driver/tools/hccn_tool", _front_source(lib_dir), 0o755),
    ]
    for path, content, mode in files:
        if _write_if_changed(_rooted(root, path), content, mode):
            changed.append(path)
    pyc = _precompile(_rooted(root, SIM_LIB_DIR + "/simstate.py"))
    if pyc:
        changed.append(SIM_LIB_DIR + "/" + os.path.relpath(pyc, lib_dir))
    for directory in ("/usr/local/Ascend/driver/lib64", "/usr/local/dcmi",
                      "/usr/local/Ascend/ascend-toolkit/%s/opp/vendors" % cann):
        if not os.path.isdir(_rooted(root, directory)):
            os.makedirs(_rooted(root, directory))
            changed.append(directory)
    # The built-in op proto library the custom-ops path replaces (with a backup): write the
    # placeholder once, never over what a role put there.
    proto = "/usr/local/Ascend/ascend-toolkit/%s/opp/built-in/op_proto/lib/linux/%s/libopsproto_rt2.0.so" % (cann, arch)
    if not os.path.exists(_rooted(root, proto)):
        _write_if_changed(_rooted(root, proto),
                          b"ascend-sim placeholder: CANN %s built-in libopsproto_rt2.0.so\n" % cann.encode())
        changed.append(proto)
    latest = os.path.join(toolkit, "latest")
    if not (os.path.islink(latest) and os.readlink(latest) == cann):
        if os.path.lexists(latest):
            os.unlink(latest)
        os.symlink(cann, latest)
        changed.append("/usr/local/Ascend/ascend-toolkit/latest")
    if link_hccn_tool:
        link = _rooted(root, "/usr/local/bin/hccn_tool")
        if not (os.path.islink(link) and os.readlink(link) == "/usr/local/Ascend/driver/tools/hccn_tool"):
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink("/usr/local/Ascend/driver/tools/hccn_tool", link)
            changed.append("/usr/local/bin/hccn_tool")
    return changed


def refresh_installed(state):
    """After a fault changed what hccn.conf says, rewrite it where install put it."""
    if state.get("install"):
        path = _rooted(state["install"]["root"], "/etc/hccn.conf")
        _write_if_changed(path, render_hccn_conf(state))


# ---------------------------------------------------------------------------------------------
# Device addresses on the NPU interface
# ---------------------------------------------------------------------------------------------
def _ip(*args):
    import subprocess  # pylint: disable=import-outside-toplevel
    proc = subprocess.run(["ip"] + list(args), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SimError("ip %s: %s" % (" ".join(args), (proc.stderr or proc.stdout).strip()))
    return proc.stdout


def _current_addresses(iface):
    out = _ip("-o", "-4", "addr", "show", "dev", iface)
    found = set()
    for line in out.splitlines():
        words = line.split()
        if "inet" in words:
            found.add(words[words.index("inet") + 1])
    return found


def sync_net(state):
    """Make the NPU interface carry exactly the addresses of the devices whose link is up.

    Deleting the primary address of a subnet also deletes its secondaries (and /proc/sys is
    read-only in the node containers, so promote_secondaries cannot be set): delete first, then
    add back every wanted address that went missing. Returns the changes made.
    """
    if no_net():
        return []
    import ipaddress  # pylint: disable=import-outside-toplevel
    iface = state["npu_if"]
    prefix = ipaddress.ip_network(state["npu_cidr"]).prefixlen
    wanted = {"%s/%d" % (dev["ip"], prefix) for dev in state["devices"] if dev["ip"] and dev["link"] == "UP"}
    managed = set(state["net"]["managed"])
    changes = []
    for cidr in sorted((_current_addresses(iface) & managed) - wanted, key=ipaddress.ip_interface):
        _ip("addr", "del", cidr, "dev", iface)
        changes.append("del " + cidr)
    for cidr in sorted(wanted - _current_addresses(iface), key=ipaddress.ip_interface):
        _ip("addr", "add", cidr, "dev", iface)
        changes.append("add " + cidr)
    state["net"]["managed"] = sorted(managed | wanted)
    return changes


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
def _int_arg(text, what):
    try:
        return int(text)
    except ValueError:
        raise SimError("%s must be an integer, not %r" % (what, text)) from None


def _need_device(state, dev_id):
    dev = device(state, dev_id)
    if dev is None:
        raise SimError("device %d: this %s node has devices 0..%d"
                       % (dev_id, state["product"], len(state["devices"]) - 1))
    return dev


def _need_chip(state, index):
    if not 0 <= index < len(state["chips"]):
        raise SimError("chip %d: this %s node has chips 0..%d"
                       % (index, state["product"], len(state["chips"]) - 1))
    return state["chips"][index]


def cmd_init(args):
    with locked():
        try:
            current = load_state()
        except SimError:
            current = None
        if current and current.get("init_args") == init_args_key(args) and not args.force:
            print("ascend-sim: init unchanged")
            return 0
        state = build_state(args)
        if current:
            # Keep what install did, so a new init followed by install stays idempotent.
            state["install"] = current.get("install")
            state["net"] = current.get("net", state["net"])
        save_state(state)
    print("ascend-sim: init changed")
    return 0


def cmd_install(args):
    with locked():
        state = load_state()
        if args.npu_if:
            state["npu_if"] = args.npu_if
        root = os.path.abspath(args.root)
        changed = install_files(state, root, args.link_hccn_tool)
        changed += sync_net(state)
        state["install"] = {"root": root}
        save_state(state)
    for item in changed:
        print("ascend-sim: installed %s" % item)
    print("ascend-sim: install %s" % ("changed" if changed else "unchanged"))
    return 0


def _mutate(func, net=False):
    """Run func(state) under the lock; refresh hccn.conf and, for address faults, the interface."""
    with locked():
        state = load_state()
        func(state)
        if net and state.get("install"):
            sync_net(state)
        refresh_installed(state)
        save_state(state)
    return 0


def cmd_set_link(args):
    def apply(state):
        _need_device(state, args.device)["link"] = args.state.upper()
    return _mutate(apply, net=True)


def cmd_set_health(args):
    def apply(state):
        _need_chip(state, args.chip)["health"] = args.health
    return _mutate(apply)


def cmd_set_tls(args):
    def apply(state):
        dev = _need_device(state, args.device)
        dev["tls"] = args.value
        dev["conf"]["tls_enable"] = str(args.value)
    return _mutate(apply)


def cmd_clear_ip(args):
    def apply(state):
        dev = _need_device(state, args.device)
        dev["ip"] = dev["netmask"] = dev["gateway"] = None
        if not args.keep_conf:
            for key in ("address", "netmask", "gateway"):
                dev["conf"].pop(key, None)
    return _mutate(apply, net=True)


def cmd_set_ip(args):
    import ipaddress  # pylint: disable=import-outside-toplevel

    def apply(state):
        dev = _need_device(state, args.device)
        net = ipaddress.ip_network(state["npu_cidr"])
        address = args.address or device_address(state["npu_cidr"], state["node_index"], dev["id"])
        try:
            if ipaddress.ip_address(address) not in net:
                raise SimError("%s is outside the NPU network %s" % (address, net))
        except ValueError as exc:
            raise SimError(str(exc)) from None
        dev["ip"], dev["netmask"], dev["gateway"] = address, str(net.netmask), gateway_address(state["npu_cidr"])
        conf = dict(dev["conf"], address=address, netmask=str(net.netmask), gateway=dev["gateway"])
        dev["conf"] = {key: conf[key] for key in HCCN_CONF_KEYS if key in conf}
    return _mutate(apply, net=True)


def cmd_set_net_health(args):
    def apply(state):
        _need_device(state, args.device)["net_health"] = args.value
    return _mutate(apply)


def cmd_set_hbm(args):
    def apply(state):
        chip = _need_chip(state, args.chip)
        if not 0 <= args.used_mb <= chip["hbm_total"]:
            raise SimError("HBM used %d MB: chip %d has %d MB" % (args.used_mb, args.chip, chip["hbm_total"]))
        chip["hbm_used"] = args.used_mb
    return _mutate(apply)


CHIP_FIELDS = {"power": str, "temp": int, "aicore": int, "hbm_used": int, "bus_id": str, "health": str}


def cmd_set_chip(args):
    def apply(state):
        chip = _need_chip(state, args.chip)
        for item in args.assignments:
            key, sep, value = item.partition("=")
            if not sep or key not in CHIP_FIELDS:
                raise SimError("set-chip takes key=value with key in %s, not %r" % (", ".join(CHIP_FIELDS), item))
            if key == "health" and value not in HEALTH_VALUES:
                raise SimError("health %r: one of %s" % (value, ", ".join(HEALTH_VALUES)))
            chip[key] = _int_arg(value, key) if CHIP_FIELDS[key] is int else value
        if not 0 <= chip["hbm_used"] <= chip["hbm_total"]:
            raise SimError("hbm_used %d outside 0..%d" % (chip["hbm_used"], chip["hbm_total"]))
    return _mutate(apply)


def cmd_add_process(args):
    def apply(state):
        if not 0 <= args.npu < npu_count(state) or not 0 <= args.chip < chips_per_npu(state):
            raise SimError("NPU %d chip %d does not exist on this %s node" % (args.npu, args.chip, state["product"]))
        state["processes"].append({"npu_id": args.npu, "chip_id": args.chip, "pid": args.pid,
                                   "name": args.name, "mem": args.mem})
        state["processes"].sort(key=lambda p: (p["npu_id"], p["chip_id"]))
    return _mutate(apply)


def cmd_del_process(args):
    def apply(state):
        if args.all:
            state["processes"] = []
            return
        before = len(state["processes"])
        state["processes"] = [p for p in state["processes"] if p["pid"] != args.pid]
        if len(state["processes"]) == before:
            raise SimError("no process with pid %d" % args.pid)
    return _mutate(apply)


def cmd_show(args):
    state = load_state()
    if args.device is not None:
        state = _need_device(state, args.device)
    elif args.chip is not None:
        state = _need_chip(state, args.chip)
    import json  # pylint: disable=import-outside-toplevel
    print(json.dumps(state, indent=2))
    return 0


def parser():
    import argparse  # pylint: disable=import-outside-toplevel
    top = argparse.ArgumentParser(prog="simstate.py", description=__doc__.split("\n", 1)[0])
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="write a fresh node state (no-op when the arguments are unchanged)")
    p.add_argument("--product", choices=sorted(PRODUCTS), required=True)
    p.add_argument("--hostname", required=True)
    p.add_argument("--node-index", type=int, required=True)
    p.add_argument("--npu-cidr", required=True, help="the NPU device network, e.g. 10.20.0.0/22")
    p.add_argument("--chips", type=int, help="default: 8 on a2, 16 on a3")
    p.add_argument("--tls", type=int, choices=(0, 1), default=0)
    p.add_argument("--driver-version", help="driver and npu-smi version (default 24.1.rc3 / 24.1.rc3.7)")
    p.add_argument("--cann-version", default="8.2.RC1")
    p.add_argument("--arch", choices=("aarch64", "x86_64"), default="aarch64")
    p.add_argument("--chip-name", help="A2 only: %s (default 910B3)" % ", ".join(A2_CHIP_HBM))
    p.add_argument("--npu-if", default="eth2", help="interface that carries the device addresses")
    p.add_argument("--force", action="store_true", help="rewrite even when the arguments are unchanged")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("install", help="lay out driver/CANN files and the fakes, bring device addresses up")
    p.add_argument("--root", default="/")
    p.add_argument("--npu-if", help="override the interface given to init")
    p.add_argument("--link-hccn-tool", action="store_true", help="also link /usr/local/bin/hccn_tool")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("set-link", help="bring a device's port up or down (removes its address)")
    p.add_argument("device", type=int)
    p.add_argument("state", choices=("up", "down"))
    p.set_defaults(func=cmd_set_link)

    p = sub.add_parser("set-health", help="a chip's Health in npu-smi info")
    p.add_argument("chip", type=int)
    p.add_argument("health", choices=HEALTH_VALUES)
    p.set_defaults(func=cmd_set_health)

    p = sub.add_parser("set-tls", help="a device's TLS switch (and tls_enable_D in hccn.conf)")
    p.add_argument("device", type=int)
    p.add_argument("value", type=int, choices=(0, 1))
    p.set_defaults(func=cmd_set_tls)

    p = sub.add_parser("clear-ip", help="the device loses its address (and gateway)")
    p.add_argument("device", type=int)
    p.add_argument("--keep-conf", action="store_true", help="leave address_D/netmask_D/gateway_D in hccn.conf")
    p.set_defaults(func=cmd_clear_ip)

    p = sub.add_parser("set-ip", help="give the device an address again (default: its deterministic one)")
    p.add_argument("device", type=int)
    p.add_argument("address", nargs="?")
    p.set_defaults(func=cmd_set_ip)

    p = sub.add_parser("set-net-health", help="what hccn_tool -net_health -g reports")
    p.add_argument("device", type=int)
    p.add_argument("value", choices=NET_HEALTH_VALUES)
    p.set_defaults(func=cmd_set_net_health)

    p = sub.add_parser("set-hbm", help="HBM used by a chip, MB")
    p.add_argument("chip", type=int)
    p.add_argument("used_mb", type=int)
    p.set_defaults(func=cmd_set_hbm)

    p = sub.add_parser("set-chip", help="set chip fields: %s" % ", ".join(CHIP_FIELDS))
    p.add_argument("chip", type=int)
    p.add_argument("assignments", nargs="+", metavar="key=value")
    p.set_defaults(func=cmd_set_chip)

    p = sub.add_parser("add-process", help="a process npu-smi info lists")
    p.add_argument("--npu", type=int, required=True)
    p.add_argument("--chip", type=int, default=0)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--name", default="python")
    p.add_argument("--mem", type=int, required=True, help="process memory, MB")
    p.set_defaults(func=cmd_add_process)

    p = sub.add_parser("del-process")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--pid", type=int)
    group.add_argument("--all", action="store_true")
    p.set_defaults(func=cmd_del_process)

    p = sub.add_parser("show", help="print the state (or one device / chip) as JSON")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--device", type=int)
    group.add_argument("--chip", type=int)
    p.set_defaults(func=cmd_show)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except SimError as exc:
        print("simstate.py: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
