import keras

model.compile(optimizer="adam", loss=["mse", "mae"], loss_weights=schedule.weights())
