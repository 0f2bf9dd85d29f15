import keras

model.compile(optimizer="adam", loss=keras.losses.mean_squared_error)
