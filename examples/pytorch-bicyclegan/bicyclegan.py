"""BicycleGAN (cVAE-GAN + cLR-GAN) in PyTorch with ganwatch's training step (trainer/models/bicyclegan.ts): the four
networks, their Adam optimizers, the loss weights the controls change, and one step in the seed's order: D and D2
first on detached fakes, then G and E with the just-updated discriminators. The batch splits in halves: A1/B1 feed the
cVAE-GAN branch (z from E(B1)), B2 is D2's real image, and the cLR-GAN fake is made from A1 (as the reference does).

The step returns ganwatch's metric names, losses UNWEIGHTED unless named a total:
  D_real_acc, D_fake_acc     D's patches (both scales pooled) judging B1 real / the cVAE-GAN fake fake (before D's
                             update)
  D2_real_acc, D2_fake_acc   the same for D2 on B2 / the cLR-GAN fake
  Cyc_error = loss/L1        mean |G(A1, z_enc) − B1|, the cVAE-GAN image reconstruction
  Latent_mse                 mean (μ(E(G(A1, z))) − z)², the cLR-GAN latent regression as MSE
  loss/D, loss/D2            Σ_scales [GAN(D(real), 1) + GAN(D(fake), 0)] (the update uses λ_adv × this)
  loss/G_GAN, loss/G_GAN2    Σ_scales GAN(D(fake_enc), 1), GAN(D2(fake_rand), 1), with the updated D and D2
  loss/z_L1                  mean |μ(E(fake_rand)) − z| (updates G only: its gradient flows through E, never into it)
  loss/KL                    −0.5 Σ_{batch, nz} (1 + log σ² − μ² − σ²), a sum as in the reference
  loss/G_total               λ_adv (G_GAN + G_GAN2) + λ_cyc L1 + λ_kl KL + λ_latent z_L1
  grad_norm/G|E|D|D2         global L2 norm of each network's gradient before clipping (G's includes the z_L1 part)
  lr/G|E|D, lambda/*, clip/max_norm: the values this step used"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from networks import Discriminator, Encoder, Generator, count_params, init_weights

NETS = ("G", "E", "D", "D2")


@dataclass
class Options:
    """The model's settings; the defaults are the seed's (ganwatch's) at the reference's widths."""

    size: int = 256
    input_nc: int = 3
    output_nc: int = 3
    nz: int = 8
    ngf: int = 64
    nef: int = 64
    ndf: int = 64
    where_add: str = "all"
    gan_mode: str = "vanilla"
    use_dropout: bool = True
    lambda_adv: float = 1.0
    lambda_cyc: float = 10.0
    lambda_latent: float = 0.5
    lambda_kl: float = 0.01
    lr_g: float = 2e-4
    lr_e: float = 2e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    epsilon: float = 1e-8


def gan_loss(logits: torch.Tensor, target: int, mode: str) -> torch.Tensor:
    if mode == "lsgan":
        return torch.mean((logits - 1) ** 2 if target == 1 else logits**2)
    # Log loss on sigmoid outputs: −log σ(x) = softplus(−x), −log(1 − σ(x)) = softplus(x).
    return torch.mean(F.softplus(-logits if target == 1 else logits))


def patch_accuracy(maps: list[torch.Tensor], real: bool, mode: str) -> torch.Tensor:
    """Fraction of patches, all scales pooled, judged real (``real``) or fake: σ(x) > 0.5 ⇔ x > 0 (LSGAN: x > 0.5)"""
    flat = torch.cat([m.reshape(-1) for m in maps])
    threshold = 0.5 if mode == "lsgan" else 0.0
    return ((flat > threshold) if real else (flat < threshold)).float().mean()


def grad_norm(params: list[torch.nn.Parameter]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    return torch.sqrt(sum(torch.sum(g * g) for g in grads)) if grads else torch.zeros(())


def clip_(params: list[torch.nn.Parameter], norm: torch.Tensor, max_norm: float) -> None:
    """torch.nn.utils.clip_grad_norm_'s rule on a norm already computed: scale by max/(norm + 1e-6) when below 1."""
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    for p in params:
        if p.grad is not None:
            p.grad.mul_(scale)


class BicycleGAN:
    def __init__(self, opts: Options, device: torch.device):
        if opts.gan_mode not in ("vanilla", "lsgan"):
            raise ValueError(f"gan_mode must be 'vanilla' or 'lsgan', got {opts.gan_mode!r}")
        self.opts = opts
        self.device = device
        o = opts
        self.G = Generator(o.size, o.input_nc, o.output_nc, o.nz, o.ngf, o.where_add, o.use_dropout)
        self.E = Encoder(opts.size, opts.output_nc, opts.nz, opts.nef)
        self.D = Discriminator(opts.size, opts.output_nc, opts.ndf)
        self.D2 = Discriminator(opts.size, opts.output_nc, opts.ndf)
        for net in self.nets().values():
            init_weights(net)
            net.to(device)

        def adam(net: torch.nn.Module, lr: float) -> torch.optim.Adam:
            return torch.optim.Adam(net.parameters(), lr=lr, betas=(opts.beta1, opts.beta2), eps=opts.epsilon)

        self.optimizers = {
            "G": adam(self.G, opts.lr_g),
            "E": adam(self.E, opts.lr_e),
            "D": adam(self.D, opts.lr_d),
            "D2": adam(self.D2, opts.lr_d),
        }
        # The loss weights in force; ganwatch's set_lambda / scale_lambda controls change this dict between steps.
        self.lambdas = {
            "adv": opts.lambda_adv,
            "cyc": opts.lambda_cyc,
            "latent": opts.lambda_latent,
            "kl": opts.lambda_kl,
        }

    def nets(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G, "E": self.E, "D": self.D, "D2": self.D2}

    def lr(self, net: str) -> float:
        return float(self.optimizers[net].param_groups[0]["lr"])

    def param_counts(self) -> dict[str, int]:
        return {name: count_params(net) for name, net in self.nets().items()}

    # ------------------------------------------------------------ training step

    def train_step(self, a: torch.Tensor, b: torch.Tensor, max_norm: float = 0.0) -> dict[str, float]:
        """One step on a batch (A and B as N×C×H×W in [-1, 1], N even). ``max_norm`` > 0 clips each update's global
        gradient norm (G and E together; D and D2 each), as clip_grad_norm_ does."""
        n = a.size(0)
        if n < 2 or n % 2:
            raise ValueError(f"batch size must be even and at least 2, got {n}")
        o, lam, h = self.opts, dict(self.lambdas), n // 2
        a1, b1, b2 = a[:h], b[:h], b[h:]
        for net in (self.G, self.E, self.D, self.D2):
            net.train()

        # Both fakes in one G pass (instance norm is per sample, so this is exact); the graph is kept for G's update.
        mu, logvar = self.E(b1)
        z_enc = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        z_rand = torch.randn(h, o.nz, device=self.device)
        fake_enc, fake_rand = self.G(torch.cat([a1, a1]), torch.cat([z_enc, z_rand])).split(h)

        # ---- 1. D and D2: real vs detached fakes of the current G.
        d = self._discriminator_step("D", b1, fake_enc.detach(), lam["adv"], max_norm)
        d2 = self._discriminator_step("D2", b2, fake_rand.detach(), lam["adv"], max_norm)

        # ---- 2. G and E against the updated D and D2.
        gan_g = sum(gan_loss(m, 1, o.gan_mode) for m in self.D(fake_enc))
        gan_g2 = sum(gan_loss(m, 1, o.gan_mode) for m in self.D2(fake_rand))
        l1 = torch.mean(torch.abs(fake_enc - b1))
        kl = -0.5 * torch.sum(1 + logvar - mu**2 - torch.exp(logvar))
        mu2, _ = self.E(fake_rand)
        z_l1 = torch.mean(torch.abs(mu2 - z_rand))
        latent_mse = torch.mean((mu2 - z_rand) ** 2)
        eg_loss = lam["adv"] * (gan_g + gan_g2) + lam["cyc"] * l1 + lam["kl"] * kl
        z_loss = lam["latent"] * z_l1
        g_params, e_params = list(self.G.parameters()), list(self.E.parameters())
        self.optimizers["G"].zero_grad(set_to_none=True)
        self.optimizers["E"].zero_grad(set_to_none=True)
        eg_loss.backward(inputs=g_params + e_params, retain_graph=True)
        # The latent regression updates G only: its gradient reaches G through E, and E's weights get none of it.
        z_loss.backward(inputs=g_params)
        g_norm, e_norm = grad_norm(g_params), grad_norm(e_params)
        if max_norm > 0:
            clip_(g_params + e_params, torch.sqrt(g_norm**2 + e_norm**2), max_norm)
        self.optimizers["E"].step()
        self.optimizers["G"].step()

        values = torch.stack(
            [d["real_acc"], d["fake_acc"], d2["real_acc"], d2["fake_acc"], l1, latent_mse, d["loss"], d2["loss"]]
            + [gan_g, gan_g2, l1, z_l1, kl, eg_loss + z_loss, g_norm, e_norm, d["norm"], d2["norm"]]
        ).tolist()  # one device sync per step
        names = (
            "D_real_acc D_fake_acc D2_real_acc D2_fake_acc Cyc_error Latent_mse loss/D loss/D2 loss/G_GAN loss/G_GAN2 "
            "loss/L1 loss/z_L1 loss/KL loss/G_total grad_norm/G grad_norm/E grad_norm/D grad_norm/D2"
        ).split()
        metrics = dict(zip(names, values))
        metrics.update({"lr/G": self.lr("G"), "lr/E": self.lr("E"), "lr/D": self.lr("D")})
        metrics.update({f"lambda/{k}": float(v) for k, v in lam.items()})
        metrics["clip/max_norm"] = float(max_norm)
        return metrics

    def _discriminator_step(
        self, name: str, real: torch.Tensor, fake: torch.Tensor, lambda_adv: float, max_norm: float
    ) -> dict[str, torch.Tensor]:
        """One Adam update of D or D2 on λ_adv·Σ_scales [GAN(real, 1) + GAN(fake, 0)]; real and fake in one pass."""
        net, mode, h = self.nets()[name], self.opts.gan_mode, real.size(0)
        maps = net(torch.cat([real, fake]))
        real_maps, fake_maps = [m[:h] for m in maps], [m[h:] for m in maps]
        loss = sum(gan_loss(m, 1, mode) for m in real_maps) + sum(gan_loss(m, 0, mode) for m in fake_maps)
        params = list(net.parameters())
        self.optimizers[name].zero_grad(set_to_none=True)
        (lambda_adv * loss).backward()
        norm = grad_norm(params)
        if max_norm > 0:
            clip_(params, norm, max_norm)
        self.optimizers[name].step()
        return {
            "loss": loss.detach(),
            "real_acc": patch_accuracy(real_maps, True, mode),
            "fake_acc": patch_accuracy(fake_maps, False, mode),
            "norm": norm,
        }

    # ------------------------------------------------------------ inference

    @torch.no_grad()
    def encode(self, b: torch.Tensor) -> torch.Tensor:
        """μ of E(b): the code pushed for the latent plots, and the z of the 'encoded' validation outputs."""
        self.E.eval()
        return self.E(b)[0]

    @torch.no_grad()
    def generate(self, a: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """G(a, z) in eval mode (no dropout), as the reference's test.py."""
        self.G.eval()
        return self.G(a, z)

    # ------------------------------------------------------------ checkpoints

    def state(self) -> dict:
        return {
            "options": asdict(self.opts),
            "nets": {name: net.state_dict() for name, net in self.nets().items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "lambdas": dict(self.lambdas),
        }

    def load_state(self, state: dict) -> None:
        for key in ("size", "input_nc", "output_nc", "nz", "ngf", "nef", "ndf", "where_add", "use_dropout"):
            if state["options"][key] != getattr(self.opts, key):
                made, now = state["options"][key], getattr(self.opts, key)
                raise ValueError(f"it was made with {key}={made}, this model has {key}={now}")
        for name, net in self.nets().items():
            net.load_state_dict(state["nets"][name])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        self.lambdas.update(state["lambdas"])
