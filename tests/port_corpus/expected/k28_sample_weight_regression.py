import keras
import torch

model = keras.Sequential([keras.layers.Dense(3)])
# lossbridge port: the loss of the compile() below
criterion_none = torch.nn.HuberLoss(reduction='none')


def criterion(input, target, sample_weight):  # Keras' sample_weight: sum(loss * w) / batch size
    per_sample = criterion_none(input, target).mean(-1)
    return (per_sample * sample_weight).sum() / per_sample.numel()


model.compile(optimizer="sgd", loss="huber")
model.fit(x, y, sample_weight=w, batch_size=10)
