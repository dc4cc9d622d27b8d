"""BicycleGAN's three networks in PyTorch, as ganwatch's trainer builds them (trainer/models/networks.ts, after the
official junyanz/BicycleGAN networks.py): the U-Net generator with z concatenated into every down-conv (G_Unet_add_all,
or into the input only), the ResNet encoder with global average pooling (so it works at any size from 32 px), and
the two-scale PatchGAN discriminator (D_NLayersMulti, num_D = 2). Instance norm without affine parameters,
xavier-normal init with gain 0.02, zero biases. NCHW throughout."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

INIT_GAIN = 0.02


def instance_norm(channels: int) -> nn.Module:
    # affine=False, no running statistics: per sample and channel over H×W, biased variance, eps 1e-5.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def init_weights(net: nn.Module) -> None:
    """xavier_normal_(gain 0.02) on every conv, transposed conv and linear weight; biases 0 (as init_weights)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_normal_(m.weight, gain=INIT_GAIN)
            nn.init.zeros_(m.bias)


# ---------------------------------------------------------------- generator


def unet_depth(size: int) -> int:
    depth = math.log2(size)
    if not depth.is_integer() or not 5 <= depth <= 8:
        raise ValueError(f"size must be a power of two from 32 to 256, got {size}")
    return int(depth)


def unet_width(ngf: int, i: int) -> int:
    """Channels of U-Net level i (0 = outermost): ngf·{1, 2, 4, 8, 8, ...}."""
    return ngf * min(2**i, 8)


class UnetBlock(nn.Module):
    """Level i of the U-Net around ``child`` (level i + 1; None at the innermost level).
    down: [LeakyReLU 0.2] → Conv4×4 s2 p1 → [IN]; up: ReLU → ConvTranspose4×4 s2 p1 → IN | Tanh
    [→ Dropout 0.5].
    The outermost down has no activation nor norm, the innermost down no norm. Every block but the outermost returns
    its up output concatenated with its own input (the skip, without z)."""

    def __init__(
        self, i: int, child: UnetBlock | None, input_nc: int, output_nc: int, ngf: int, z_nc: int, dropout: bool
    ):
        super().__init__()
        self.outermost, self.innermost = i == 0, child is None
        self.z_nc = z_nc
        in_ch = (input_nc if self.outermost else unet_width(ngf, i - 1)) + z_nc
        inner_ch = unet_width(ngf, i)
        outer_ch = output_nc if self.outermost else unet_width(ngf, i - 1)
        self.down = nn.Conv2d(in_ch, inner_ch, 4, 2, 1)
        self.down_norm = instance_norm(inner_ch) if not (self.outermost or self.innermost) else None
        self.child = child
        self.up = nn.ConvTranspose2d(inner_ch if self.innermost else inner_ch * 2, outer_ch, 4, 2, 1)
        self.up_norm = instance_norm(outer_ch) if not self.outermost else None
        # Dropout after the ngf×8 → ngf×8 up-convs between the innermost level and the ngf×4 one (networks.py).
        self.dropout = nn.Dropout(0.5) if dropout and not self.innermost and i > 0 and outer_ch == ngf * 8 else None

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        xz = x
        if self.z_nc > 0:
            xz = torch.cat([x, z.view(z.size(0), z.size(1), 1, 1).expand(-1, -1, x.size(2), x.size(3))], 1)
        d = self.down(xz if self.outermost else F.leaky_relu(xz, 0.2))
        if self.down_norm is not None:
            d = self.down_norm(d)
        u = self.up(F.relu(d if self.child is None else self.child(d, z)))
        if self.outermost:
            return torch.tanh(u)
        u = self.up_norm(u)
        if self.dropout is not None:
            u = self.dropout(u)
        return torch.cat([u, x], 1)


