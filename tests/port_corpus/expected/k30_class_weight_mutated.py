# the dict is changed after it is built: port does not follow the mutation
import keras
import torch

weights = {0: 1.0, 1: 1.0}
weights[1] = positives_ratio
model = keras.Sequential([keras.layers.Dense(1)])
# lossbridge port: the loss of the compile() below
criterion = torch.nn.BCEWithLogitsLoss()
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(x, y, class_weight=weights)
