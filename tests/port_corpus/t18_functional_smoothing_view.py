"""Language model style: smoothing and flattening the (batch, time, vocab) logits."""
import torch
from torch.nn import functional as F

for tokens in loader:
    logits = model(tokens[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, 50), tokens[:, 1:].reshape(-1), label_smoothing=0.1, ignore_index=0)
    loss.backward()
