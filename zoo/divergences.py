"""The f-divergences of f-GAN (Nowozin et al. 2016, tables 1 and 2).

D_f(P || Q) = E_Q[f(p/q)] for a convex f with f(1) = 0. The discriminator's raw output v goes through an
output activation g_f into the domain of the convex conjugate f*, and the variational bound is
F = E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))] <= D_f(P || Q).

Each divergence gives f (numpy, for numerical checks), g_f and f* (Keras ops), and f*(g_f(v)) written
directly in v where that is more stable than composing the two (e.g. GAN: softplus(v)).
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
from keras import ops

LOG2 = float(np.log(2.0))


@dataclass(frozen=True)
class Divergence:
    name: str
    f: Callable  # numpy, u > 0
    activation: Callable  # g_f(v)
    conjugate: Callable  # f*(t), on the range of g_f
    conjugate_of_activation: Callable  # f*(g_f(v))


def lambert_w_of_exp(a, iterations=20):
    """W(e^a), the principal branch, for any real a: the w > 0 with w + log(w) = a.

    Solved by Newton's method on u = log(w), where e^u + u - a is convex and increasing, so the iteration
    converges from any start; working with a instead of e^a never overflows.
    """
    u = ops.where(a > 1.0, ops.log(ops.maximum(a - ops.log(ops.maximum(a, 1.0)), 1e-6)), a - 1.0)
    for _ in range(iterations):
        u = u - (ops.exp(u) + u - a) / (ops.exp(u) + 1.0)
    return ops.exp(u)


def _jeffrey_conjugate(t):
    """f*(t) = W(e^(1-t)) + 1/W(e^(1-t)) + t - 2, with its exact derivative 1/W(e^(1-t)).

    The value is computed through Newton iterations; the gradient is given directly (f*'(t) is the u
    at which f'(u) = t, here 1/W) rather than differentiated through the iterations.
    """
    w = ops.stop_gradient(lambert_w_of_exp(1.0 - t))
    value = w + 1.0 / w + t - 2.0
    return ops.stop_gradient(value - t / w) + t / w


def _xlogx(u):
    return np.where(u > 0, u * np.log(np.where(u > 0, u, 1.0)), 0.0)


DIVERGENCES = {d.name: d for d in [
    Divergence("kl", f=_xlogx,
               activation=lambda v: v,
               conjugate=lambda t: ops.exp(t - 1.0),
               conjugate_of_activation=lambda v: ops.exp(v - 1.0)),
    Divergence("reverse_kl", f=lambda u: -np.log(u),
               activation=lambda v: -ops.exp(-v),
               conjugate=lambda t: -1.0 - ops.log(-t),
               conjugate_of_activation=lambda v: v - 1.0),
    Divergence("pearson", f=lambda u: (u - 1.0) ** 2,
               activation=lambda v: v,
               conjugate=lambda t: 0.25 * t * t + t,
               conjugate_of_activation=lambda v: 0.25 * v * v + v),
    Divergence("neyman", f=lambda u: (1.0 - u) ** 2 / u,
               activation=lambda v: 1.0 - ops.exp(-v),
               conjugate=lambda t: 2.0 - 2.0 * ops.sqrt(1.0 - t),
               conjugate_of_activation=lambda v: 2.0 - 2.0 * ops.exp(-0.5 * v)),
    Divergence("hellinger", f=lambda u: (np.sqrt(u) - 1.0) ** 2,
               activation=lambda v: 1.0 - ops.exp(-v),
               conjugate=lambda t: t / (1.0 - t),
               conjugate_of_activation=lambda v: ops.exp(v) - 1.0),
    Divergence("jeffrey", f=lambda u: (u - 1.0) * np.log(u),
               activation=lambda v: v,
               conjugate=_jeffrey_conjugate,
               conjugate_of_activation=_jeffrey_conjugate),
    Divergence("jensen_shannon", f=lambda u: -(u + 1.0) * np.log((1.0 + u) / 2.0) + _xlogx(u),
               activation=lambda v: LOG2 - ops.softplus(-v),
               conjugate=lambda t: -ops.log(2.0 - ops.exp(t)),
               conjugate_of_activation=lambda v: ops.softplus(v) - LOG2),
    Divergence("gan", f=lambda u: _xlogx(u) - (u + 1.0) * np.log(u + 1.0),
               activation=lambda v: -ops.softplus(-v),
               conjugate=lambda t: -ops.log(1.0 - ops.exp(t)),
               conjugate_of_activation=lambda v: ops.softplus(v)),
    Divergence("total_variation", f=lambda u: 0.5 * np.abs(u - 1.0),
               activation=lambda v: 0.5 * ops.tanh(v),
               conjugate=lambda t: t,
               conjugate_of_activation=lambda v: 0.5 * ops.tanh(v)),
]}
