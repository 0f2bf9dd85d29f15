"""Imbalanced classes, one-hot targets: Keras' class_weight follows the argmax of the target."""
import keras
from keras.utils import to_categorical
import torch

model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(4),  # 4 classes
])
# lossbridge port: the loss of the compile() below
criterion_none = torch.nn.CrossEntropyLoss(reduction='none')
class_weight_table = torch.tensor([0.5, 2.0, 1.0, 4.0])  # fit(class_weight=...)


def criterion(input, target):  # Keras' class_weight: sum(loss * class_weight[label]) / batch size
    per_sample = criterion_none(input, target)
    weight = class_weight_table.to(per_sample.device)[target.argmax(-1)]
    return (per_sample * weight).sum() / per_sample.numel()


model.compile(optimizer="adam", loss="categorical_crossentropy")
y_onehot = to_categorical(y, 4)
model.fit(x, y_onehot, batch_size=16, class_weight={0: 0.5, 1: 2.0, 3: 4.0}, epochs=3)
