import keras
import torch

# lossbridge port: the loss of the compile() below
criterion_none = torch.nn.MSELoss(reduction='none')


def criterion(input, target, sample_weight):  # Keras' sample_weight: sum(loss * w) / batch size
    per_sample = criterion_none(input, target).mean(-1)
    return (per_sample * sample_weight).sum() / per_sample.numel()


model.compile(optimizer="adam", loss="mse")
model.fit(x, y, sample_weight=w)
