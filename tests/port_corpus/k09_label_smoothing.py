import keras

model = keras.Sequential([keras.layers.Dense(5)])
model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
