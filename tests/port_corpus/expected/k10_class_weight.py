# forum question: why does class_weight give a different loss in torch?
import keras
import torch

model = keras.Sequential([keras.layers.Dense(3)])
# lossbridge port: the loss of the compile() below
criterion_none = torch.nn.CrossEntropyLoss(reduction='none')
class_weight_table = torch.tensor([1.0, 5.0, 1.0])  # fit(class_weight=...)


def criterion(input, target):  # Keras' class_weight: sum(loss * class_weight[label]) / batch size
    per_sample = criterion_none(input, target)
    weight = class_weight_table.to(per_sample.device)[target]
    return (per_sample * weight).sum() / per_sample.numel()


model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x, y, class_weight={0: 1.0, 1: 5.0, 2: 1.0}, epochs=2)
