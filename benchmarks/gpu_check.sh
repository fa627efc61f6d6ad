#!/usr/bin/env bash
# The GPU check of issue 4 as one script: the paper-preset benchmark (fp32, bf16, bf16 + compile at
# batch 64) and a full-size training smoke run (Algorithm 1 at 256 x 128, ch 16, batch 64, with a
# checkpoint and a resume). Run it from the repository root on a CUDA machine:
#
#     bash benchmarks/gpu_check.sh [OUT_DIR]        # default: gpu-check/
#
# It writes bench.jsonl, bench.txt, smoke/ (log.jsonl, checkpoint.pt) and smoke.txt into OUT_DIR and
# prints everything. Record the printed figures in benchmarks/README.md with the GPU's name.
# (PRESET=tiny ALLOW_CPU=1 runs the same steps on a CPU in a minute, to check the script itself.)
set -euo pipefail
out=${1:-gpu-check}
preset=${PRESET:-paper}
mkdir -p "$out"
ALLOW_CPU=${ALLOW_CPU:-0} python - <<'EOF'
import os, torch
if not torch.cuda.is_available():
    assert os.environ["ALLOW_CPU"] == "1", "no CUDA device: this check is for a GPU machine"
    print(f"# CPU only (ALLOW_CPU=1), torch {torch.__version__}")
    raise SystemExit
p = torch.cuda.get_device_properties(0)
print(f"# {p.name}, {p.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, CUDA {torch.version.cuda}")
EOF
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# 1. Benchmark: 10 timed iterations per mode after 3 warm-up ones (compilation included there).
python benchmarks/bench_train.py --preset "$preset" --batch 64 --iters 10 --warmup 3 \
    --json "$out/bench.jsonl" 2>&1 | tee "$out/bench.txt"

# 2. Smoke run at the paper preset on synthetic spectrograms (no dataset needed): 20 iterations,
#    a checkpoint, then 5 more resumed from it; the loss log must be finite throughout.
rm -rf "$out/smoke"
python -m ggan_lib.cli.train --preset "$preset" --data synthetic --iters 20 --ckpt-every 20 --eval-every 0 \
    --batch-size 64 --log-every 1 --progress false --out "$out/smoke" 2>&1 | tee "$out/smoke.txt"
python -m ggan_lib.cli.train --preset "$preset" --data synthetic --iters 5 --eval-every 0 --progress false \
    --log-every 1 --out "$out/smoke" --resume auto 2>&1 | tee -a "$out/smoke.txt"
python - "$out/smoke" <<'EOF' | tee -a "$out/smoke.txt"
import math, sys
from ggan_lib.io.logs import read_log
log = read_log(f"{sys.argv[1]}/log.jsonl")
its, secs = log["iter"], log["sec"]
bad = sorted({(i, k) for k, vs in log.items() for i, v in zip(its, vs)
              if isinstance(v, float) and not math.isfinite(v)})
print(f"smoke: {len(its)} log rows, iterations {its[0]}..{its[-1]}, non-finite: {bad or 'none'}")
print(f"smoke: mean s/iter over the last 10 (first ones include cuDNN autotuning): {sum(secs[-10:]) / 10:.3f}")
assert its == list(range(1, 26)) and not bad, "the resumed run must continue at 21 and every loss stay finite"
EOF
