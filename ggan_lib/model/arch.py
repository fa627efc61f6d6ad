"""Architecture as data: per-level tables for G and the D trunks (BigGAN-PyTorch's G_arch/D_arch, non-square)."""
from __future__ import annotations

from ggan_lib.config import ModelConfig


def _fmt(res: tuple[int, int], c: int) -> str:
    """'c × h × w' (channels × height × width): the book's one shape convention, as PyTorch's (the paper's
    tables write h × w × c)."""
    return f"{c} × {res[0]} × {res[1]}"


def g_arch(cfg: ModelConfig) -> dict:
    """G's table: dense output (C, h, w), then per up block in/out channels and resolutions and an attention flag."""
    widths = cfg.g_widths
    res = cfg.base_shape
    blocks = []
    for i in range(cfg.n_levels):
        out_res = (res[0] * 2, res[1] * 2)
        blocks.append({"in_ch": widths[i], "out_ch": widths[i + 1], "upsample": True,
                       "in_res": res, "out_res": out_res, "attention": out_res[0] in cfg.g_attn})
        res = out_res
    assert res == tuple(cfg.spec_shape), (res, cfg.spec_shape)
    return {"dense": {"in": cfg.z_dim, "out_ch": widths[0], "res": tuple(cfg.base_shape)},
            "blocks": blocks, "out_ch": 1, "out_res": res}


def d_arch(cfg: ModelConfig) -> dict:
    """A D trunk's table: per block in/out channels, resolutions, downsampling, skip, preactivation, attention."""
    widths = cfg.d_widths
    res, c_in = tuple(cfg.spec_shape), 1
    blocks = []
    n = cfg.n_levels
    for i in range(n + 1):
        last = i == n
        down = not last and (i != 1 or cfg.d_second_block_down)
        c_out = widths[-1] if last else widths[i]
        out_res = (res[0] // 2, res[1] // 2) if down else res
        blocks.append({"in_ch": c_in, "out_ch": c_out, "downsample": down, "in_res": res, "out_res": out_res,
                       "preactivation": i > 0, "skip": cfg.d_last_skip if last else "auto",
                       # once per height: without the 2nd block's downsampling two blocks share one
                       "attention": not last and out_res[0] in cfg.d_attn and out_res != res})
        res, c_in = out_res, c_out
    return {"blocks": blocks, "feat_dim": widths[-1], "out_res": res}


def arch_table(cfg: ModelConfig, net: str) -> list[dict]:
    """Rows (layer, rs, output) a chapter can print, in the paper's table layout; net is 'G' or 'D'."""
    if net == "G":
        a = g_arch(cfg)
        d = a["dense"]
        rows = [{"layer": "Input z", "rs": "-", "output": str(cfg.z_dim)},
                {"layer": "Dense", "rs": "-", "output": _fmt(d["res"], d["out_ch"])}]
        for b in a["blocks"]:
            rows.append({"layer": "ResBlock", "rs": "U", "output": _fmt(b["out_res"], b["out_ch"])})
            if b["attention"]:
                rows.append({"layer": "Non-local block", "rs": "-", "output": _fmt(b["out_res"], b["out_ch"])})
        res, c = a["out_res"], a["blocks"][-1]["out_ch"]
        rows += [{"layer": "BN, ReLU", "rs": "-", "output": _fmt(res, c)},
                 {"layer": "Conv [3, 3, 1]", "rs": "-", "output": _fmt(res, 1)},
                 {"layer": "Tanh", "rs": "-", "output": _fmt(res, 1)}]
        return rows
    if net == "D":
        a = d_arch(cfg)
        rows = [{"layer": "Input Spectrogram", "rs": "-", "output": _fmt(tuple(cfg.spec_shape), 1)}]
        for b in a["blocks"]:
            # The table's "(No Shortcut)" block: no learnable 1x1 shortcut (cfg.d_last_skip says what remains).
            name = "ResBlock (No Shortcut)" if b is a["blocks"][-1] else "ResBlock"
            rows.append({"layer": name, "rs": "D" if b["downsample"] else "-",
                         "output": _fmt(b["out_res"], b["out_ch"])})
            if b["attention"]:
                rows.append({"layer": "Non-local block", "rs": "-", "output": _fmt(b["out_res"], b["out_ch"])})
        res, c = a["out_res"], a["feat_dim"]
        rows += [{"layer": "ReLU", "rs": "-", "output": _fmt(res, c)},
                 {"layer": "Global sum pooling", "rs": "-", "output": _fmt((1, 1), c)}]
        return rows
    raise ValueError(f"net must be 'G' or 'D', not {net!r}")


def format_table(rows: list[dict]) -> str:
    """Fixed-width text of arch_table rows."""
    keys = list(rows[0])
    head = {k: "output (C × H × W)" if k == "output" else k for k in keys}
    widths = {k: max(len(head[k]), *(len(str(r[k])) for r in rows)) for k in keys}
    line = lambda r: "  ".join(str(r[k]).ljust(widths[k]) for k in keys)  # noqa: E731
    return "\n".join([line(head), line({k: "-" * widths[k] for k in keys})] + [line(r) for r in rows])
