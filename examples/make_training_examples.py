"""Regenerate the training-diagnostics examples in examples/data/rl and examples/data/vae (fixed seed).

    python examples/make_training_examples.py

An RLHF-style log: 300 responses of 24 tokens sampled from a policy over a
64-token vocabulary; for each token, its log-probability under the policy that
drew it and under the reference model. ``policy_logp_hot.npy`` logs the same
policy's plain-softmax log-probabilities for tokens that were in fact generated at
temperature 1.3 — the sampler mismatch behind "negative KL" reports.

A VAE encoder's posteriors: ``vae/posterior.npz`` holds ``mu`` and ``logvar`` (2,000 x 16),
with 5 collapsed latent dimensions (posterior = prior).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "data"


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def policy_logs(rng: np.random.Generator) -> None:
    responses, length, vocab = 300, 24, 64
    reference = rng.normal(0, 2, size=(length, vocab))  # per-position logits of the reference model
    policy = reference + rng.normal(0, 0.4, size=(length, vocab))  # after some RL updates
    log_pi, log_ref = log_softmax(policy), log_softmax(reference)
    positions = np.tile(np.arange(length), responses)
    hot = np.exp(log_softmax(policy / 1.3))
    for name, probs in (("policy", np.exp(log_pi)), ("policy_hot", hot)):
        tokens = np.array([rng.choice(vocab, p=probs[t]) for t in positions])
        suffix = "" if name == "policy" else "_hot"
        np.save(OUT / "rl" / f"policy_logp{suffix}.npy", log_pi[positions, tokens].astype(np.float32))
        np.save(OUT / "rl" / f"ref_logp{suffix}.npy", log_ref[positions, tokens].astype(np.float32))
    np.save(OUT / "rl" / "response_ids.npy", np.repeat(np.arange(responses), length))


def vae_posteriors(rng: np.random.Generator) -> None:
    """An encoder's means and log-variances for 2,000 inputs over 16 latent dimensions, 5 of them collapsed."""
    examples, latent, active = 2000, 16, 11
    signal = np.r_[np.linspace(1.5, 0.3, active), np.zeros(latent - active)]
    mu = rng.normal(size=(examples, latent)) * signal + rng.normal(0, 0.01, size=(examples, latent))
    logvar = np.r_[np.linspace(-3.0, -0.5, active), np.zeros(latent - active)] + rng.normal(0, 0.05, size=(examples, latent))
    np.savez(OUT / "vae" / "posterior.npz", mu=mu.astype(np.float32), logvar=logvar.astype(np.float32))


def main() -> None:
    rng = np.random.default_rng(2027)
    (OUT / "rl").mkdir(parents=True, exist_ok=True)
    (OUT / "vae").mkdir(parents=True, exist_ok=True)
    policy_logs(rng)
    vae_posteriors(rng)


if __name__ == "__main__":
    main()
