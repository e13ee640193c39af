"""Reference workload: a tiny decoder-only transformer LM in pure JAX + optax (no flax).

``train_lm(N, D, seed)`` trains a character-level model with about ``N`` non-embedding
parameters on about ``D`` training tokens of the bundled corpus
(``scalinglaws/datasets/corpus/village_tales.txt``, procedurally written English) and returns
the held-out validation loss (nats per character) plus bookkeeping. The command line,
``python -m scalinglaws.design.workload_lm --N 20000 --D 200000 --seed 0 [--result PATH]``,
prints progress on stderr and the result as the last line of stdout, as the executors expect.

Model size from ``N``
---------------------
Shapes come from a fixed ladder: every ``(depth L, width d)`` with ``d`` a multiple of 16
(head size 16), ``1 <= L <= 16`` and aspect ratio ``16 <= d / L <= 48``, ordered by their
non-embedding parameter count ``L * (12 d^2 + 13 d) + 2 d`` (pre-LayerNorm blocks with biases,
4x GELU MLP, final LayerNorm). The shape whose count is nearest to ``N`` in log space is used,
so the actual count is monotone in ``N``; it is reported as ``"N"`` in the result. Token and
position embeddings (tied with the output layer) are not counted, following Kaplan et al.

Training
--------
Context 64, batch 16 (1024 tokens per step), ``steps = max(1, round(D / 1024))``, Adam with
a 10% linear warm-up and cosine decay to 10% of the peak rate ``3e-3``, gradient clipping at 1.
Training windows are sampled uniformly from the first 90% of the corpus (seeded); the loss is
evaluated on the first 16,384 characters of the held-out last 10%, in fixed windows.
The reported ``"D"`` is the number of tokens actually trained on. ``"flops"`` and ``"cost"`` are
``6 N D`` with the actual ``N`` and ``D``. The train step is jitted once per model shape. Runs on
a GPU when JAX sees one, on the CPU otherwise; everything is float32.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from scalinglaws._errors import ScalingLawsError

__all__ = ["lm_shape", "load_corpus", "main", "train_lm"]

CONTEXT = 64
BATCH = 16
HEAD_DIM = 16
PEAK_LR = 3e-3
VAL_FRACTION = 0.1
EVAL_TOKENS = 16_384
_F32 = jnp.float32


def _count(depth: int, width: int) -> int:
    return depth * (12 * width * width + 13 * width) + 2 * width


@functools.lru_cache(maxsize=1)
def _ladder() -> tuple[tuple[int, int, int], ...]:
    shapes = []
    for depth in range(1, 17):
        for width in range(16, 48 * depth + 1, 16):
            if 16 * depth <= width <= 48 * depth:
                shapes.append((_count(depth, width), depth, width))
    return tuple(sorted(shapes))


def lm_shape(N: float) -> tuple[int, int, int]:
    """``(depth, width, actual_non_embedding_params)`` for a requested parameter count ``N``."""
    if not (isinstance(N, (int, float)) and math.isfinite(N) and N > 0):
        raise ScalingLawsError(f"N is {N!r}; pass a positive number of parameters such as 20000")
    target = math.log(N)
    count, depth, width = min(_ladder(), key=lambda s: (abs(math.log(s[0]) - target), s[0]))
    return depth, width, count


def load_corpus(path: str | Path | None = None) -> bytes:
    """The bundled corpus (or the text file at ``path``) as bytes."""
    if path is None:
        ref = resources.files("scalinglaws.datasets") / "corpus" / "village_tales.txt"
        return ref.read_bytes()
    p = Path(path)
    if not p.is_file():
        raise ScalingLawsError(f"corpus {p} does not exist; pass a text file or omit --corpus")
    data = p.read_bytes()
    if len(data) < 20 * (CONTEXT + 1):
        raise ScalingLawsError(
            f"corpus {p} has {len(data)} bytes; pass at least {20 * (CONTEXT + 1)} bytes of text"
        )
    return data


# --------------------------------------------------------------------------- model


def _init_params(seed: int, vocab: int, depth: int, width: int) -> dict[str, Any]:
    """Parameters as float32 arrays; per-layer weights are stacked on a leading depth axis.

    Initialised with NumPy (deterministic given ``seed``) so no per-shape JAX compilation is
    spent on random number generation.
    """
    rng = np.random.default_rng([seed, depth, width])
    resid_scale = 1.0 / math.sqrt(2 * depth)

    def dense(fan_in: int, fan_out: int, scale: float = 1.0) -> np.ndarray:
        return rng.normal(0.0, scale / math.sqrt(fan_in), size=(depth, fan_in, fan_out))

    def const(value: float, size: int) -> np.ndarray:
        return np.full((depth, size), value)

    params = {
        "tok": rng.normal(0.0, 0.02, size=(vocab, width)),
        "pos": rng.normal(0.0, 0.02, size=(CONTEXT, width)),
        "blocks": {
            "ln1_g": const(1.0, width),
            "ln1_b": const(0.0, width),
            "qkv_w": dense(width, 3 * width),
            "qkv_b": const(0.0, 3 * width),
            "proj_w": dense(width, width, resid_scale),
            "proj_b": const(0.0, width),
            "ln2_g": const(1.0, width),
            "ln2_b": const(0.0, width),
            "fc_w": dense(width, 4 * width),
            "fc_b": const(0.0, 4 * width),
            "out_w": dense(4 * width, width, resid_scale),
            "out_b": const(0.0, width),
        },
        "lnf_g": np.ones(width),
        "lnf_b": np.zeros(width),
    }
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=_F32), params)


def _layer_norm(x: jax.Array, g: jax.Array, b: jax.Array) -> jax.Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + 1e-5) * g + b


def _block(x: jax.Array, blk: dict[str, jax.Array]) -> jax.Array:
    """One pre-LayerNorm transformer block (causal multi-head attention + GELU MLP)."""
    b, t, width = x.shape
    heads = width // HEAD_DIM
    h = _layer_norm(x, blk["ln1_g"], blk["ln1_b"])
    qkv = h @ blk["qkv_w"] + blk["qkv_b"]
    q, k, v = (z.reshape(b, t, heads, HEAD_DIM) for z in jnp.split(qkv, 3, axis=-1))
    att = jnp.einsum("bqhd,bkhd->bhqk", q, k) * _F32(1.0 / math.sqrt(HEAD_DIM))
    att = jnp.where(jnp.tril(jnp.ones((t, t), dtype=bool)), att, _F32(-1e9))
    att = jax.nn.softmax(att, axis=-1)
    y = jnp.einsum("bhqk,bkhd->bqhd", att, v).reshape(b, t, width)
    x = x + y @ blk["proj_w"] + blk["proj_b"]
    h = _layer_norm(x, blk["ln2_g"], blk["ln2_b"])
    h = jax.nn.gelu(h @ blk["fc_w"] + blk["fc_b"])
    return x + h @ blk["out_w"] + blk["out_b"]


def _forward(params: dict[str, Any], tokens: jax.Array) -> jax.Array:
    """Logits ``(batch, time, vocab)`` for int tokens ``(batch, time)``.

    The blocks run under ``lax.scan`` over the stacked depth axis, so compilation time does not
    grow with depth.
    """
    t = tokens.shape[1]
    x = params["tok"][tokens] + params["pos"][:t]
    x, _ = jax.lax.scan(lambda h, blk: (_block(h, blk), None), x, params["blocks"])
    x = _layer_norm(x, params["lnf_g"], params["lnf_b"])
    return x @ params["tok"].T


def _loss(params: dict[str, Any], batch: jax.Array) -> jax.Array:
    logits = _forward(params, batch[:, :-1])
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, batch[:, 1:, None], axis=-1)
    return nll.mean()


_OPT = optax.chain(optax.clip_by_global_norm(1.0), optax.scale_by_adam())


def _lr(step: int, steps: int) -> float:
    """Linear warm-up over 10% of the steps, cosine decay to 10% of the peak."""
    warmup = max(1, steps // 10)
    if step < warmup:
        return PEAK_LR * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return PEAK_LR * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


@jax.jit
def _train_step(
    params: Any, opt_state: Any, batch: jax.Array, lr: jax.Array
) -> tuple[Any, Any, jax.Array]:
    """One Adam step; the learning rate is an argument so one compilation serves every D."""
    loss, grads = jax.value_and_grad(_loss)(params, batch)
    updates, opt_state = _OPT.update(grads, opt_state, params)
    updates = jax.tree_util.tree_map(lambda u: (-lr * u).astype(_F32), updates)
    return optax.apply_updates(params, updates), opt_state, loss


_opt_init = jax.jit(_OPT.init)


# --------------------------------------------------------------------------- training


def train_lm(
    N: float,
    D: float,
    seed: int = 0,
    corpus: str | Path | None = None,
    log_every: int = 0,
) -> dict[str, Any]:
    """Train the tiny LM with about ``N`` parameters on about ``D`` tokens; return the result.

    The result holds ``loss`` (validation nats per character), ``N`` (actual non-embedding
    parameters), ``D`` (tokens trained on), ``tokens_per_s``, ``flops`` and ``cost``
    (both ``6 N D``), ``train_loss``, ``depth``, ``width``, ``steps``, ``seconds``.
    ``log_every > 0`` prints progress to stderr every that many steps.
    """
    if not (isinstance(D, (int, float)) and math.isfinite(D) and D > 0):
        raise ScalingLawsError(f"D is {D!r}; pass a positive number of training tokens")
    depth, width, n_actual = lm_shape(N)
    data = load_corpus(corpus)
    vocab_bytes = sorted(set(data))
    lookup = np.zeros(256, dtype=np.int32)
    lookup[vocab_bytes] = np.arange(len(vocab_bytes), dtype=np.int32)
    tokens = lookup[np.frombuffer(data, dtype=np.uint8)]
    split = int(len(tokens) * (1 - VAL_FRACTION))
    train, val = tokens[:split], tokens[split:]

    tokens_per_step = BATCH * CONTEXT
    steps = max(1, int(round(D / tokens_per_step)))
    rng = np.random.default_rng(seed)
    window = np.arange(CONTEXT + 1)

    n_eval = min(len(val) // (CONTEXT + 1), EVAL_TOKENS // CONTEXT) // BATCH
    if n_eval < 1:
        raise ScalingLawsError(
            f"corpus has {len(data)} bytes, too few for a validation split; pass a longer corpus"
        )
    val_windows = val[: n_eval * BATCH * (CONTEXT + 1)].reshape(n_eval, BATCH, CONTEXT + 1)

    params = _init_params(seed, len(vocab_bytes), depth, width)
    opt_state = _opt_init(params)

    t_start = time.perf_counter()
    t_after_first = t_start
    loss = jnp.asarray(0.0, _F32)
    for step in range(steps):
        starts = rng.integers(0, len(train) - CONTEXT - 1, size=BATCH)
        batch = jnp.asarray(train[starts[:, None] + window[None, :]])
        lr = jnp.asarray(_lr(step, steps), _F32)
        params, opt_state, loss = _train_step(params, opt_state, batch, lr)
        if step == 0:
            loss.block_until_ready()
            t_after_first = time.perf_counter()
        if log_every and (step + 1) % log_every == 0:
            print(f"step {step + 1}/{steps} train_loss {float(loss):.4f}", file=sys.stderr)
    train_loss = float(loss)
    t_end = time.perf_counter()
    # Evaluation reuses the compiled training step with a zero learning rate (the returned
    # loss is computed before the update; the returned state is discarded), so every model
    # shape compiles exactly one XLA program.
    zero = jnp.asarray(0.0, _F32)
    val_losses = [
        _train_step(params, opt_state, jnp.asarray(chunk), zero)[2] for chunk in val_windows
    ]
    val_loss = float(np.mean([float(v) for v in val_losses]))
    timed_steps = steps - 1
    elapsed = t_end - t_after_first
    tokens_per_s = (
        timed_steps * tokens_per_step / elapsed
        if timed_steps > 0 and elapsed > 0
        else tokens_per_step / max(t_end - t_start, 1e-9)
    )
    d_actual = steps * tokens_per_step
    flops = 6.0 * n_actual * d_actual
    return {
        "loss": val_loss,
        "N": n_actual,
        "D": d_actual,
        "tokens_per_s": tokens_per_s,
        "flops": flops,
        "cost": flops,
        "train_loss": train_loss,
        "depth": depth,
        "width": width,
        "steps": steps,
        "seconds": time.perf_counter() - t_start,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: train once, print progress on stderr and the JSON result last on stdout."""
    parser = argparse.ArgumentParser(
        prog="python -m scalinglaws.design.workload_lm",
        description="Train a tiny character-level transformer LM; print a JSON result line.",
    )
    parser.add_argument("--N", type=float, required=True, help="non-embedding parameters")
    parser.add_argument("--D", type=float, required=True, help="training tokens (characters)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", default=None, help="text file (default: bundled corpus)")
    parser.add_argument("--result", default=None, help="also write the JSON object here")
    parser.add_argument("--log-every", type=int, default=100, help="progress every k steps")
    args = parser.parse_args(argv)
    try:
        result = train_lm(args.N, args.D, args.seed, args.corpus, log_every=args.log_every)
    except ScalingLawsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    line = json.dumps(result, allow_nan=False) if math.isfinite(result["loss"]) else None
    if line is None:
        print(f"error: validation loss is {result['loss']}; the run diverged", file=sys.stderr)
        return 1
    if args.result:
        Path(args.result).write_text(line + "\n")
    print(line, flush=True)
    return 0
