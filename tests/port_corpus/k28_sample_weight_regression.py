import keras

model = keras.Sequential([keras.layers.Dense(3)])
model.compile(optimizer="sgd", loss="huber")
model.fit(x, y, sample_weight=w, batch_size=10)
