"""The GGAN losses, eq. 1-13 of the paper, as small pure functions (all minimised).

Sign convention (design notes, section 3): the paper writes eq. 11-13 as quantities the
discriminators "maximise", but with signs that only make sense as the usual hinge losses to
*minimise*; every function here returns a loss to minimise. Cross entropy "-sum c log C(.)" is
``F.cross_entropy`` on logits, averaged over the batch (Algorithm 1's 1/m sum). Discriminator
outputs are raw scores of shape (B,); features are (B, feat_dim).

The two hinge losses every adversarial term is made of are defined once: ``hinge_d_loss`` (a
discriminator's, eq. 11-13) and ``hinge_g_loss`` (a generator's, eq. 2, 3, 7); the BigGAN and ALI
baselines (ggan_lib.train.gan, ggan_lib.train.ali) use them too.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

MGReduction = Literal["ratio_of_sums", "mean_of_ratios"]


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """A discriminator's hinge loss relu(1 - D(real)) + relu(1 + D(fake)), in float32, minimised."""
    return F.relu(1 - real.float()).mean() + F.relu(1 + fake.float()).mean()


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """A generator's hinge loss -D(fake), in float32, minimised."""
    return -fake.float().mean()


def _ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # float32 for the softmax even under bf16 autocast: log-probabilities of 10 classes in bf16
    # lose about 3 significant digits.
    return F.cross_entropy(logits.float(), target)


def ec_loss(ce_logits: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Eq. 1, EC = CE(Ce(ze), c): Ce must recover the condition c from ze = E(z, c)."""
    return _ce(ce_logits, c)


def g1_loss(dp_fake: torch.Tensor) -> torch.Tensor:
    """Eq. 2, G1 = -D'(D(x_hat)): the generator's hinge loss against D1."""
    return hinge_g_loss(dp_fake)


def g2_loss(d2_fake: torch.Tensor) -> torch.Tensor:
    """Eq. 3, G2 = -D2(x_hat): the generator's hinge loss against D2."""
    return hinge_g_loss(d2_fake)


def gc_loss(cx_logits_fake: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Eq. 4, GC = CE(Cx(F(D(x_hat))), c): G and E make samples that Cx classifies as c."""
    return _ce(cx_logits_fake, c)


def mg_loss(d_real1: torch.Tensor, d_real2: torch.Tensor, d_fake1: torch.Tensor,
            d_fake2: torch.Tensor, alpha: float = 1e-4,
            reduction: MGReduction = "ratio_of_sums") -> torch.Tensor:
    """Eq. 5, MG = max{1, sum|dx1 - dx2| / (sum|dx_hat1 - dx_hat2| + alpha)}: mode-divergence loss.

    x_hat1, x_hat2 come from z1, z2 with the same c; the real features carry no gradient (detached
    here). ``reduction`` is the paper's open choice of what the sums run over:
    "ratio_of_sums" sums over the whole batch and all features, then takes one ratio;
    "mean_of_ratios" takes one ratio per pair i (sums over features) and averages max{1, r_i}.
    The max with 1 means: once fake pairs are at least as far apart as real pairs, no gradient.
    """
    real = (d_real1.detach().float() - d_real2.detach().float()).abs()
    fake = (d_fake1.float() - d_fake2.float()).abs()
    if reduction == "ratio_of_sums":
        return torch.clamp(real.sum() / (fake.sum() + alpha), min=1.0)
    if reduction == "mean_of_ratios":
        return torch.clamp(real.sum(1) / (fake.sum(1) + alpha), min=1.0).mean()
    raise ValueError(f"mg reduction must be 'ratio_of_sums' or 'mean_of_ratios', not {reduction!r}")


def ecg_loss(g1: torch.Tensor, g2: torch.Tensor, mg: torch.Tensor, ec: torch.Tensor,
             gc: torch.Tensor) -> torch.Tensor:
    """Eq. 6, ECG = (G1 + G2 + MG)/3 + EC + GC: the loss E, Ce and G descend."""
    return (g1 + g2 + mg) / 3 + ec + gc


def fg_loss(df_fx: torch.Tensor) -> torch.Tensor:
    """Eq. 7, FG = -Df(fx, dx): F makes features of real x that Df takes for "real" (ze, x_hat) pairs."""
    return hinge_g_loss(df_fx)


def cl_loss(cx_logits_labelled: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. 8, Cl = CE(Cx(F(D(xl))), y): classification of the labelled real samples."""
    return _ce(cx_logits_labelled, y)


def cg_loss(cx_logits_fake: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Eq. 9, Cg = CE(Cx(F(D(x_hat))), c): Cx learns to classify generated samples as their c."""
    return _ce(cx_logits_fake, c)


def fc_loss(cl: torch.Tensor, cg: torch.Tensor, fg: torch.Tensor) -> torch.Tensor:
    """Eq. 10, FC = Cl + Cg + FG: the loss F and Cx descend."""
    return cl + cg + fg


def d1_loss(dp_real: torch.Tensor, dp_fake: torch.Tensor, cl: torch.Tensor) -> torch.Tensor:
    """Eq. 11 (hinge, minimised), D1 = relu(1 - D'(D(x))) + relu(1 + D'(D(x_hat))) + Cl."""
    return hinge_d_loss(dp_real, dp_fake) + cl


def d2_loss(d2_real: torch.Tensor, d2_fake: torch.Tensor) -> torch.Tensor:
    """Eq. 12 (hinge, minimised), D2 = relu(1 - D2(x)) + relu(1 + D2(x_hat))."""
    return hinge_d_loss(d2_real, d2_fake)


def df_loss(df_fx: torch.Tensor, df_ze: torch.Tensor) -> torch.Tensor:
    """Eq. 13 (hinge, minimised), Df = relu(1 + Df(fx, dx)) + relu(1 - Df(ze, dx_hat)); (ze, x_hat) is "real"."""
    return hinge_d_loss(df_ze, df_fx)  # (the two terms' sum in the other order: the same float)
