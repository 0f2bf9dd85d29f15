import keras

model.compile(optimizer="adam", loss=keras.losses.Huber(delta=2.0))  # robust regression
