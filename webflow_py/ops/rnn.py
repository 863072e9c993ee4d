"""Recurrent ops: LSTM, GRU and RNN, with ONNX's layouts and gate orders (LSTM iofc, GRU zrh).

One scaffold, `_recur`, does what the three share: directions, layout, the input projection,
sequence_lens masking and the stacking of Y / Y_h / Y_c. Each op is a small step function
(previous states -> new states) for one time step of one direction. The arithmetic is done in
float64 and the outputs cast back to X's dtype.
"""

import inspect

from .._np import np
from ..errors import ShapeError, UnsupportedError
from .elementwise import UNARY
from .registry import op

DIRECTIONS = ("forward", "reverse", "bidirectional")

# The functions ONNX allows in `activations`, alpha/beta keyword-only with their ONNX defaults.
ACTIVATIONS = {name: UNARY[name][0] for name in
               ("Relu", "Tanh", "Sigmoid", "LeakyRelu", "ThresholdedRelu", "HardSigmoid", "Elu", "Softsign", "Softplus")}
ACTIVATIONS["Affine"] = lambda x, *, alpha=1.0, beta=0.0: alpha * x + beta
ACTIVATIONS["ScaledTanh"] = lambda x, *, alpha=1.0, beta=1.0: alpha * np.tanh(beta * x)
_CANONICAL = {k.lower(): k for k in ACTIVATIONS}


def _activations(names, alphas, betas, defaults, directions):
    """Per direction, the list of (function, keyword arguments) the cell applies.

    Names are matched case-insensitively. alpha and beta values are consumed in order by the
    functions that take them (as onnxruntime does); the others keep their defaults. A list for
    one direction serves both directions of a bidirectional op.
    """
    names = list(names) if names else defaults * directions
    alphas, betas = list(alphas or []), list(betas or [])
    acts = []
    for name in names:
        canonical = _CANONICAL.get(str(name).lower())
        if canonical is None:
            raise UnsupportedError(f"activation {name!r} is not supported (one of {', '.join(ACTIVATIONS)})")
        fn = ACTIVATIONS[canonical]
        kw = {}
        for key, values in (("alpha", alphas), ("beta", betas)):
            if key in inspect.signature(fn).parameters and values:
                kw[key] = float(values.pop(0))
        acts.append((fn, kw))
    n = len(defaults)
    if len(acts) == n:
        acts = acts * directions
    if len(acts) != n * directions:
        raise ShapeError(f"activations lists {len(names)} functions, expected {n} per direction ({n * directions} in all)")
    return [acts[d * n:(d + 1) * n] for d in range(directions)]


def _act(activation, x, clip):
    """An activation applied to its (clipped) input."""
    fn, kw = activation
    return fn(x if clip is None else np.clip(x, -clip, clip), **kw)


def _bias(b, w):
    """Wb and Rb, each [directions, gates * hidden] in float64 (zeros when B is omitted)."""
    if b is None:
        zeros = np.zeros(w.shape[:2])
        return zeros, zeros
    return np.split(b.astype(np.float64), 2, axis=1)


def _recur(step, x, w, wb, hidden, sequence_lens, initial, *, direction, layout):
    """Run `step(d, xw_t, states) -> states` over time for each direction d; return Y and the final states.

    xw_t is X_t W^T + Wb for the whole batch; `initial` lists the initial states (None = zeros),
    H first. Batch entry b stops after sequence_lens[b] steps: its Y is zero past them and its
    final state is the one after its last step (zeros when it has none).
    """
    dtype = x.dtype
    x = x.astype(np.float64)
    if layout:
        x = x.swapaxes(0, 1)
        initial = [s if s is None else s.swapaxes(0, 1) for s in initial]
    steps, batch, _ = x.shape
    dirs = len(w)
    lens = np.full(batch, steps) if sequence_lens is None else sequence_lens.astype(np.int64)
    y = np.zeros((steps, dirs, batch, hidden))
    finals = []
    for d in range(dirs):
        xw = x @ w[d].T + wb[d]
        states = [np.zeros((batch, hidden)) if s is None else s[d].astype(np.float64) for s in initial]
        for t in reversed(range(steps)) if direction == "reverse" or d == 1 else range(steps):
            live = (t < lens)[:, None]
            states = [np.where(live, new, old) for new, old in zip(step(d, xw[t], states), states)]
            y[t, d] = np.where(live, states[0], 0)
        finals.append([np.where((lens > 0)[:, None], s, 0) for s in states])  # length 0: zeros, as onnxruntime gives
    outs = [y] + [np.stack(s) for s in zip(*finals)]
    if layout:
        outs = [y.transpose(2, 0, 1, 3)] + [s.swapaxes(0, 1) for s in outs[1:]]
    return tuple(o.astype(dtype) for o in outs)


