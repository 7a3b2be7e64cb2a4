# -*- coding: utf-8 -*-
"""scripts/role_docs.py: defaults/main.yml and meta/argument_specs.yml must not drift."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import importlib.util
import os

import pytest
import yaml

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "scripts", "role_docs.py")


def load_role_docs():
    spec = importlib.util.spec_from_file_location("role_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


role_docs = load_role_docs()


def make_role(root, name, defaults, specs, meta=None):
    role = root / "roles" / name
    (role / "defaults").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "defaults" / "main.yml").write_text(yaml.safe_dump(defaults))
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": specs}))
    (role / "meta" / "main.yml").write_text(yaml.safe_dump(meta or {"galaxy_info": {"description": name}}))
    return role


def option(default=None, **extra):
    opt = {"type": "str", "description": "d"}
    if default is not None:
        opt["default"] = default
    opt.update(extra)
    return opt


def test_every_default_documented_is_no_drift(tmp_path):
    role = make_role(tmp_path, "r", {"r_a": "x", "r_b": 3, "r_c": None, "r_restore": "previous"},
                     {"main": {"options": {"r_a": option("x"), "r_b": option(3, type="int"), "r_c": option()}},
                      "restore": {"options": {"r_restore": option("previous")}}})
    assert role_docs.drift(role) == []


def test_a_default_missing_from_argument_specs_is_named_with_the_fix(tmp_path):
    role = make_role(tmp_path, "preflight", {"preflight_a": True, "preflight_min_free_disk_gb": 0},
                     {"main": {"options": {"preflight_a": option(True, type="bool")}}})
    assert role_docs.drift(role) == [
        "role preflight: preflight_min_free_disk_gb is in defaults/main.yml but in no entry point of "
        "meta/argument_specs.yml: add it to argument_specs.main.options (type, default: 0, description), or to the "
        "options of the entry point that reads it"]


@pytest.mark.parametrize("documented, real, shown", [
    ("/opt/a", "/opt/b", '"/opt/a"'),
    ("10", 10, '"10"'),        # a string is not the integer
    (1, True, "1"),            # nor 1 the boolean
    (None, [], "null"),        # no documented default for a real one
    ([], ["a"], "[]"),
])
def test_a_documented_default_that_differs_is_named_in_every_entry_point(tmp_path, documented, real, shown):
    role = make_role(tmp_path, "r", {"r_v": real},
                     {"main": {"options": {"r_v": option(documented)}},
                      "stage": {"options": {"r_v": option(documented)}},
                      "other": {"options": {}}})
    assert role_docs.drift(role) == [
        "role r: argument_specs.%s.options.r_v documents default %s but defaults/main.yml sets %s: make them the same "
        "(set default: %s in meta/argument_specs.yml, or change defaults/main.yml)"
        % (entry, shown, role_docs.json.dumps(real), role_docs.json.dumps(real)) for entry in ("main", "stage")]


def test_a_jinja_default_is_not_compared(tmp_path):
    role = make_role(tmp_path, "r", {"r_key": "{{ other_key }}", "r_list": ["{% if x %}a{% endif %}"]},
                     {"main": {"options": {"r_key": option(), "r_list": option(type="list")}}})
    assert role_docs.drift(role) == []


def test_check_fails_on_drift_even_with_readmes_in_sync(tmp_path, monkeypatch, capsys):
    make_role(tmp_path, "r", {"r_new": 5}, {"main": {"options": {}}})
    monkeypatch.setattr(role_docs, "ROOT", tmp_path)
    monkeypatch.setattr("sys.argv", ["role_docs.py"])
    assert role_docs.main() == 1  # writes the README, still fails on the drift
    assert (tmp_path / "roles" / "r" / "README.md").exists()
    monkeypatch.setattr("sys.argv", ["role_docs.py", "--check"])
    capsys.readouterr()
    assert role_docs.main() == 1
    assert capsys.readouterr().out == (
        "role r: r_new is in defaults/main.yml but in no entry point of meta/argument_specs.yml: add it to "
        "argument_specs.main.options (type, default: 5, description), or to the options of the entry point that "
        "reads it\n")


def test_check_passes_without_drift(tmp_path, monkeypatch):
    make_role(tmp_path, "r", {"r_v": 5}, {"main": {"options": {"r_v": option(5, type="int")}}})
    monkeypatch.setattr(role_docs, "ROOT", tmp_path)
    monkeypatch.setattr("sys.argv", ["role_docs.py"])
    assert role_docs.main() == 0
    monkeypatch.setattr("sys.argv", ["role_docs.py", "--check"])
    assert role_docs.main() == 0


def test_the_collections_roles_do_not_drift():
    roles = os.path.join(os.path.dirname(SCRIPT), "..", "roles")
    found = []
    for name in sorted(os.listdir(roles)):
        found += role_docs.drift(role_docs.Path(roles) / name)
    assert found == []


def test_a_shared_default_documented_by_another_role_must_be_the_shared_value(tmp_path):
    make_role(tmp_path, "settings", {"shared_dir": "/etc/x", "shared_runtime": "auto"},
              {"main": {"options": {"shared_dir": option("/etc/x"), "shared_runtime": option("auto")}}})
    role = make_role(tmp_path, "svc", {"svc_a": 1},
                     {"main": {"options": {"svc_a": option(1, type="int"), "shared_dir": option("/etc/y"),
                                           "shared_runtime": option("auto")}},
                      "status": {"options": {"shared_dir": option("/etc/x")}}})
    assert role_docs.drift(role) == [
        "role svc: argument_specs.main.options.shared_dir documents default \"/etc/y\" but role settings sets "
        "\"/etc/x\" (its defaults/main.yml, the one place of that default): set default: \"/etc/x\" in "
        "meta/argument_specs.yml"]
    # the shared role itself is compared with its own defaults only
    assert role_docs.drift(tmp_path / "roles" / "settings") == []
