import keras

model.compile(optimizer="adam", loss="mse")
model.fit(x, y, sample_weight=w)