def _shape(gates, n_states, defaults, x, w, r, b, lens, initial, p, attrs):
    """The shape rule of all three: checks every input against X, W and R; returns Y and state shapes."""
    for name, allowed in (("direction", DIRECTIONS), ("layout", (0, 1)), ("input_forget", (0, 1)), ("linear_before_reset", (0, 1))):
        if name in attrs and attrs[name] not in allowed:
            raise UnsupportedError(f"{name}={attrs[name]!r} is not supported (one of {', '.join(map(repr, allowed))})")
    dirs = 2 if attrs["direction"] == "bidirectional" else 1
    _activations(attrs["activations"], attrs["activation_alpha"], attrs["activation_beta"], defaults, dirs)
    if x.rank != 3 or w.rank != 3 or r.rank != 3:
        raise ShapeError("X, W and R must have rank 3")
    layout = attrs["layout"]
    steps, batch = (x.shape[1], x.shape[0]) if layout else (x.shape[0], x.shape[1])
    hidden = r.shape[2]
    if attrs["hidden_size"] is not None and attrs["hidden_size"] != hidden:
        raise ShapeError(f"hidden_size={attrs['hidden_size']} but R has hidden size {hidden}")
    state = (batch, dirs, hidden) if layout else (dirs, batch, hidden)
    want = {"W": (w, (dirs, gates * hidden, x.shape[2])), "R": (r, (dirs, gates * hidden, hidden)),
            "B": (b, (dirs, 2 * gates * hidden)), "sequence_lens": (lens, (batch,)), "P": (p, (dirs, 3 * hidden))}
    want.update({f"initial state {i}": (s, state) for i, s in enumerate(initial)})
    for name, (m, shape) in want.items():
        if m is not None and m.shape != shape:
            raise ShapeError(f"{name} has shape {list(m.shape)}, expected {list(shape)} for direction={attrs['direction']!r}, layout={layout}")
    y = (batch, steps, dirs, hidden) if layout else (steps, dirs, batch, hidden)
    return [y] + [state] * n_states


@op("X W R B? sequence_lens? initial_h? initial_c? P?", "Y Y_h Y_c")
def LSTM(x, w, r, b=None, sequence_lens=None, initial_h=None, initial_c=None, p=None, *, activation_alpha=None,
         activation_beta=None, activations=None, clip=None, direction="forward", hidden_size=None, input_forget=0, layout=0):
    """One LSTM layer. Gates i, o, f, c (in that order in W, R, B); P holds the peepholes of i, o, f.

    activations (f, g, h per direction) default to Sigmoid, Tanh, Tanh; clip bounds the inputs
    of f and g (not of h, as onnxruntime does it); input_forget=1 couples the gates (f = 1 - i).
    """
    acts = _activations(activations, activation_alpha, activation_beta, ["Sigmoid", "Tanh", "Tanh"], len(w))
    wb, rb = _bias(b, w)
    hidden = r.shape[2]
    peep = np.zeros((len(w), 3 * hidden)) if p is None else p.astype(np.float64)

    def step(d, xw, states):
        h, c = states
        f, g, hh = acts[d]
        pi, po, pf = np.split(peep[d], 3)
        i, o, fg, cg = np.split(xw + h @ r[d].T + rb[d], 4, axis=1)
        i = _act(f, i + pi * c, clip)
        fg = 1 - i if input_forget else _act(f, fg + pf * c, clip)
        c = fg * c + i * _act(g, cg, clip)
        return _act(f, o + po * c, clip) * _act(hh, c, None), c  # onnxruntime leaves h(C) unclipped

    return _recur(step, x, w, wb, hidden, sequence_lens, [initial_h, initial_c], direction=direction, layout=layout)


@LSTM.shape
def _lstm_shape(x, w, r, b=None, lens=None, h0=None, c0=None, p=None, **attrs):
    return _shape(4, 2, ["Sigmoid", "Tanh", "Tanh"], x, w, r, b, lens, [h0, c0], p, attrs)


@op("X W R B? sequence_lens? initial_h?", "Y Y_h")
def GRU(x, w, r, b=None, sequence_lens=None, initial_h=None, *, activation_alpha=None, activation_beta=None,
        activations=None, clip=None, direction="forward", hidden_size=None, layout=0, linear_before_reset=0):
    """One GRU layer. Gates z, r, h (in that order in W, R, B).

    activations (f, g per direction) default to Sigmoid, Tanh; clip bounds their inputs;
    linear_before_reset=1 applies the reset gate after R_h (as cuDNN and PyTorch do) instead of before.
    """
    acts = _activations(activations, activation_alpha, activation_beta, ["Sigmoid", "Tanh"], len(w))
    wb, rb = _bias(b, w)
    hidden = r.shape[2]

    def step(d, xw, states):
        h, = states
        f, g = acts[d]
        xz, xr, xh = np.split(xw, 3, axis=1)
        rz, rr, rh = np.split(r[d], 3)
        bz, br, bh = np.split(rb[d], 3)
        z = _act(f, xz + h @ rz.T + bz, clip)
        reset = _act(f, xr + h @ rr.T + br, clip)
        pre = xh + reset * (h @ rh.T + bh) if linear_before_reset else xh + (reset * h) @ rh.T + bh
        return ((1 - z) * _act(g, pre, clip) + z * h,)

    return _recur(step, x, w, wb, hidden, sequence_lens, [initial_h], direction=direction, layout=layout)


@GRU.shape
def _gru_shape(x, w, r, b=None, lens=None, h0=None, **attrs):
    return _shape(3, 1, ["Sigmoid", "Tanh"], x, w, r, b, lens, [h0], None, attrs)


@op("X W R B? sequence_lens? initial_h?", "Y Y_h")
def RNN(x, w, r, b=None, sequence_lens=None, initial_h=None, *, activation_alpha=None, activation_beta=None,
        activations=None, clip=None, direction="forward", hidden_size=None, layout=0):
    """One simple RNN layer: H_t = f(X_t W^T + H_t-1 R^T + Wb + Rb), f defaulting to Tanh (input clipped by clip)."""
    acts = _activations(activations, activation_alpha, activation_beta, ["Tanh"], len(w))
    wb, rb = _bias(b, w)

    def step(d, xw, states):
        return (_act(acts[d][0], xw + states[0] @ r[d].T + rb[d], clip),)

    return _recur(step, x, w, wb, r.shape[2], sequence_lens, [initial_h], direction=direction, layout=layout)


@RNN.shape
def _rnn_shape(x, w, r, b=None, lens=None, h0=None, **attrs):
    return _shape(1, 1, ["Tanh"], x, w, r, b, lens, [h0], None, attrs)
