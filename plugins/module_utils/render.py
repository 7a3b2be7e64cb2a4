# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host plan -> the files made from it, in one of two modes (pure Python, stdlib only).

``review``
    what ``playbooks/render.yml`` writes by default: the seed-shaped launch script of the host
    (``<host>.sh``), readable on its own, finding at run time whatever the inventory does not say
    and nothing was discovered for (:func:`plan.render_script`).
``deploy``
    the files the vLLM service of the host is made of, exactly as a deploy writes them:
    ``hccl.env`` (role hccl_env), ``launch.sh``, ``state.json`` and the systemd unit (role
    vllm_service). Every value comes from the plan (``plan["service"]``: unit, config dir,
    runtime, image, devices, mounts, auth, endpoint); ``image_id`` is the local image ID the
    operator install resolved the image to (a tag may move; the container runs the ID).

The keys of the result are file names relative to the directory they go to: the config dir,
except the unit (``/etc/systemd/system``, or an upgrade's staging directory).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json

from ansible_collections.ascend.serving.plugins.module_utils import plan as _plan
from ansible_collections.ascend.serving.plugins.module_utils import service as _service

MODES = ("review", "deploy")
MANAGED_COMMENT = "Ansible managed"


class RenderError(ValueError):
    """The plan cannot be rendered as asked."""


def state_json(state):
    """A state record as state.json holds it (Ansible's to_nice_json, sorted keys, one newline)."""
    return json.dumps(state, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"


def deploy_state(plan, image_id=None):
    """The state record a deploy writes for this host (with the plan's endpoint)."""
    svc = _service_part(plan)
    state = _service.node_state(plan, svc["runtime"], auth=svc["auth"], image_id=image_id)
    state["endpoint"] = svc["endpoint"]
    return state


def _service_part(plan):
    svc = plan.get("service") if isinstance(plan, dict) else None
    if not isinstance(svc, dict):
        raise RenderError("the plan of %s has no service part: compute it with the plan step (role "
                          "ascend.serving.plan) or ascend.serving.vllm_plan" % (plan or {}).get("host"))
    return svc


def env_paths(plan):
    """The environment files the launch script sources, in order (secret.env only with a key)."""
    svc = _service_part(plan)
    return [svc["config_dir"] + "/hccl.env"] + ([svc["config_dir"] + "/secret.env"] if svc["auth"] else [])


def render(plan, mode="review", image_id=None, managed_comment=MANAGED_COMMENT):
    """``{file name: content}`` of one host plan in ``mode`` (see the module docstring)."""
    if mode not in MODES:
        raise RenderError("render mode must be one of %s, got %r" % (", ".join(MODES), mode))
    if mode == "review":
        return {"%s.sh" % plan["host"]: _plan.render_script(plan)}
    runtime_refs = (plan.get("network") or {}).get("runtime") or []
    if runtime_refs:
        verb = "is" if len(runtime_refs) == 1 else "are"
        raise RenderError("%s: deploy mode needs every address known, but %s %s left to run time: discover "
                          "the NICs first (the plan step with plan_discover: true) or set hccl_env_local_ip / "
                          "hccl_env_nic_name for the host" % (plan["host"], ", ".join(runtime_refs), verb))
    svc = _service_part(plan)
    state = deploy_state(plan, image_id=image_id)
    image = (image_id or svc["image"]) if svc["runtime"] == "container" else None
    try:
        launch = _service.launch_script(
            plan, env_paths(plan), runtime=svc["runtime"], image=image, image_name=state["image"],
            npus=svc["npus"], model_mount=svc["model_mount"], auth=svc["auth"], run_digest=state["run_digest"],
            unit=svc["unit"])
        unit = _service.unit_file(plan, svc["config_dir"] + "/launch.sh", managed_comment, runtime=svc["runtime"])
    except _service.ServiceError as exc:
        raise RenderError(str(exc))
    return {
        "hccl.env": _service.env_file(plan),
        "launch.sh": launch,
        "state.json": state_json(state),
        svc["unit"]: unit,
    }
