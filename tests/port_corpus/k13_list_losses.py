import keras

model.compile(optimizer="adam", loss=["binary_crossentropy", keras.losses.MeanSquaredError()], loss_weights=[1.0, 0.2])
