"""ascend-serving simulated cluster: stand-in for vllm-ascend's ``custom_ops`` wheel (tests only).

The real wheel binds the DeepSeek-V3.2 sparse-flash-attention and lightning-indexer kernels of
the SFA .run package; this one only proves it was installed into the right interpreter.
"""

__version__ = "1.0"
SOC = "@SOC@"
PRODUCT = "@PRODUCT@"


def _no_npu(*_args, **_kwargs):
    raise RuntimeError("ascend-sim custom_ops: no NPU in the simulated cluster")


npu_sparse_flash_attention = _no_npu
npu_lightning_indexer = _no_npu
