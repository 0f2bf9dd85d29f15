import torch
import torch.nn.functional as F

for x, y, target, mask in loader:
    out = model(x)
    cls = F.nll_loss(F.log_softmax(out, dim=1), y)
    reg = torch.nn.functional.mse_loss(out, target, reduction="sum")
    # forum question: why does my multi-label model not learn?
    tags = F.binary_cross_entropy_with_logits(torch.sigmoid(out), mask)
    (cls + reg + tags).backward()
