"""Language model style: smoothing and flattening the (batch, time, vocab) logits."""
import torch
from torch.nn import functional as F
import lossbridge

for tokens in loader:
    logits = model(tokens[:, :-1])
    loss = lossbridge.to_keras_loss(lossbridge.torch.CrossEntropyLoss(ignore_index=0, label_smoothing=0.1))(tokens[:, 1:].reshape(-1), logits.reshape(-1, 50))
    loss.backward()
