"""Each GGAN loss (eq. 1-13) against a value worked out by hand, plus gradient-sign checks."""
import math

import pytest
import torch

from ggan_lib import losses as L

LN3 = math.log(3.0)
# Logits [0, ln 3]: softmax = [1/4, 3/4]. Target 1 -> -ln(3/4) = ln(4/3); target 0 -> ln 4.
LOGITS = torch.tensor([[0.0, LN3], [0.0, LN3]])
TARGET = torch.tensor([1, 0])
CE_HAND = (math.log(4 / 3) + math.log(4)) / 2  # batch mean = ln(16/3)/2 = 0.836988...


@pytest.mark.parametrize("fn", [L.ec_loss, L.gc_loss, L.cl_loss, L.cg_loss])
def test_cross_entropy_losses(fn):
    assert fn(LOGITS, TARGET).item() == pytest.approx(CE_HAND, rel=1e-6)


def test_g1_g2_fg():
    s = torch.tensor([1.0, -3.0, 0.5])
    # -(1 - 3 + 0.5)/3 = 0.5
    for fn in (L.g1_loss, L.g2_loss, L.fg_loss):
        assert fn(s).item() == pytest.approx(0.5)


def test_d1_loss():
    real = torch.tensor([2.0, 0.5])   # relu(1-2)=0, relu(1-0.5)=0.5 -> mean 0.25
    fake = torch.tensor([-2.0, 1.0])  # relu(1-2)=0, relu(1+1)=2   -> mean 1.0
    cl = torch.tensor(0.3)
    assert L.d1_loss(real, fake, cl).item() == pytest.approx(0.25 + 1.0 + 0.3)


def test_d2_loss():
    real = torch.tensor([0.0, 3.0])   # relu(1-0)=1, 0 -> 0.5
    fake = torch.tensor([0.0, -0.5])  # relu(1+0)=1, relu(0.5)=0.5 -> 0.75
    assert L.d2_loss(real, fake).item() == pytest.approx(1.25)


def test_df_loss_real_pair_is_ze():
    df_fx = torch.tensor([0.5, -2.0])   # "fake" pair (fx, dx): relu(1+0.5)=1.5, relu(1-2)=0 -> 0.75
    df_ze = torch.tensor([0.0, 2.0])    # "real" pair (ze, dx_hat): relu(1-0)=1, 0 -> 0.5
    assert L.df_loss(df_fx, df_ze).item() == pytest.approx(1.25)


def test_mg_loss_reductions():
    r1 = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    r2 = torch.tensor([[0.0, 0.0], [0.0, 3.0]])   # |r1-r2| = [[1,2],[0,3]]: sum 6, per pair 3, 3
    f1 = torch.tensor([[0.5, 0.0], [0.0, 0.0]])
    f2 = torch.tensor([[0.0, 0.0], [0.0, 1.5]])   # |f1-f2| = [[.5,0],[0,1.5]]: sum 2, per pair .5, 1.5
    a = 1e-4
    # ratio of sums: 6 / (2 + a) = 2.99985...
    assert L.mg_loss(r1, r2, f1, f2, a).item() == pytest.approx(6 / (2 + a), rel=1e-6)
    # mean of ratios: (3/(.5+a) + 3/(1.5+a)) / 2 = (5.9988 + 1.99987) / 2 = 3.9993...
    want = (3 / (0.5 + a) + 3 / (1.5 + a)) / 2
    assert L.mg_loss(r1, r2, f1, f2, a, "mean_of_ratios").item() == pytest.approx(want, rel=1e-6)
    # fakes further apart than reals: the ratio 6/(60+a) < 1 is clamped to 1
    assert L.mg_loss(r1, r2, 30 * f1, 30 * f2, a).item() == 1.0
    with pytest.raises(ValueError, match="mean_of_ratios"):
        L.mg_loss(r1, r2, f1, f2, a, "sum")


def test_ecg_and_fc_combine():
    t = torch.tensor
    # (1 + 2 + 3)/3 + 4 + 5 = 11
    assert L.ecg_loss(t(1.0), t(2.0), t(3.0), t(4.0), t(5.0)).item() == pytest.approx(11.0)
    assert L.fc_loss(t(1.0), t(2.0), t(3.0)).item() == pytest.approx(6.0)


def _grad(fn, *xs):
    xs = [x.clone().requires_grad_(True) for x in xs]
    fn(*xs).backward()
    return [x.grad for x in xs]


def test_gradient_signs_discriminators():
    real, fake = _grad(lambda r, f: L.d1_loss(r, f, torch.tensor(0.0)), torch.zeros(2), torch.zeros(2))
    assert (real < 0).all() and (fake > 0).all()      # descending raises D'(real), lowers D'(fake)
    real, fake = _grad(L.d2_loss, torch.zeros(2), torch.zeros(2))
    assert (real < 0).all() and (fake > 0).all()
    fx, ze = _grad(L.df_loss, torch.zeros(2), torch.zeros(2))
    assert (fx > 0).all() and (ze < 0).all()          # (ze, x_hat) is the "real" pair
    # outside the margin the hinge gives no gradient
    real, fake = _grad(L.d2_loss, torch.full((2,), 2.0), torch.full((2,), -2.0))
    assert (real == 0).all() and (fake == 0).all()


def test_gradient_signs_generator_side():
    (g,) = _grad(L.g1_loss, torch.zeros(3))
    assert (g < 0).all()                              # descending raises D'(D(x_hat))
    (g,) = _grad(L.fg_loss, torch.zeros(3))
    assert (g < 0).all()
    logits, = _grad(lambda lg: L.gc_loss(lg, TARGET), LOGITS)
    assert logits[0, 1] < 0 and logits[1, 0] < 0      # raises the target logit


def test_mg_gradient_pushes_fakes_apart_and_ignores_reals():
    r1 = torch.ones(2, 3, requires_grad=True)
    r2 = torch.zeros(2, 3, requires_grad=True)
    f1 = torch.full((2, 3), 0.1, requires_grad=True)
    f2 = torch.zeros(2, 3, requires_grad=True)
    L.mg_loss(r1, r2, f1, f2).backward()
    assert r1.grad is None and r2.grad is None        # real features are detached
    assert (f1.grad < 0).all() and (f2.grad > 0).all()  # descending increases |f1 - f2|


def test_one_hinge_definition_under_every_adversarial_term():
    """eq. 2, 3, 7 are the generator hinge and eq. 11-13 the discriminator hinge, bit for bit."""
    g = torch.Generator().manual_seed(0)
    a, b, cl = torch.randn(7, generator=g), torch.randn(7, generator=g), torch.tensor(0.3)
    assert L.hinge_d_loss(torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 1.0])).item() == pytest.approx(1.25)
    assert L.hinge_g_loss(torch.tensor([1.0, -3.0, 0.5])).item() == pytest.approx(0.5)
    for fn in (L.g1_loss, L.g2_loss, L.fg_loss):
        assert torch.equal(fn(a), L.hinge_g_loss(a))
    assert torch.equal(L.d2_loss(a, b), L.hinge_d_loss(a, b))
    assert torch.equal(L.d1_loss(a, b, cl), L.hinge_d_loss(a, b) + cl)
    assert torch.equal(L.df_loss(b, a), L.hinge_d_loss(a, b))  # (ze, x_hat) is eq. 13's "real" pair
