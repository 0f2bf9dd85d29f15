import keras
import torch

model = keras.Sequential([keras.layers.Dense(1)])
# lossbridge port: the loss of the compile() below
criterion = torch.nn.MSELoss()
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
model.fit(x, y, epochs=10)
