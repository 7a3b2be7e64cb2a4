"""ascend-serving simulated cluster: stand-in for torch_npu 2.7.1+gitb7c90d0 (tests only).

The real wheel is the Ascend PyTorch adapter built with the MLAPO operator; this one carries the
same version string and nothing else (no torch dependency: the simulated nodes have no torch).
"""

from torch_npu.version import __version__, git_version  # noqa: F401

SOC = "@SOC@"
PRODUCT = "@PRODUCT@"


def device_count():
    return 0
