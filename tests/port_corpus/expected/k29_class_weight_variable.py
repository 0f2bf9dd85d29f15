"""Tutorial style: the class weights are a dict literal bound to a name, then passed to fit."""
import keras
import torch

NUM_CLASSES = 3
class_weight = {0: 1.0, 1: 2.5, 2: 0.75}

model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(3)])
# lossbridge port: the loss of the compile() below
criterion_none = torch.nn.CrossEntropyLoss(reduction='none')
class_weight_table = torch.tensor([1.0, 2.5, 0.75])  # fit(class_weight=...)


def criterion(input, target):  # Keras' class_weight: sum(loss * class_weight[label]) / batch size
    per_sample = criterion_none(input, target)
    weight = class_weight_table.to(per_sample.device)[target]
    return (per_sample * weight).sum() / per_sample.numel()


model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
history = model.fit(x, y, batch_size=4, class_weight=class_weight, epochs=10)
