"""PyTorch quickstart style training loop."""
import torch
from torch import nn

loss_fn = nn.CrossEntropyLoss()


def train(dataloader, model, optimizer):
    for X, y in dataloader:
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
