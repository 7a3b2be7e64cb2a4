# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validated topology -> per-host launch plan -> launch script (pure Python, stdlib only).

The plan is the one source of truth for how vLLM starts on a host: the
ordered environment and the ``vllm serve`` argv.  Every rendering (render.yml's
scripts, the service's env file / launch script / unit) is made from it.

Contract of a host plan (``build_plan(...)[host]``):

``env``
    ordered ``[[NAME, VALUE], ...]``, meant to be exported in order by a POSIX
    shell: a value may refer to earlier values or the inherited environment as
    ``${NAME}`` (the custom-ops entries prepend to ``LD_PRELOAD`` that way).
``source``
    files to source (``. FILE``) after the exports (MLAPO's set_env.bash).
``argv``
    ``["vllm", "serve", MODEL, "--flag", "value", ...]``.
``network``
    ``nic_name`` / ``local_ip`` / ``node0_ip`` and where each came from
    (``inventory``, ``discovered``, ``ansible_host`` or ``runtime``).  A
    ``runtime`` value is still unknown: env and argv then hold the shell
    reference ``$nic_name`` / ``$local_ip`` / ``$node0_ip`` and
    :func:`render_script` emits the commands that find it on the node.
    Deploy-time callers pass ``discovered`` so nothing is left to run time.
``ops``
    what role ascend_ops installs (:func:`ops_plan.build_ops_plan`: the install method's kind,
    every artifact as a step with its URL after the mirror rewrite and its sha256, staging and
    stamp paths, the image and its pull reference, and the problems that stop it).
``service``
    what the node's service is made of besides env and argv: ``unit``,
    ``config_dir``, ``runtime`` (``auto`` resolved: ``container`` for an image
    release), ``image``, ``npus`` (the ``/dev/davinciN`` devices a container
    gets), ``model_mount`` (the weights directory a container mounts),
    ``auth`` (the endpoint requires an API key; never the key) and
    ``endpoint`` (node0's URL, the one every client and check uses).  The
    per-host ``settings`` (role ``ascend.serving.settings``: config dir, unit,
    runtime, whether an API key is set) complete it; see :data:`SETTINGS`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import posixpath
import re

from ansible_collections.ascend.serving.plugins.module_utils.ops_plan import build_ops_plan
from ansible_collections.ascend.serving.plugins.module_utils.profile import (
    _image_method,
    _is_hub_id,
    install_method,
    missing_checksums,
    missing_pins,
)

RUNTIME_VARS = ("node0_ip", "local_ip", "nic_name")
_REF_RE = re.compile(r"\$(?:\{(node0_ip|local_ip|nic_name)\}|(node0_ip|local_ip|nic_name)(?![A-Za-z0-9_]))")
_SAFE_RE = re.compile(r"^[A-Za-z0-9_./:,+=@%-]+$")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")

# serve keys emitted before the data-parallel flags (the seed's order).
_LEADING_SERVE_KEYS = ("host", "port")

# The per-host settings a plan takes besides the topology, with the value used when a caller gives
# none (render.yml's review of an inventory). Playbooks pass the values of role
# ascend.serving.settings (ascend_serving_config_dir, ascend_serving_unit, vllm_service_runtime,
# vllm_service_api_key != ""), whose defaults are these.
SETTINGS = (
    ("config_dir", "/etc/ascend-serving"),
    ("unit", "ascend-vllm.service"),
    ("runtime", "auto"),
    ("auth", False),
    # role ascend_ops' inputs of its plan: ascend_ops_root, ascend_ops_base_url, ascend_ops_image_digest,
    # ascend_ops_image_tarball, ascend_ops_image_tarball_sha256 (module_utils/ops_plan.build_ops_plan).
    ("ops", None),
)
_RUNTIMES = ("auto", "host", "container")
_OPS_SETTINGS = ("root", "base_url", "image_digest", "image_tarball", "image_tarball_sha256")


def _is_ip(text):
    return bool(text) and (bool(_IPV4_RE.match(text)) or ":" in text)


def _get(data, path, default=None):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def _scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def flag_name(key):
    """``max_model_len`` -> ``--max-model-len``."""
    return "--" + str(key).replace("_", "-")


def option_args(key, value):
    """The argv items for one ``serve`` option (see base/default.yml for the rules)."""
    if value is None:
        return []
    if value is True:
        return [flag_name(key)]
    if value is False:
        return ["--no-" + str(key).replace("_", "-")]
    if isinstance(value, dict):
        return [flag_name(key), json.dumps(value, separators=(",", ":"))]
    if isinstance(value, (list, tuple)):
        return [flag_name(key)] + [_scalar(v) for v in value]
    return [flag_name(key), _scalar(value)]


def nic_query(role, nic_name="", local_ip="", cidr="", pattern="", own_address="", node0_address=""):
    """How discovery chooses a host's HCCL/GLOO NIC: the one ``nic_info`` option to pass (``peer``,
    ``cidr`` or ``name``), first match wins:

    1. ``hccl_env_nic_name`` and/or ``hccl_env_local_ip`` set: the NIC of that name, else the one
       holding that address (the inventory wins; the node is checked to agree);
    2. ``hccl_env_nic_cidr``: the one interface with an address in that network;
    3. ``hccl_env_nic_pattern``: the one interface whose name matches that glob;
    4. otherwise the interface the kernel uses to reach node0 (``node0_address``, what node0's own
       discovery chose); node0 itself: the one holding ``own_address`` (its ansible_host).
    """
    if nic_name or (not local_ip and not cidr and pattern):
        return {"name": nic_name or pattern}
    if not local_ip and cidr:
        return {"cidr": cidr}
    peer = local_ip or (own_address if role == "node0" else node0_address)
    if not peer:
        raise ValueError("nic_query: a %s host needs %s to find its NIC by route"
                         % (role, "its own address" if role == "node0" else "node0's address"))
    return {"peer": peer}


def _network(topology, host, discovered):
    """Where this host's NIC / local IP and node0's address come from."""
    entry = topology["hosts"][host]
    node0 = entry["node0"]
    n0_entry = topology["hosts"][node0]
    mine = discovered.get(host) or {}
    theirs = discovered.get(node0) or {}

    def pick(inventory_value, discovered_value):
        if inventory_value:
            return inventory_value, "inventory"
        if discovered_value:
            return discovered_value, "discovered"
        return None, "runtime"

    node0_ip, node0_src = pick(n0_entry.get("local_ip"), theirs.get("local_ip"))
    if node0_ip is None and _is_ip(n0_entry.get("address")):
        node0_ip, node0_src = n0_entry["address"], "ansible_host"
    local_ip, local_src = pick(entry.get("local_ip"), mine.get("local_ip"))
    if local_ip is None and entry["role"] == "node0":
        local_ip, local_src = node0_ip, node0_src
    nic_name, nic_src = pick(entry.get("nic_name"), mine.get("nic_name"))
    return {
        "node0_host": node0,
        "node0_address": n0_entry.get("address"),
        "node0_ip": node0_ip,
        "local_ip": local_ip,
        "nic_name": nic_name,
        "sources": {"node0_ip": node0_src, "local_ip": local_src, "nic_name": nic_src},
    }


def _endpoint_address(topology, host, discovered):
    """The address clients reach the instance's API at: node0's data-network address (inventory,
    else discovered) for a multi-node instance, else the address discovery chose on the node; in
    both cases the address Ansible reaches node0 at when neither is known."""
    entry = topology["hosts"][host]
    node0 = entry["node0"]
    theirs = discovered.get(node0) or {}
    if entry["multi_node"]:
        return topology["hosts"][node0].get("local_ip") or theirs.get("local_ip") or topology["hosts"][node0]["address"]
    return theirs.get("local_ip") or topology["hosts"][node0]["address"]


def host_settings(settings, host):
    """One host's settings (:data:`SETTINGS` keys), defaults filled in, checked."""
    given = (settings or {}).get(host) or {}
    if not isinstance(given, dict):
        raise ValueError("settings[%s] must be a mapping of %s" % (host, ", ".join(k for k, _v in SETTINGS)))
    unknown = sorted(set(given) - set(k for k, _v in SETTINGS))
    if unknown:
        raise ValueError("settings[%s]: unknown key(s) %s" % (host, ", ".join(unknown)))
    result = dict((key, default if given.get(key) is None else given[key]) for key, default in SETTINGS)
    if result["runtime"] not in _RUNTIMES:
        raise ValueError("%s: vllm_service_runtime is %r: it must be one of %s"
                         % (host, result["runtime"], ", ".join(_RUNTIMES)))
    if result["auth"] not in (True, False):
        raise ValueError("settings[%s].auth must be true or false, got %r" % (host, result["auth"]))
    for key in ("config_dir", "unit"):
        if not isinstance(result[key], str) or not result[key]:
            raise ValueError("settings[%s].%s must be a non-empty string, got %r" % (host, key, result[key]))
    ops = result["ops"] or {}
    if not isinstance(ops, dict) or set(ops) - set(_OPS_SETTINGS):
        raise ValueError("settings[%s].ops must be a mapping of %s, got %r" % (host, ", ".join(_OPS_SETTINGS), ops))
    result["ops"] = dict((key, value) for key, value in ops.items() if value is not None)
    return result


def _service(profile, method, model, port, settings, endpoint_address):
    """The ``service`` part of a host plan (see the module docstring)."""
    runtime = settings["runtime"]
    if runtime == "auto":
        runtime = "container" if _get(profile, ("release", "install_method")) == "image" else "host"
    model = str(model)
    return {
        "unit": settings["unit"],
        "config_dir": settings["config_dir"],
        "runtime": runtime,
        "image": method.get("image") or None,
        "npus": _get(profile, ("hardware", "npus_per_node")),
        "model_mount": posixpath.dirname(model) if model.startswith("/") else None,
        "auth": settings["auth"],
        "endpoint": "http://%s:%s" % (endpoint_address, port),
    }


def _substitute(value, known):
    def repl(match):
        name = match.group(1) or match.group(2)
        return known[name] if known.get(name) else match.group(0)
    return _REF_RE.sub(repl, value)


def host_plan(topology, host, discovered=None, settings=None):
    """The launch plan of one host of a validated topology."""
    discovered = discovered or {}
    mine = host_settings(settings, host)
    entry = topology["hosts"][host]
    profile = entry["profile"]
    multi = entry["multi_node"]
    headless = entry["role"] == "headless"
    dp_size = entry["dp_size"]

    if multi:
        network = _network(topology, host, discovered)
        known = dict((k, network[k]) for k in RUNTIME_VARS if network[k])
    else:
        network = None
        known = {}

    scope = "multi_node" if multi else "single_node"
    env = []
    method = install_method(profile)
    for mapping in (profile.get("env") or {}, method.get("env") or {}):
        for name, value in mapping.items():
            if isinstance(value, dict):
                value = value.get(scope)
            if value is None:
                continue
            env.append([str(name), _substitute(_scalar(value), known)])
    source = [str(s) for s in (method.get("source") or [])]

    serve = profile.get("serve") or {}
    par = profile.get("parallel") or {}
    argv = ["vllm", "serve", str(_get(profile, ("model", "path")))]
    for key in _LEADING_SERVE_KEYS:
        argv += option_args(key, serve.get(key))
    if headless:
        argv.append("--headless")
    if dp_size > 1:
        argv += ["--data-parallel-size", str(dp_size), "--data-parallel-size-local", str(entry["dp_local"])]
        if headless:
            argv += ["--data-parallel-start-rank", str(entry["dp_start_rank"])]
        if multi:
            # The seed: node0 passes its own local IP, headless nodes node0's.
            ref = "$node0_ip" if headless else "$local_ip"
            argv += ["--data-parallel-address", _substitute(ref, known)]
        argv += ["--data-parallel-rpc-port", str(par.get("data_parallel_rpc_port"))]
    argv += ["--tensor-parallel-size", str(par.get("tensor_parallel_size"))]
    for key, value in serve.items():
        if key not in _LEADING_SERVE_KEYS:
            argv += option_args(key, value)
    argv += option_args("additional_config", profile.get("additional_config"))

    notes = []
    runtime = []
    if network is not None:
        # Find at run time only what env / argv refer to, plus what finding it needs
        # (the NIC is looked up from the local IP, the local IP from the route to node0).
        used = set()
        for item in [v for _k, v in env] + argv:
            for match in _REF_RE.finditer(item):
                used.add(match.group(1) or match.group(2))
        if "nic_name" in used:
            used.add("local_ip")
        if "local_ip" in used and network["sources"]["local_ip"] == "runtime":
            used.add("node0_ip")
        runtime = [k for k in RUNTIME_VARS if k in used and network["sources"][k] == "runtime"]
        network["runtime"] = runtime
        if network["sources"]["node0_ip"] == "ansible_host":
            notes.append("node0's address %s is its ansible_host: set hccl_env_local_ip on %s if the data network "
                         "uses another address" % (network["node0_ip"], network["node0_host"]))
    missing = missing_checksums(profile)
    if missing:
        notes.append("install method %s: no sha256 for %s (upstream publishes none): set vllm_artifact_sha256 "
                     "before deploying" % (_get(profile, ("release", "install_method")), ", ".join(missing)))
    notes.extend(missing_pins(profile))

    return {
        "host": host,
        "instance": entry["instance"],
        "role": entry["role"],
        "node0": entry["node0"],
        "multi_node": multi,
        "dp_size": dp_size,
        "dp_local": entry["dp_local"],
        "dp_start_rank": entry["dp_start_rank"],
        "dp_ranks": list(entry["dp_ranks"]),
        "tp_size": entry["tp_size"],
        "model": argv[2],
        # model.revision: the weights revision pinned (vllm_model_revision; --revision for a hub id), or None.
        "model_revision": _get(profile, ("model", "revision")),
        "served_model_name": serve.get("served_model_name"),
        "port": serve.get("port"),
        "data_parallel_rpc_port": par.get("data_parallel_rpc_port"),
        "profile_name": _get(profile, ("profile", "name")),
        "network": network,
        "service": _service(profile, method, argv[2], serve.get("port"), mine,
                            _endpoint_address(topology, host, discovered)),
        # What role ascend_ops installs for this plan (module_utils/ops_plan.py).
        "ops": build_ops_plan(profile, **mine["ops"]),
        "env": env,
        "source": source,
        "argv": argv,
        "notes": notes,
        "profile": profile,
    }


def unpinned(topology):
    """What the hosts of a validated topology would pull or download by a name that can move, one line
    per finding naming its hosts (the plan step's warning when pins are not required)."""
    found = {}
    for host in topology["order"]:
        profile = topology["hosts"][host]["profile"]
        method = install_method(profile)
        if _image_method(method) and not method.get("digest"):
            found.setdefault("image %s is not pinned by digest (a tag can move to another build): set "
                             "vllm_image_digest: sha256:<its registry digest>" % method["image"], []).append(host)
        path = _get(profile, ("model", "path"))
        if _is_hub_id(path) and not _get(profile, ("model", "revision")):
            found.setdefault("model %s is a hub id with no revision: vLLM downloads whatever its default branch holds%s; "
                             "set vllm_model_revision (or model_weights_revision) to a commit or tag"
                             % (path, " and runs its code as root (trust_remote_code)"
                                if _get(profile, ("serve", "trust_remote_code")) else ""), []).append(host)
    return ["%s %s: %s (preflight_require_checksums: true refuses this; docs/profiles.md, Pins)"
            % ("host" if len(hosts) == 1 else "hosts", ", ".join(hosts), text) for text, hosts in found.items()]


def normalize_discovered(discovered):
    """``{host: {"nic_name", "local_ip"}}`` from what deploy-time discovery returns.

    Each host's value may be ``{"nic_name": ..., "local_ip": ...}`` or nic_info's
    ``selected`` (``{"name": ..., "address": ..., ...}``); None is skipped.
    Raises ValueError for anything else.
    """
    result = {}
    if not discovered:
        return result
    if not isinstance(discovered, dict):
        raise ValueError("discovered must map hosts to {nic_name: ..., local_ip: ...} (or nic_info's selected)")
    for host, found in discovered.items():
        if found is None:
            continue
        if isinstance(found, dict) and ("nic_name" in found or "local_ip" in found):
            result[host] = {"nic_name": found.get("nic_name"), "local_ip": found.get("local_ip")}
        elif isinstance(found, dict) and ("name" in found or "address" in found):
            result[host] = {"nic_name": found.get("name"), "local_ip": found.get("address")}
        else:
            raise ValueError("discovered[%s] must be a mapping with nic_name / local_ip (or nic_info's selected: "
                             "name / address), got %r" % (host, found))
    return result


def build_plan(topology, discovered=None, settings=None):
    """``{host: host_plan}`` for every host of a validated topology.

    ``discovered``: per host, the NIC and local IP found on the node at deploy
    time (see :func:`normalize_discovered`); inventory values (``hccl_env_*``) win.
    ``settings``: per host, see :data:`SETTINGS` (missing hosts and keys: the defaults).
    """
    discovered = normalize_discovered(discovered)
    if settings is not None and not isinstance(settings, dict):
        raise ValueError("settings must map hosts to {%s}" % ", ".join(k for k, _v in SETTINGS))
    return dict((host, host_plan(topology, host, discovered, settings)) for host in topology["order"])


# -- renderings ------------------------------------------------------------

def sh_literal(text):
    """``text`` as one shell word, taken literally."""
    text = str(text)
    if _SAFE_RE.match(text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


_EXPANSION_RE = re.compile(r"\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)")


def sh_expanding(text):
    """``text`` as one shell word in which ``$NAME`` / ``${NAME}`` expand and nothing else does.

    Inside the double quotes every other ``$`` (``$(...)``, ``$1``, ``${X:-...}``), backtick,
    backslash and double quote is escaped, so sourcing the file never runs a command. (Profile
    validation refuses ``$(``, backticks and newlines in values before it comes to this.)"""
    text = str(text)
    if _SAFE_RE.match(text):
        return text
    if "$" not in text:
        return sh_literal(text)
    out = []
    pos = 0
    for match in _EXPANSION_RE.finditer(text):
        out.append(re.sub(r'(["\\`$])', r"\\\1", text[pos:match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(re.sub(r'(["\\`$])', r"\\\1", text[pos:]))
    return '"' + "".join(out) + '"'


def _argv_word(item):
    if _REF_RE.fullmatch(item):
        return '"%s"' % item
    return sh_literal(item)


def _discovery_lines(plan):
    net = plan["network"]
    runtime = net.get("runtime") or []
    if not runtime:
        return []
    host = plan["host"]
    inventory_vars = " / ".join("hccl_env_%s" % k for k in ("local_ip", "nic_name") if k in runtime)
    if plan["role"] == "node0":
        how = "the interface holding node0's own address"
    else:
        how = "the interface and source address of the route to node0 (%s)" % net["node0_host"]
    lines = ["# %s: not set in the inventory%s, so discovered here at run time as %s."
             % (" and ".join(k for k in RUNTIME_VARS if k in runtime and k != "node0_ip") or "node0_ip",
                " (%s)" % inventory_vars if inventory_vars else "", how)]
    if "node0_ip" in runtime:
        lines.append("# node0_ip: the address of %s's name %s, resolved at run time."
                     % (net["node0_host"], net["node0_address"]))
    if "node0_ip" in runtime:
        lines.append("node0_ip=$(getent ahostsv4 %s | awk 'NR == 1 {print $1}')" % sh_literal(net["node0_address"]))
    elif net["node0_ip"]:
        lines.append("node0_ip=%s" % sh_literal(net["node0_ip"]))
    if "local_ip" in runtime:
        if plan["role"] == "node0":
            lines.append('local_ip="$node0_ip"')
        else:
            lines.append("local_ip=$(ip -o route get \"$node0_ip\" | sed -n 's/.* src \\([^ ]*\\).*/\\1/p')")
    elif net["local_ip"]:
        lines.append("local_ip=%s" % sh_literal(net["local_ip"]))
    if "nic_name" in runtime:
        lines.append("nic_name=$(ip -o addr show to \"$local_ip\" | awk '{print $2; exit}')")
    checks = " || ".join('[ -z "$%s" ]' % name for name in runtime)
    lines += [
        "if %s; then" % checks,
        "  echo \"%s: cannot find the NIC / address that reaches node0 ${node0_ip:-%s}; set hccl_env_nic_name and "
        "hccl_env_local_ip for this host in the inventory\" >&2" % (host, net["node0_host"]),
        "  exit 1",
        "fi",
        'echo "%s: nic_name=$nic_name local_ip=$local_ip node0_ip=$node0_ip" >&2' % host
        if "nic_name" in runtime else 'echo "%s: local_ip=$local_ip node0_ip=$node0_ip" >&2' % host,
        "",
    ]
    return lines


def render_script(plan, exec_command=False):
    """The POSIX sh launch script of one host plan (the seed's script shape).

    ``exec_command``: start vLLM with ``exec`` so it replaces the shell (for a
    service manager that signals the main process).
    """
    ranks = plan["dp_ranks"]
    rank_text = ", ".join(str(r) for r in ranks)
    lines = [
        "#!/bin/sh",
        "# vLLM launch script for %s: instance %s, %s, DP rank%s %s of %d, TP %s."
        % (plan["host"], plan["instance"], plan["role"], "" if len(ranks) == 1 else "s", rank_text,
           plan["dp_size"], plan["tp_size"]),
        "# Profile %s. Rendered by ascend.serving from its launch plan: change the inventory, not this file."
        % plan["profile_name"],
    ]
    for note in plan.get("notes") or []:
        lines.append("# NOTE: %s" % note)
    lines.append("")
    net = plan.get("network")
    if net:
        lines += _discovery_lines(plan)
        if not net.get("runtime"):
            lines += ["# nic %s (%s), local ip %s (%s), node0 %s (%s)." % (
                net["nic_name"], net["sources"]["nic_name"], net["local_ip"], net["sources"]["local_ip"],
                net["node0_ip"], net["sources"]["node0_ip"]), ""]
    for name, value in plan["env"]:
        lines.append("export %s=%s" % (name, sh_expanding(value)))
    for path in plan.get("source") or []:
        lines.append(". %s" % sh_literal(path))
    lines.append("")

    # One flag (with its values) per line, as in the seed.
    argv = plan["argv"]
    groups = [[sh_literal(argv[0]), sh_literal(argv[1]), sh_literal(argv[2])]]
    for item in argv[3:]:
        if item.startswith("--"):
            groups.append([item])
        else:
            groups[-1].append(_argv_word(item))
    prefix = "exec " if exec_command else ""
    for index, group in enumerate(groups):
        text = " ".join(group)
        if index == 0:
            text = prefix + text
        lines.append(text + (" \\" if index < len(groups) - 1 else ""))
    return "\n".join(lines) + "\n"


def plan_table(plans):
    """Summary lines (host, instance, role, DP ranks, NIC, IP), one per host."""
    rows = [("host", "instance", "role", "dp ranks", "tp", "nic", "local ip", "node0 ip")]
    for host, plan in plans.items():
        net = plan.get("network")
        ranks = plan["dp_ranks"]
        ranks_text = "%s/%d" % (",".join(str(r) for r in ranks), plan["dp_size"])
        if net:
            def show(key, net=net):
                if net["sources"][key] == "runtime":
                    return "(run time)"
                return "%s (%s)" % (net[key], net["sources"][key])
            nic, ip, node0 = show("nic_name"), show("local_ip"), show("node0_ip")
        else:
            nic = ip = node0 = "- (single node)"
        rows.append((host, plan["instance"], plan["role"], ranks_text, str(plan["tp_size"]), nic, ip, node0))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
