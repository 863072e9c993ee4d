"""Shape arithmetic shared by the shape rules of several op families."""

from ..errors import ShapeError


def broadcast(*shapes):
    """Multidirectional (numpy) broadcasting of shapes; a 1 stretches, anything else must match."""
    shapes = [tuple(s) for s in shapes if s is not None]
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        dim = 1
        for s in shapes:
            d = s[i - rank + len(s)] if i - rank + len(s) >= 0 else 1
            if d == 1:
                continue
            if dim == 1:
                dim = d
            elif d != dim:
                raise ShapeError(f"shapes {', '.join(str(list(s)) for s in shapes)} do not broadcast")
        out.append(dim)
    return tuple(out)


def axis(a, rank, what="axis"):
    """A possibly negative axis made non-negative, checked against the rank."""
    if not -rank <= a < max(rank, 1):
        raise ShapeError(f"{what} {a} is out of range for rank {rank}")
    return a % rank if rank else 0


def axes(values, rank, what="axes"):
    out = [axis(a, rank, what) for a in values]
    if len(set(out)) != len(out):
        raise ShapeError(f"{what} {list(values)} repeat an axis")
    return out


# --- Sliding windows (Conv, ConvTranspose, pools): the one place for padding and output-size arithmetic.

from ..errors import UnsupportedError  # noqa: E402 (this section was appended)

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
LAYOUTS = ("NCHW", "NHWC")


def split_layout(shape, layout="NCHW"):
    """(N, C, spatial dims) of a channels-first ("NCHW") or channels-last ("NHWC") shape of any spatial rank."""
    if layout not in LAYOUTS:
        raise UnsupportedError(f"layout={layout!r} (webflow knows {', '.join(LAYOUTS)})")
    if len(shape) < 3:
        raise ShapeError(f"needs rank >= 3 (batch, channels, spatial...), got shape {list(shape)}")
    if layout == "NCHW":
        return shape[0], shape[1], tuple(shape[2:])
    return shape[0], shape[-1], tuple(shape[1:-1])


def join_layout(n, c, spatial, layout="NCHW"):
    return (n, c, *spatial) if layout == "NCHW" else (n, *spatial, c)


def _window_attrs(n, kernel, strides, dilations, pads, auto_pad):
    """Defaults filled in and lengths checked against the spatial rank n."""
    if auto_pad not in AUTO_PADS:
        raise UnsupportedError(f"auto_pad={auto_pad!r} (known: {', '.join(AUTO_PADS)})")
    strides = list(strides) if strides else [1] * n
    dilations = list(dilations) if dilations else [1] * n
    pads = list(pads) if pads else [0] * (2 * n)
    for name, v, want in (("kernel_shape", kernel, n), ("strides", strides, n), ("dilations", dilations, n), ("pads", pads, 2 * n)):
        if len(v) != want:
            raise ShapeError(f"{name} {list(v)} should have {want} values for {n} spatial dims")
    if min(strides) < 1 or min(dilations) < 1 or min(kernel) < 1:
        raise ShapeError(f"kernel_shape {list(kernel)}, strides {strides} and dilations {dilations} must be >= 1")
    if min(pads) < 0:
        raise ShapeError(f"pads {pads} must be >= 0")
    return strides, dilations, pads


def _split_same(total, auto_pad):
    """SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the beginning."""
    head = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
    return head, total - head


def window(sizes, kernel, strides=None, dilations=None, pads=None, auto_pad="NOTSET", ceil_mode=0):
    """Output sizes and resolved pads [begin..., end...] of a sliding window, as ONNX's Conv and pools define them.

    Output o, tap k reads input position o*stride + k*dilation - begin. With ceil_mode (explicit
    pads only) the last window may reach past the end pad; it must start inside the input or the
    begin pad. VALID ignores ceil_mode (the spec's formula; onnxruntime differs). Dims may be Sym.
    """
    n = len(sizes)
    strides, dilations, pads = _window_attrs(n, kernel, strides, dilations, pads, auto_pad)
    outs, begin, end = [], [], []
    for i, size in enumerate(sizes):
        s, dk = strides[i], (kernel[i] - 1) * dilations[i] + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out = (size + s - 1) // s
            total = (out - 1) * s + dk - size
            if isinstance(total, int) and total < 0:
                total = 0  # stride > kernel: the windows skip the tail; no padding (onnxruntime, TF)
            head, tail = _split_same(total, auto_pad)
        elif auto_pad == "VALID":
            out, head, tail = (size - dk) // s + 1, 0, 0
        else:
            head, tail = pads[i], pads[n + i]
            span = size + head + tail - dk
            if ceil_mode:
                out = (span + s - 1) // s + 1
                late = (out - 1) * s - size - head
                if isinstance(late, int) and late >= 0:
                    out = out - 1
            else:
                out = span // s + 1
        if isinstance(out, int) and out < 1:
            raise ShapeError(f"window {dk} (kernel {kernel[i]}, dilation {dilations[i]}) does not fit spatial dim {i} of size {size} padded by {head}+{tail}")
        outs.append(out)
        begin.append(head)
        end.append(tail)
    return outs, begin + end


def transposed_window(sizes, kernel, strides=None, dilations=None, pads=None, auto_pad="NOTSET", output_padding=None, output_shape=None):
    """Output sizes and resolved pads [begin..., end...] of ConvTranspose, as ONNX defines them.

    Input i, tap k writes output position i*stride + k*dilation - begin. output_shape (spatial dims,
    or the full shape) overrides pads; SAME pads so that out = in * stride.
    """
    n = len(sizes)
    strides, dilations, pads = _window_attrs(n, kernel, strides, dilations, pads, auto_pad)
    output_padding = list(output_padding) if output_padding else [0] * n
    if len(output_padding) != n:
        raise ShapeError(f"output_padding {output_padding} should have {n} values")
    if output_shape:
        if len(output_shape) not in (n, n + 2):
            raise ShapeError(f"output_shape {list(output_shape)} should have {n} (spatial) values")
        output_shape = list(output_shape)[-n:]
    outs, begin, end = [], [], []
    for i, size in enumerate(sizes):
        full = strides[i] * (size - 1) + output_padding[i] + (kernel[i] - 1) * dilations[i] + 1
        if output_shape or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out = output_shape[i] if output_shape else size * strides[i]
            total = full - out
            if isinstance(total, int) and total < 0 and not output_shape:
                raise UnsupportedError(f"auto_pad={auto_pad} with stride {strides[i]} > dilated kernel + output_padding"
                                       " (negative padding; runtimes disagree on its meaning)")
            if isinstance(total, int) and total <= -strides[i]:
                raise ShapeError(f"output_shape {output_shape} is {out} on spatial dim {i}, more than stride - 1 past the {full} its input gives")
            if isinstance(total, int) and total < 0:
                head, tail = 0, total  # up to stride - 1 extra outputs at the end, as output_padding adds
            else:  # the spec puts the odd pixel at the beginning unless SAME_UPPER
                head, tail = _split_same(total, "SAME_UPPER" if auto_pad == "SAME_UPPER" else "SAME_LOWER")
        else:
            head, tail = (0, 0) if auto_pad == "VALID" else (pads[i], pads[n + i])
            out = full - head - tail
        outs.append(out)
        begin.append(head)
        end.append(tail)
    return outs, begin + end
