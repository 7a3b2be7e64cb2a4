#!/usr/bin/env python3
"""Write a tiny stand-in for a DeepSeek-V3.2-Exp model directory (tests only).

    python3 make_model.py --out DIR [--quantized] [--shards N]

DIR gets what the fake vllm checks and a model sync would copy: config.json (DeepSeek-V3.2's
shape: 128 attention heads, max_position_embeddings 163840), generation_config.json,
tokenizer_config.json, N real safetensors shards of a few bytes each plus
model.safetensors.index.json, quant_model_description.json with --quantized (vllm-ascend's W8A8
marker, which ``--quantization ascend`` needs), and manifest.json {relative path: sha256} of all
the others. Deterministic; rerunning rewrites identical bytes.
"""

import argparse
import hashlib
import json
import os
import struct
import sys

CONFIG = {
    "architectures": ["DeepseekV32ForCausalLM"],
    "model_type": "deepseek_v32",
    "attention_bias": False,
    "bos_token_id": 0,
    "eos_token_id": 1,
    "first_k_dense_replace": 3,
    "hidden_act": "silu",
    "hidden_size": 7168,
    "index_head_dim": 128,
    "index_n_heads": 64,
    "index_topk": 2048,
    "intermediate_size": 18432,
    "kv_lora_rank": 512,
    "max_position_embeddings": 163840,
    "moe_intermediate_size": 2048,
    "n_routed_experts": 256,
    "n_shared_experts": 1,
    "num_attention_heads": 128,
    "num_experts_per_tok": 8,
    "num_hidden_layers": 61,
    "num_key_value_heads": 128,
    "q_lora_rank": 1536,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "rms_norm_eps": 1e-06,
    "rope_theta": 10000,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.44.2",
    "v_head_dim": 128,
    "vocab_size": 129280,
}


def safetensors(tensors):
    """A real safetensors file: u64 header length, JSON header, raw little-endian data."""
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, (dtype, shape, raw) in sorted(tensors.items()):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    blob = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    blob += b" " * (-len(blob) % 8)
    return struct.pack("<Q", len(blob)) + blob + data


def build(out, quantized, shards):
    files = {
        "config.json": json.dumps(CONFIG, indent=2, sort_keys=True) + "\n",
        "generation_config.json": json.dumps({"bos_token_id": 0, "eos_token_id": 1, "do_sample": True,
                                              "temperature": 0.6, "top_p": 0.95}, indent=2) + "\n",
        "tokenizer_config.json": json.dumps({"tokenizer_class": "LlamaTokenizerFast", "model_max_length": 131072,
                                             "bos_token": "<｜begin▁of▁sentence｜>",
                                             "eos_token": "<｜end▁of▁sentence｜>"}, indent=2) + "\n",
    }
    weight_map = {}
    dtype = "I8" if quantized else "BF16"
    for i in range(1, shards + 1):
        name = "model-%05d-of-%05d.safetensors" % (i, shards)
        tensor = "model.layers.%d.self_attn.q_a_proj.weight" % (i - 1)
        raw = bytes((i * 7 + j) % 251 for j in range(32))
        files[name] = safetensors({tensor: (dtype, [4, 8] if quantized else [4, 4], raw)})
        weight_map[tensor] = name
    files["model.safetensors.index.json"] = json.dumps(
        {"metadata": {"total_size": 32 * shards}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n"
    if quantized:
        desc = {"model_quant_type": "W8A8_DYNAMIC", "version": "1.0.0"}
        desc.update({t: "W8A8_DYNAMIC" for t in weight_map})
        files["quant_model_description.json"] = json.dumps(desc, indent=2, sort_keys=True) + "\n"
    os.makedirs(out, exist_ok=True)
    manifest = {}
    for name, content in sorted(files.items()):
        data = content.encode() if isinstance(content, str) else content
        with open(os.path.join(out, name), "wb") as handle:
            handle.write(data)
        manifest[name] = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--quantized", action="store_true", help="W8A8: add quant_model_description.json")
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args(argv)
    if args.shards < 1:
        parser.error("--shards must be >= 1")
    json.dump(build(args.out, args.quantized, args.shards), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
