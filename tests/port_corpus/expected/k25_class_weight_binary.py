"""Fraud detection style: a rare positive class gets a larger weight."""
import keras
import torch

model = keras.Sequential([keras.layers.Dense(1)])  # logits
# lossbridge port: the loss of the compile() below
criterion_none = torch.nn.BCEWithLogitsLoss(reduction='none')
class_weight_table = torch.tensor([1.0, 10.0])  # fit(class_weight=...)


def criterion(input, target):  # Keras' class_weight: sum(loss * class_weight[label]) / batch size
    per_sample = criterion_none(input, target).mean(-1)
    weight = class_weight_table.to(per_sample.device)[target.round().long().squeeze(-1)]
    return (per_sample * weight).sum() / per_sample.numel()


model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
model.fit(x, y, class_weight={0: 1.0, 1: 10.0}, batch_size=128)
