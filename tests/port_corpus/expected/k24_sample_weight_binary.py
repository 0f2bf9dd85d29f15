import keras
from keras import layers
import torch

model = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(1)])
# lossbridge port: the loss of the compile() below
criterion_none = torch.nn.BCEWithLogitsLoss(reduction='none')


def criterion(input, target, sample_weight):  # Keras' sample_weight: sum(loss * w) / batch size
    per_sample = criterion_none(input, target).mean(-1)
    return (per_sample * sample_weight).sum() / per_sample.numel()


model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy())
# per-example weights, e.g. from annotation confidence
model.fit(x, y, sample_weight=confidence, batch_size=32)
