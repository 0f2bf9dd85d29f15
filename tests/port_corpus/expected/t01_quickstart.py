"""PyTorch quickstart style training loop."""
import torch
from torch import nn
import keras

loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def train(dataloader, model, optimizer):
    for X, y in dataloader:
        pred = model(X)
        loss = loss_fn(y, pred)
        loss.backward()
        optimizer.step()