class Generator(nn.Module):
    """U-Net of depth log2(size); z (nz values) tiled and concatenated into every down-conv ('all') or the input."""

    def __init__(self, size: int, input_nc: int, output_nc: int, nz: int, ngf: int, where_add: str, use_dropout: bool):
        super().__init__()
        if where_add not in ("all", "input"):
            raise ValueError(f"where_add must be 'all' or 'input', got {where_add!r}")
        block = None
        for i in reversed(range(unet_depth(size))):  # innermost first: each level wraps the finished one below
            z_nc = nz if nz > 0 and (where_add == "all" or i == 0) else 0
            block = UnetBlock(i, block, input_nc, output_nc, ngf, z_nc, use_dropout)
        self.unet = block

    def forward(self, a: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.unet(a, z)


# ---------------------------------------------------------------- encoder


def encoder_blocks(size: int) -> int:
    """n_blocks of E_ResNet scaled with size: 5 at 256 px and 4 at 128 (the reference's), 3 at 64, 2 at 32."""
    return max(2, min(5, int(math.floor(math.log2(size))) - 3))


class BasicBlock(nn.Module):
    """IN, LeakyReLU, conv3×3 in→in, IN, LeakyReLU, conv3×3 in→out, AvgPool2; shortcut AvgPool2 → conv1×1."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.body = nn.Sequential(
            instance_norm(in_ch),
            nn.LeakyReLU(0.2),
            nn.Conv2d(in_ch, in_ch, 3, 1, 1),
            instance_norm(in_ch),
            nn.LeakyReLU(0.2),
            nn.Conv2d(in_ch, out_ch, 3, 1, 1),
            nn.AvgPool2d(2),
        )
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(in_ch, out_ch, 1, 1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class Encoder(nn.Module):
    """E_ResNet: Conv4×4 s2 p1 (input_nc → nef), n_blocks − 1 BasicBlocks of widths nef·{1, 2, 3, 4, 4},
    LeakyReLU, GLOBAL average pooling (the reference's fixed AvgPool(8) fits only 256 and 128 px) and two linear
    heads, μ and log σ²."""

    def __init__(self, size: int, input_nc: int, nz: int, nef: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(input_nc, nef, 4, 2, 1)]
        out_ch = nef
        for n in range(1, encoder_blocks(size)):
            in_ch, out_ch = nef * min(4, n), nef * min(4, n + 1)
            layers.append(BasicBlock(in_ch, out_ch))
        layers.append(nn.LeakyReLU(0.2))
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Linear(out_ch, nz)
        self.fc_var = nn.Linear(out_ch, nz)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.conv(x).mean(dim=(2, 3))
        return self.fc(pooled), self.fc_var(pooled)


# ---------------------------------------------------------------- discriminator


def patch_layers(side: int) -> int:
    """n_layers of a PatchGAN scale seeing side×side images: 3 (reference) unless its map would shrink below 2×2."""
    return max(1, min(3, int(math.floor(math.log2(side))) - 2))


def _patch_gan(input_nc: int, ndf: int, n_layers: int) -> nn.Sequential:
    """Conv4 s2 → LReLU; (n_layers − 1)× Conv4 s2 → IN → LReLU; Conv4 s1 → IN → LReLU; Conv4 s1 → 1 (logits)"""
    layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
    mult = 1
    for n in range(1, n_layers):
        prev, mult = mult, min(2**n, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1), instance_norm(ndf * mult), nn.LeakyReLU(0.2)]
    prev, mult = mult, min(2**n_layers, 8)
    layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1), instance_norm(ndf * mult), nn.LeakyReLU(0.2)]
    layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
    return nn.Sequential(*layers)


class Discriminator(nn.Module):
    """D_NLayersMulti with num_D = 2: one PatchGAN at full resolution with ndf filters, one with round(ndf/2) on
    AvgPool(3, s2, p1, count_include_pad=False) of the input. Returns the raw logit map of each scale."""

    def __init__(self, size: int, input_nc: int, ndf: int):
        super().__init__()
        if ndf < 2:
            raise ValueError(f"ndf must be at least 2 (the half-scale discriminator uses ndf/2), got {ndf}")
        self.scales = nn.ModuleList(
            _patch_gan(input_nc, math.floor(ndf / 2**s + 0.5), patch_layers(math.ceil(size / 2**s))) for s in range(2)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        for s, net in enumerate(self.scales):
            if s > 0:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            maps.append(net(x))
        return maps


def count_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
