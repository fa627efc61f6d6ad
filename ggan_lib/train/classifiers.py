"""The classifier baselines' trainers: the CNN on labelled spectrograms, the MLP on ALI codes E(x) (section IV-C)."""
from __future__ import annotations

import os
import time

import torch
import torch.nn.functional as Fn
from torch import nn

from ggan_lib.config import BaselineConfig, ModelConfig
from ggan_lib.model.baselines import CNNBaseline, LatentClassifier
from ggan_lib.train.baseline_trainer import BaselineTrainer, check_data, check_labels


class _ClassifierTrainer(BaselineTrainer):
    """Cross-entropy training of one network on (inputs, labels) mini-batches drawn with replacement."""

    def _setup(self, inputs: torch.Tensor, y: torch.Tensor) -> None:
        """Keep the data on the device and register the single phase."""
        check_labels(y, len(inputs), self.mcfg.n_classes)
        self.inputs, self.y = inputs.to(self.device, torch.float32), y.to(self.device, torch.long)
        self.add_adam_phase("C", ["net"], self.cfg.lr_clf, self.cfg.clf_betas, self.loss_c,
                            self.cfg.clf_weight_decay)
        self.keep_path_average(["net"])

    def loss_c(self):
        """Cross entropy on a mini-batch."""
        i = self._rows(len(self.inputs), self.cfg.batch_size)
        logits = self.nets["net"](self.inputs[i])
        loss = Fn.cross_entropy(logits.float(), self.y[i])
        acc = (logits.argmax(1) == self.y[i]).float().mean()
        return loss, {"ce": loss, "batch_acc": acc}

    def step(self) -> dict[str, float]:
        """One optimiser step."""
        t0 = time.perf_counter()
        return self._finish_step(self.run_step(self.phases["C"]), t0)

    @property
    def model(self) -> nn.Module:
        """The trained network (the live one: training continues on it)."""
        return self.nets["net"]

    def classifier(self) -> nn.Module:
        """The network as it is scored: its average (BaselineConfig.clf_ema_decay) or, without one, the live one."""
        return self.scored("net")


class CNNTrainer(_ClassifierTrainer):
    """The CNN baseline (D trunk + F + Cx, section IV-C) trained with cross entropy on the labelled data only."""

    kind = "cnn_baseline"

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, Xl: torch.Tensor, yl: torch.Tensor, *,
                 out_dir: str | os.PathLike | None = None):
        """Xl (Nl, 1, H, W), yl (Nl,): the labelled fraction (or all of the training set for the 100 % row)."""
        check_data("Xl", Xl, model_cfg)
        super().__init__(model_cfg, cfg, {"net": lambda: CNNBaseline(cfg=model_cfg)}, out_dir=out_dir)
        self._setup(Xl, yl)


class LatentClassifierTrainer(_ClassifierTrainer):
    """The classifier on top of the ALI encoder: Table XIII's MLP on E(x_labelled) (features precomputed)."""

    kind = "latent_classifier"

    def __init__(self, model_cfg: ModelConfig, cfg: BaselineConfig, Zl: torch.Tensor, yl: torch.Tensor, *,
                 out_dir: str | os.PathLike | None = None):
        """Zl (Nl, z_dim) = E(xl), yl (Nl,)."""
        if Zl.dim() != 2 or Zl.shape[1] != model_cfg.z_dim:
            raise ValueError(f"Zl must be (N, {model_cfg.z_dim}), got {tuple(Zl.shape)}")
        super().__init__(model_cfg, cfg, {"net": lambda: LatentClassifier(cfg=model_cfg)}, out_dir=out_dir)
        self._setup(Zl, yl)


class EncoderClassifier(nn.Module):
    """x -> logits = classifier(encoder(x)): the unsupervised-BigGAN representation baseline as one module."""

    def __init__(self, encoder: nn.Module, classifier: nn.Module):
        super().__init__()
        self.encoder, self.classifier = encoder, classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> logits (B, n_classes)."""
        return self.classifier(self.encoder(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> z = E(x) (B, z_dim)."""
        return self.encoder(x)


@torch.no_grad()
def encode(encoder: nn.Module, X: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """E(X) in eval mode, batched on the encoder's device; returns (N, z_dim) on that device."""
    dev = next(encoder.parameters()).device
    was = encoder.training
    encoder.eval()
    out = torch.cat([encoder(X[i:i + batch_size].to(dev, torch.float32)) for i in range(0, len(X), batch_size)])
    encoder.train(was)
    return out


def train_cnn(model_cfg: ModelConfig, cfg: BaselineConfig, Xl: torch.Tensor, yl: torch.Tensor,
              n_iters: int | None = None) -> CNNBaseline:
    """Train the CNN baseline on (Xl, yl) for n_iters (default cfg.cnn_iters); returns it as it is scored
    (CNNTrainer.classifier) in eval mode."""
    tr = CNNTrainer(model_cfg, cfg, Xl, yl)
    tr.train(cfg.cnn_iters if n_iters is None else n_iters)
    return tr.classifier().eval()


def train_latent_classifier(model_cfg: ModelConfig, cfg: BaselineConfig, encoder: nn.Module, Xl: torch.Tensor,
                            yl: torch.Tensor, n_iters: int | None = None) -> EncoderClassifier:
    """Classifier on the frozen encoder's E(Xl) (default cfg.clf_iters steps); returns encoder + classifier."""
    tr = LatentClassifierTrainer(model_cfg, cfg, encode(encoder, Xl), yl)
    tr.train(cfg.clf_iters if n_iters is None else n_iters)
    return EncoderClassifier(encoder, tr.classifier().to(next(encoder.parameters()).device)).eval()
