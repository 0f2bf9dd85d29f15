import keras

model.compile(optimizer="adam", loss=keras.losses.MeanAbsoluteError())
