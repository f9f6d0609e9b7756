"""PyTorch mirror of examples/cifar10/resvgg.net.

    input image: 3x32x32 normalize(scale = 1/255, mean = [0.4914, 0.4822, 0.4465],
                                   std = [0.2470, 0.2435, 0.2616])
    block conv_bn(c: int) { conv(c, 3, bias = false) -> batchnorm -> relu }
    block res(c: int) { residual { conv_bn(c) -> conv_bn(c) } }
    output image
        -> conv_bn(32) as prep
        -> conv_bn(64) as layer1 -> maxpool(2) -> res(64) as res1
        -> conv_bn(128) as layer2 -> maxpool(2)
        -> conv_bn(256) as layer3 -> maxpool(2) -> res(256) as res3
        -> global_maxpool -> dense(10) as head

Module attribute names are chosen so that state_dict() keys (minus
num_batches_tracked) are exactly the netc weight names.  The model takes
uint8 pixel values (as any dtype) in NCHW and returns logits.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

SCALE = 0.00392156862745098
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]


class ConvBN(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=1, padding=1, bias=False)
        self.batchnorm1 = nn.BatchNorm2d(cout, eps=1e-5)

    def forward(self, x):
        return F.relu(self.batchnorm1(self.conv1(x)))


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv_bn1 = ConvBN(c, c)
        self.conv_bn2 = ConvBN(c, c)

    def forward(self, x):
        return x + self.conv_bn2(self.conv_bn1(x))  # no relu after the add


class ResVGG(nn.Module):
    def __init__(self, widths=(32, 64, 128, 256), num_classes=10):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.prep = ConvBN(3, w0)
        self.layer1 = ConvBN(w0, w1)
        self.res1 = Res(w1)
        self.layer2 = ConvBN(w1, w2)
        self.layer3 = ConvBN(w2, w3)
        self.res3 = Res(w3)
        self.head = nn.Linear(w3, num_classes, bias=True)
        # preprocessing constants: not part of the state dict
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def normalize(self, x):
        return (x.float() * SCALE - self.mean) / self.std

    def features(self, x):
        """x: already-normalized float input."""
        return self.trunk(self.prep(x))

    def trunk(self, x):
        """Everything between prep and the head (split out so training can
        run prep in float32 and the rest under bf16 autocast)."""
        x = self.layer1(x)
        x = F.max_pool2d(x, 2, 2)
        x = self.res1(x)
        x = self.layer2(x)
        x = F.max_pool2d(x, 2, 2)
        x = self.layer3(x)
        x = F.max_pool2d(x, 2, 2)
        x = self.res3(x)
        x = F.adaptive_max_pool2d(x, 1)
        return torch.flatten(x, 1)

    def forward(self, x):
        return self.head(self.features(self.normalize(x)))


def export_state_dict(model):
    """float32, contiguous, exactly the netc weight names."""
    sd = {}
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        sd[k] = v.detach().to(torch.float32).contiguous().clone()
    return sd


def expected_keys():
    bn = ("weight", "bias", "running_mean", "running_var")
    keys = []
    for p in ("prep", "layer1", "res1.conv_bn1", "res1.conv_bn2",
              "layer2", "layer3", "res3.conv_bn1", "res3.conv_bn2"):
        keys.append(f"{p}.conv1.weight")
        keys += [f"{p}.batchnorm1.{s}" for s in bn]
    keys += ["head.weight", "head.bias"]
    return keys


def load_safetensors(path):
    """Fresh model with weights from a safetensors file (strict key check)."""
    from safetensors.torch import load_file
    sd = load_file(path)
    widths = tuple(sd[f"{p}.conv1.weight"].shape[0]
                   for p in ("prep", "layer1", "layer2", "layer3"))
    missing = set(expected_keys()) - set(sd)
    extra = set(sd) - set(expected_keys())
    if missing or extra:
        raise KeyError(f"key mismatch: missing={sorted(missing)} extra={sorted(extra)}")
    model = ResVGG(widths)
    res = model.load_state_dict(sd, strict=False)
    # the only keys torch is allowed to miss are the BN step counters
    assert not res.unexpected_keys, res.unexpected_keys
    assert all(k.endswith("num_batches_tracked") for k in res.missing_keys), res.missing_keys
    return model.eval()
